// The finder page: calls the public search API from the browser and shows what it answers.
// Plain JavaScript with no build step and no dependencies, so that a front-end developer can read
// it as an example of using the API. Everything is built with DOM calls and textContent (never
// innerHTML), because clinic and provider names are data, and the page's CSP allows no inline code.
"use strict";

const TREATMENTS_URL = "/v1/treatments";
const SEARCH_URL = "/v1/search/locations";
const SVG_NS = "http://www.w3.org/2000/svg";
/// Kilometres per degree of latitude, and of longitude at the equator (WGS84, near enough for a
/// plot: the distances printed are the API's exact geodesic ones).
const KM_PER_DEGREE_LAT = 110.574;
const KM_PER_DEGREE_LON = 111.32;
/// Results a page asks for; "More results" fetches the next page with the answer's `next_cursor`.
const PAGE_SIZE = 10;

const form = document.getElementById("search-form");
const whereInput = document.getElementById("where");
const treatmentSelect = document.getElementById("treatment");
const radiusInput = document.getElementById("radius");
const unitSelect = document.getElementById("unit");
const languageSelect = document.getElementById("language");
const openNowBox = document.getElementById("open-now");
const acceptingBox = document.getElementById("accepting");
const boardCertifiedBox = document.getElementById("board-certified");
const onLabelBox = document.getElementById("on-label");
const searchButton = document.getElementById("search");
const moreButton = document.getElementById("more");
const useLocationButton = document.getElementById("use-location");
const locationStatus = document.getElementById("location-status");
const choicesBox = document.getElementById("choices");
const problemBox = document.getElementById("problem");
const summary = document.getElementById("summary");
const output = document.getElementById("output");
const plot = document.getElementById("plot");
const resultsList = document.getElementById("results");

/// The browser's position once the user asked for it: `{ lat, lon }`.
let browserPosition = null;
/// The treatments of `GET /v1/treatments`, with their label status.
let treatments = [];
/// Each search gets a number; an answer to an older search that arrives late is dropped.
let latestSearch = 0;
/// What is shown: the answer's meta, every result so far, the cursor of the next page, the unit.
let shown = null;

/// `tag` with its text, optionally a class name.
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    node.setAttribute(name, String(value));
  }
  return node;
}

function formatNumber(value, digits) {
  return Number(value).toFixed(digits);
}

/// The distance in the unit the user chose, then in the other one.
function formatDistance(result, unit) {
  const km = `${formatNumber(result.distance_km, 1)} km`;
  const mi = `${formatNumber(result.distance_mi, 1)} mi`;
  return unit === "mi" ? `${mi} (${km})` : `${km} (${mi})`;
}

