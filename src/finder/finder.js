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

const form = document.getElementById("search-form");
const postalCodeInput = document.getElementById("postal-code");
const treatmentSelect = document.getElementById("treatment");
const radiusInput = document.getElementById("radius");
const unitSelect = document.getElementById("unit");
const searchButton = document.getElementById("search");
const useLocationButton = document.getElementById("use-location");
const locationStatus = document.getElementById("location-status");
const problemBox = document.getElementById("problem");
const summary = document.getElementById("summary");
const output = document.getElementById("output");
const plot = document.getElementById("plot");
const resultsList = document.getElementById("results");

/// The browser's position once the user asked for it: `{ lat, lon }`.
let browserPosition = null;
/// Each search gets a number; an answer to an older search that arrives late is dropped.
let latestSearch = 0;

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
}

function clearProblem() {
  problemBox.hidden = true;
  problemBox.replaceChildren();
  markInvalidFields([]);
}

/// Flags the inputs the API named as invalid, so assistive technology says which field is wrong.
function markInvalidFields(errors) {
  const inputs = {
    "/postal_code": postalCodeInput,
    "/treatment": treatmentSelect,
    "/radius": radiusInput,
    "/unit": unitSelect,
  };
  const named = new Set(errors.map((fieldError) => fieldError.pointer));
  for (const [pointer, input] of Object.entries(inputs)) {
    if (named.has(pointer)) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
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
    const treatments = await getJson(TREATMENTS_URL);
    for (const treatment of treatments) {
      const option = element("option", treatment.name);
      option.value = treatment.code;
      option.title = treatment.description;
      treatmentSelect.append(option);
    }
  } catch (error) {
    showProblem(error.problem || { title: "The treatments could not be loaded" });
  }
}

function useBrowserLocation() {
  if (!("geolocation" in navigator)) {
    locationStatus.textContent = "This browser cannot share its location; type a ZIP code.";
    return;
  }
  locationStatus.textContent = "Asking the browser for your location…";
  navigator.geolocation.getCurrentPosition(
    (position) => {
      browserPosition = { lat: position.coords.latitude, lon: position.coords.longitude };
      // The ZIP code would win over the position; the user just asked for the position.
      postalCodeInput.value = "";
      locationStatus.textContent =
        `Using your location (${formatNumber(browserPosition.lat, 4)}, ` +
        `${formatNumber(browserPosition.lon, 4)}).`;
      search();
    },
    (error) => {
      browserPosition = null;
      locationStatus.textContent = `Your location is not available (${error.message}); type a ZIP code.`;
    },
    { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 },
  );
}

/// The search query from the form. Validation is the API's: whatever it refuses, the page shows.
function searchQuery() {
  const query = new URLSearchParams();
  const postalCode = postalCodeInput.value.trim();
  if (postalCode !== "") {
    query.set("postal_code", postalCode);
  } else if (browserPosition) {
    query.set("lat", formatNumber(browserPosition.lat, 6));
    query.set("lon", formatNumber(browserPosition.lon, 6));
  }
  if (treatmentSelect.value !== "") query.set("treatment", treatmentSelect.value);
  query.set("radius", radiusInput.value.trim());
  query.set("unit", unitSelect.value);
  return query;
}

async function search() {
  const searchNumber = ++latestSearch;
  const query = searchQuery();
  const unit = unitSelect.value;
  clearProblem();
  searchButton.disabled = true;
  output.setAttribute("aria-busy", "true");
  summary.textContent = "Searching…";
  try {
    const answer = await getJson(`${SEARCH_URL}?${query}`);
    if (searchNumber !== latestSearch) return;
    render(answer, unit);
  } catch (error) {
    if (searchNumber !== latestSearch) return;
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

function describeCentre(meta) {
  if (meta.postal_code) return `ZIP ${meta.postal_code}`;
  return `${formatNumber(meta.centre.lat, 4)}, ${formatNumber(meta.centre.lon, 4)}`;
}

function render(answer, unit) {
  const { meta, results } = answer;
  const radius =
    unit === "mi"
      ? `${formatNumber(meta.radius_km / 1.609344, 1)} mi`
      : `${formatNumber(meta.radius_km, 1)} km`;
  const place = describeCentre(meta);
  if (results.length === 0) {
    output.hidden = true;
    summary.textContent =
      `No verified provider within ${radius} of ${place}. Try a larger radius or another treatment.`;
    return;
  }
  const more = answer.next_cursor ? " (the first page; the API has more)" : "";
  summary.textContent =
    `${results.length} location${results.length === 1 ? "" : "s"} within ${radius} of ${place}, ` +
    `best first${more}.`;
  resultsList.replaceChildren(...results.map((result, index) => resultItem(result, index + 1, unit)));
  plot.replaceChildren(positionPlot(meta, results, unit));
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
  const licensedIn = credentials.licences.map((licence) => licence.state).filter(Boolean);
  if (licensedIn.length > 0) notes.push(`verified licence: ${licensedIn.join(", ")}`);
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
    role: "img",
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
postalCodeInput.addEventListener("input", () => {
  // A typed ZIP code replaces the browser's position.
  if (browserPosition && postalCodeInput.value.trim() !== "") {
    browserPosition = null;
    locationStatus.textContent = "";
  }
});
useLocationButton.addEventListener("click", useBrowserLocation);
loadTreatments();