/// Shows an RFC 9457 problem (or a network failure) where a screen reader announces it.
function showProblem(problem) {
  problemBox.replaceChildren();
  problemBox.append(element("strong", problem.title || "Something went wrong"));
  if (problem.detail) problemBox.append(element("p", problem.detail));
  if (Array.isArray(problem.errors) && problem.errors.length > 0) {
    const list = element("ul");
    for (const fieldError of problem.errors) {
      const field = (fieldError.pointer || "").replace(/^\//, "") || fieldError.in;
      list.append(element("li", `${field}: ${fieldError.detail}`));
    }
    problemBox.append(list);
  }
  if (problem.request_id) {
    problemBox.append(element("p", `Request id ${problem.request_id}`, "hint"));
  }
  problemBox.hidden = false;
  markInvalidFields(problem.errors || []);
  showChoices(problem.candidates || []);
}

function clearProblem() {
  problemBox.hidden = true;
  problemBox.replaceChildren();
  markInvalidFields([]);
  showChoices([]);
}

/// Flags the inputs the API named as invalid, so assistive technology says which field is wrong.
function markInvalidFields(errors) {
  const inputs = {
    "/postal_code": whereInput,
    "/place": whereInput,
    "/lat": whereInput,
    "/treatment": treatmentSelect,
    "/radius": radiusInput,
    "/unit": unitSelect,
    "/language": languageSelect,
  };
  const named = new Set(errors.map((fieldError) => fieldError.pointer));
  for (const input of new Set(Object.values(inputs))) {
    const invalid = Object.entries(inputs).some(([pointer, at]) => at === input && named.has(pointer));
    if (invalid) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
}

/// The places an ambiguous name may mean (the API's `candidates`): one button each, which searches
/// from that place.
function showChoices(candidates) {
  const list = choicesBox.querySelector("ul");
  list.replaceChildren(
    ...candidates.map((candidate) => {
      const item = element("li");
      const button = element("button", candidate.place, "choice");
      button.type = "button";
      button.addEventListener("click", () => {
        whereInput.value = candidate.place;
        search();
      });
      item.append(button);
      return item;
    }),
  );
  choicesBox.hidden = candidates.length === 0;
  if (candidates.length > 0) list.querySelector("button").focus();
}

/// GETs `url` as JSON; a failure becomes an Error carrying the problem details to show.
async function getJson(url) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (networkError) {
    throw Object.assign(new Error("network"), {
      problem: { title: "The API could not be reached", detail: String(networkError.message) },
    });
  }
  const contentType = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let problem = { title: `HTTP ${response.status}`, detail: response.statusText };
    if (contentType.startsWith("application/problem+json")) {
      problem = await response.json();
    }
    throw Object.assign(new Error(problem.title), { problem });
  }
  return response.json();
}

async function loadTreatments() {
  try {
    treatments = await getJson(TREATMENTS_URL);
    for (const treatment of treatments) {
      const option = element("option", treatment.name);
      option.value = treatment.code;
      option.title = treatment.description;
      option.dataset.labelStatus = treatment.label_status;
      treatmentSelect.append(option);
    }
  } catch (error) {
    showProblem(error.problem || { title: "The treatments could not be loaded" });
  }
}

/// "On-label only" leaves the on-label treatments in the list; without a chosen treatment the
/// search asks for any of them.
function applyOnLabel() {
  for (const option of treatmentSelect.options) {
    const offLabel = option.value !== "" && option.dataset.labelStatus !== "on_label";
    option.hidden = onLabelBox.checked && offLabel;
    option.disabled = onLabelBox.checked && offLabel;
  }
  const chosen = treatmentSelect.selectedOptions[0];
  if (chosen && chosen.disabled) treatmentSelect.value = "";
}

function useBrowserLocation() {
  if (!("geolocation" in navigator)) {
    locationStatus.textContent = "This browser cannot share its location; type a ZIP code or a city.";
    return;
  }
  locationStatus.textContent = "Asking the browser for your location…";
  navigator.geolocation.getCurrentPosition(
    (position) => {
      browserPosition = { lat: position.coords.latitude, lon: position.coords.longitude };
      // The typed place would win over the position; the user just asked for the position.
      whereInput.value = "";
      locationStatus.textContent =
        `Using your location (${formatNumber(browserPosition.lat, 4)}, ` +
        `${formatNumber(browserPosition.lon, 4)}).`;
      search();
    },
    (error) => {
      browserPosition = null;
      locationStatus.textContent =
        `Your location is not available (${error.message}); type a ZIP code or a city.`;
    },
    { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 },
  );
}

/// The search as the page's own URL holds it: the API's parameter names, and `on_label`.
function pageQuery() {
  const query = new URLSearchParams();
  const where = whereInput.value.trim();
  if (/^[0-9]+$/.test(where)) {
    query.set("postal_code", where);
  } else if (where !== "") {
    query.set("place", where);
  } else if (browserPosition) {
    query.set("lat", formatNumber(browserPosition.lat, 6));
    query.set("lon", formatNumber(browserPosition.lon, 6));
  }
  if (treatmentSelect.value !== "") query.set("treatment", treatmentSelect.value);
  query.set("radius", radiusInput.value.trim());
  query.set("unit", unitSelect.value);
  if (languageSelect.value !== "") query.set("language", languageSelect.value);
  if (openNowBox.checked) query.set("open_now", "true");
  if (acceptingBox.checked) query.set("accepting_new_patients", "true");
  if (boardCertifiedBox.checked) query.set("board_certified", "true");
  if (onLabelBox.checked) query.set("on_label", "true");
  return query;
}

/// The API's query for the page's: on-label only without a treatment asks for every on-label one.
/// Validation is the API's: whatever it refuses, the page shows.
function apiQuery(page) {
  const query = new URLSearchParams(page);
  query.delete("on_label");
  if (page.get("on_label") === "true" && !page.has("treatment")) {
    const onLabel = treatments.filter((t) => t.label_status === "on_label").map((t) => t.code);
    if (onLabel.length > 0) query.set("treatment", onLabel.join(","));
  }
  query.set("limit", String(PAGE_SIZE));
  return query;
}

/// Fills the form from a page URL's query (a shared link, a reload, the back button).
function restore(query) {
  browserPosition = null;
  locationStatus.textContent = "";
  whereInput.value = query.get("postal_code") || query.get("place") || "";
  if (!whereInput.value && query.has("lat") && query.has("lon")) {
    browserPosition = { lat: Number(query.get("lat")), lon: Number(query.get("lon")) };
    locationStatus.textContent =
      `Searching from ${formatNumber(browserPosition.lat, 4)}, ${formatNumber(browserPosition.lon, 4)}.`;
  }
  onLabelBox.checked = query.get("on_label") === "true";
  applyOnLabel();
  treatmentSelect.value = query.get("treatment") || "";
  radiusInput.value = query.get("radius") || "25";
  unitSelect.value = query.get("unit") === "mi" ? "mi" : "km";
  languageSelect.value = query.get("language") || "";
  openNowBox.checked = query.get("open_now") === "true";
  acceptingBox.checked = query.get("accepting_new_patients") === "true";
  boardCertifiedBox.checked = query.get("board_certified") === "true";
}

/// Searches with the form's values, and records the search in the address bar (a new history
/// entry unless `replace`), so that it can be shared, reloaded and gone back to.
async function search({ record = "push" } = {}) {
  const searchNumber = ++latestSearch;
  const page = pageQuery();
  const unit = unitSelect.value;
  const url = `${window.location.pathname}?${page}`;
  if (record === "push" && url !== `${window.location.pathname}${window.location.search}`) {
    history.pushState(null, "", url);
  } else if (record === "replace") {
    history.replaceState(null, "", url);
  }
  clearProblem();
  searchButton.disabled = true;
  moreButton.hidden = true;
  output.setAttribute("aria-busy", "true");
  summary.textContent = "Searching…";
  try {
    const answer = await getJson(`${SEARCH_URL}?${apiQuery(page)}`);
    if (searchNumber !== latestSearch) return;
    shown = { meta: answer.meta, results: answer.results, nextCursor: answer.next_cursor, unit, page };
    render();
  } catch (error) {
    if (searchNumber !== latestSearch) return;
    shown = null;
    output.hidden = true;
    summary.textContent = "";
    showProblem(error.problem || { title: "Something went wrong", detail: String(error) });
  } finally {
    if (searchNumber === latestSearch) {
      searchButton.disabled = false;
      output.removeAttribute("aria-busy");
    }
  }
}

/// The next page of the same search, through the answer's `next_cursor`, added below.
async function more() {
  if (!shown || !shown.nextCursor) return;
  const searchNumber = latestSearch;
  const query = apiQuery(shown.page);
  query.set("cursor", shown.nextCursor);
  moreButton.disabled = true;
  try {
    const answer = await getJson(`${SEARCH_URL}?${query}`);
    if (searchNumber !== latestSearch) return;
    const first = shown.results.length;
    shown.results = shown.results.concat(answer.results);
    shown.nextCursor = answer.next_cursor;
    render();
    // Focus the first new result, so that keyboard and screen-reader users continue from there.
    const next = resultsList.children[first];
    if (next) next.focus();
  } catch (error) {
    showProblem(error.problem || { title: "Something went wrong", detail: String(error) });
  } finally {
    moreButton.disabled = false;
  }
}

function describeCentre(meta) {
  if (meta.place) return meta.place.place;
  if (meta.postal_code) return `ZIP ${meta.postal_code}`;
  return `${formatNumber(meta.centre.lat, 4)}, ${formatNumber(meta.centre.lon, 4)}`;
}

function render() {
  const { meta, results, nextCursor, unit } = shown;
  const radius =
    unit === "mi"
      ? `${formatNumber(meta.radius_km / 1.609344, 1)} mi`
      : `${formatNumber(meta.radius_km, 1)} km`;
  const place = describeCentre(meta);
  if (results.length === 0) {
    output.hidden = true;
    summary.textContent =
      `No verified provider within ${radius} of ${place}. Try a larger radius, another ` +
      `treatment or fewer filters.`;
    return;
  }
  const more = nextCursor ? " There are more." : "";
  summary.textContent =
    `${results.length} location${results.length === 1 ? "" : "s"} within ${radius} of ${place}, ` +
    `best first.${more}`;
  resultsList.replaceChildren(...results.map((result, index) => resultItem(result, index + 1, unit)));
  plot.replaceChildren(positionPlot(meta, results, unit));
  moreButton.hidden = !nextCursor;
  output.hidden = false;
}

function resultItem(result, rank, unit) {
  const place = result.location;
  const item = element("li", null, "result");
  item.id = `result-${place.location_id}`;
  item.tabIndex = -1;
  item.dataset.locationId = String(place.location_id);
  item.dataset.distanceKm = String(result.distance_km);

  const heading = element("h3");
  heading.append(element("span", `${rank}. `, "rank"), element("span", place.clinic.name, "clinic-name"));
  if (place.name) heading.append(element("span", ` · ${place.name}`, "location-name"));
  item.append(heading);

  const address = place.address;
  const addressLine = [address.line1, address.line2, address.city, `${address.state} ${address.postal_code}`]
    .filter(Boolean)
    .join(", ");
  item.append(element("p", addressLine, "address"));

  const facts = element("p", null, "facts");
  const distance = element("span", formatDistance(result, unit), "distance");
  distance.dataset.km = String(result.distance_km);
  facts.append(distance, element("span", openingText(place.opening), "opening"));
  if (place.phone || place.clinic.phone) facts.append(element("span", place.phone || place.clinic.phone, "phone"));
  item.append(facts);

  const providers = element("ul", null, "providers");
  for (const provider of result.providers) {
    providers.append(providerItem(provider, result.ranking.provider_id));
  }
  item.append(providers);
  item.append(rankingExplanation(result.ranking));
  return item;
}

/// `next_opening` is the location's own local time with its offset ("2026-12-01T09:00:00-05:00"):
/// shown as that wall-clock time, which is what the clinic's door says, not converted to the
/// reader's timezone.
function openingText(opening) {
  if (opening.open) return "Open now";
  if (opening.next_opening) {
    const [date, time] = opening.next_opening.split("T");
    const weekday = new Date(`${date}T12:00:00Z`).toLocaleDateString("en-US", {
      weekday: "short",
      timeZone: "UTC",
    });
    return `Closed · opens ${weekday} ${time.slice(0, 5)} local time`;
  }
  return "Closed";
}

function providerItem(provider, rankedProviderId) {
  const credentials = provider.credentials;
  const item = element("li", null, "provider");
  item.dataset.providerId = String(provider.id);
  item.append(element("span", `${provider.given_name} ${provider.family_name}, ${credentials.degree}`, "provider-name"));
  const notes = [];
  if (provider.id === rankedProviderId) notes.push("ranks this location");
  const boards = credentials.board_certifications.filter((certification) => certification.relevant);
  if (boards.length > 0) {
    notes.push(`board certified: ${boards.map((certification) => certification.issuer).join(", ")}`);
  }
  // Freshness: when each licence was checked at the board, and when it is due again.
  for (const licence of credentials.licences) {
    const checked = licence.verified_at ? `, checked ${licence.verified_at.slice(0, 10)}` : "";
    const due = licence.next_due_on ? `, next check ${licence.next_due_on}` : "";
    notes.push(`verified licence${licence.state ? ` (${licence.state})` : ""}${checked}${due}`);
  }
  // Screening against the exclusion lists (OIG LEIE): which lists, as of when, and the outcome.
  const screening = provider.screening;
  if (screening && screening.status === "clear") {
    const asOf = screening.as_of ? ` as of ${screening.as_of}` : "";
    notes.push(`not excluded (${screening.sources.join(", ")}${asOf})`);
  } else if (screening && screening.status === "under_review") {
    notes.push("exclusion screening under review");
  }
  if (credentials.injector_training) notes.push("injector training verified");
  if (credentials.years_of_experience !== null && credentials.years_of_experience !== undefined) {
    notes.push(`${credentials.years_of_experience} years in practice`);
  }
  if (!provider.accepting_new_patients) notes.push("not accepting new patients");
  if (notes.length > 0) item.append(element("span", ` — ${notes.join("; ")}`, "provider-notes"));
  return item;
}

const FACTOR_NAMES = {
  board_certification: "Relevant board certification",
  injector_training: "Injector training",
  experience: "Experience",
  procedure_volume: "Procedure volume",
};

/// The API's `ranking`: score = distance contribution + credential contribution, and the credential
/// score's factors, each value × weight.
function rankingExplanation(ranking) {
  const box = element("details", null, "ranking");
  const headline = element("summary");
  headline.append(
    element("span", `Score ${formatNumber(ranking.score, 3)}`, "score"),
    element(
      "span",
      ` = distance ${formatNumber(ranking.distance_contribution, 3)}` +
        ` + credentials ${formatNumber(ranking.credential_contribution, 3)}`,
      "score-parts",
    ),
  );
  box.append(headline);
  const table = element("table");
  table.append(element("caption", `Credential score ${formatNumber(ranking.credential_score, 3)}, from:`));
  const head = element("tr");
  for (const title of ["Factor", "Value", "Weight", "Contribution"]) {
    const cell = element("th", title);
    cell.scope = "col";
    head.append(cell);
  }
  table.append(element("thead"));
  table.tHead.append(head);
  const body = element("tbody");
  for (const [code, factor] of Object.entries(ranking.factors)) {
    const row = element("tr");
    const name = element("th", FACTOR_NAMES[code] || code);
    name.scope = "row";
    row.append(
      name,
      element("td", formatNumber(factor.value, 3)),
      element("td", formatNumber(factor.weight, 2)),
      element("td", formatNumber(factor.contribution, 3)),
    );
    body.append(row);
  }
  table.append(body);
  box.append(table);
  box.append(
    element(
      "p",
      `Distance score ${formatNumber(ranking.distance_score, 3)} (1 at the centre, decaying with distance).`,
      "hint",
    ),
  );
  return box;
}

/// An SVG plot of the results around the centre: an equirectangular projection centred on the
/// search centre, scaled so that the search radius is the circle. Each point links to its result.
function positionPlot(meta, results, unit) {
  const size = 400;
  const middle = size / 2;
  const circleRadius = 180;
  const scale = circleRadius / meta.radius_km;
  const cosLat = Math.cos((meta.centre.lat * Math.PI) / 180);
  const svg = svgElement("svg", {
    viewBox: `0 0 ${size} ${size}`,
    width: size,
    height: size,
    // A group, not an image: its points are links to the results (an image holds no controls).
    role: "group",
    "aria-labelledby": "plot-title",
    class: "plot",
  });
  const title = svgElement("title", { id: "plot-title" });
  title.textContent =
    `Map of the ${results.length} results around ${describeCentre(meta)}; ` +
    `the circle is the search radius, north is up.`;
  svg.append(title);
  svg.append(svgElement("circle", { cx: middle, cy: middle, r: circleRadius, class: "radius" }));
  svg.append(svgElement("circle", { cx: middle, cy: middle, r: circleRadius / 2, class: "half-radius" }));
  svg.append(svgElement("line", { x1: middle - 8, y1: middle, x2: middle + 8, y2: middle, class: "centre" }));
  svg.append(svgElement("line", { x1: middle, y1: middle - 8, x2: middle, y2: middle + 8, class: "centre" }));
  const north = svgElement("text", { x: middle, y: 14, class: "label", "text-anchor": "middle" });
  north.textContent = "N";
  svg.append(north);
  const radiusLabel = svgElement("text", { x: size - 4, y: size - 6, class: "label", "text-anchor": "end" });
  radiusLabel.textContent =
    unit === "mi"
      ? `radius ${formatNumber(meta.radius_km / 1.609344, 1)} mi (inner ring: half)`
      : `radius ${formatNumber(meta.radius_km, 1)} km (inner ring: half)`;
  svg.append(radiusLabel);

  // Worst rank first, so that the best result is drawn on top where points overlap.
  const points = results.map((result, index) => ({ result, rank: index + 1 })).reverse();
  for (const { result, rank } of points) {
    const coordinates = result.location.coordinates;
    const eastKm = (coordinates.lon - meta.centre.lon) * KM_PER_DEGREE_LON * cosLat;
    const northKm = (coordinates.lat - meta.centre.lat) * KM_PER_DEGREE_LAT;
    const x = middle + eastKm * scale;
    const y = middle - northKm * scale;
    const link = svgElement("a", { href: `#result-${result.location.location_id}`, class: "point" });
    link.dataset.locationId = String(result.location.location_id);
    const label = svgElement("title");
    label.textContent = `${rank}. ${result.location.clinic.name}, ${formatDistance(result, unit)}`;
    link.append(label);
    link.append(svgElement("circle", { cx: formatNumber(x, 1), cy: formatNumber(y, 1), r: 9 }));
    const number = svgElement("text", { x: formatNumber(x, 1), y: formatNumber(y + 4, 1), "text-anchor": "middle" });
    number.textContent = String(rank);
    link.append(number);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const target = document.getElementById(`result-${result.location.location_id}`);
      if (target) {
        target.scrollIntoView({ block: "nearest" });
        target.focus();
      }
    });
    svg.append(link);
  }
  return svg;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
whereInput.addEventListener("input", () => {
  // A typed place replaces the browser's position.
  if (browserPosition && whereInput.value.trim() !== "") {
    browserPosition = null;
    locationStatus.textContent = "";
  }
});
onLabelBox.addEventListener("change", applyOnLabel);
useLocationButton.addEventListener("click", useBrowserLocation);
moreButton.addEventListener("click", more);
// Back and forward: the address bar says what to show.
window.addEventListener("popstate", () => {
  const query = new URLSearchParams(window.location.search);
  restore(query);
  if (query.has("postal_code") || query.has("place") || query.has("lat")) {
    search({ record: "none" });
  } else {
    output.hidden = true;
    summary.textContent = "";
    clearProblem();
  }
});
// A shared link or a reload: the same search again, once the treatments are there.
loadTreatments().then(() => {
  const query = new URLSearchParams(window.location.search);
  if (query.has("postal_code") || query.has("place") || query.has("lat")) {
    restore(query);
    search({ record: "replace" });
  }
});
