// /docs/ and the finder page in headless Chromium (Debian's, driven by playwright-core): the page
// shows what the API answers (by ZIP code, by place, with filters, page after page), keeps the
// search in its URL, works from the keyboard alone, and passes axe-core with no violation; a page
// on another origin (a second local port) calls the public search through CORS.
//
// Every request to a host other than this machine is aborted and counted: the docs and the page
// must work with no internet. Any blocked request, uncaught page error or console error fails.
//
//   node dist/browser.js <base-url> <artifacts-dir> [zip] [treatment]
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";

import { chromium, type BrowserContext, type Page } from "playwright-core";

const [baseUrl, artifactsArg, postalCode = "10001", treatment = "chronic_migraine"] =
  process.argv.slice(2);
if (!baseUrl || !artifactsArg) {
  console.error("usage: node dist/browser.js <base-url> <artifacts-dir> [zip] [treatment]");
  process.exit(2);
}
const artifacts = resolve(artifactsArg);
mkdirSync(artifacts, { recursive: true });
const RADIUS_KM = "50";
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const blocked: string[] = [];
const pageErrors: string[] = [];
const failures: string[] = [];

function check(condition: boolean, message: string): void {
  if (!condition) failures.push(message);
}

/// Only this machine is reachable; everything else is aborted and counted.
async function offline(context: BrowserContext): Promise<void> {
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (LOCAL_HOSTS.has(url.hostname)) {
      await route.continue();
    } else {
      blocked.push(route.request().url());
      await route.abort("blockedbyclient");
    }
  });
}

/// Query strings of the requests the test makes fail on purpose; any other HTTP error fails it.
const EXPECTED_ERRORS = ["postal_code=1234&", "place=Springfield&"];
/// Results a page of the finder asks for (finder.js `PAGE_SIZE`).
const PAGE_SIZE = "10";

function watch(page: Page, name: string): void {
  page.on("pageerror", (error) => pageErrors.push(`${name}: uncaught ${error.message}`));
  page.on("response", (response) => {
    const expected = EXPECTED_ERRORS.some((query) => response.url().includes(query));
    if (response.status() >= 400 && !expected) {
      pageErrors.push(`${name}: HTTP ${response.status()} from ${response.url()}`);
    }
  });
  page.on("console", (message) => {
    // Chromium logs every HTTP error response as a console error; those are judged above.
    const httpError = message.text().startsWith("Failed to load resource: the server responded");
    if (message.type() === "error" && !httpError) {
      pageErrors.push(`${name}: console error: ${message.text()}`);
    }
  });
}

/// What the API answers to a search, fetched from inside the page (same origin, same clock).
interface ApiAnswer {
  status: number;
  body: {
    results?: Array<{
      location: { location_id: number; clinic: { name: string } };
      distance_km: number;
      ranking: { score: number };
    }>;
    errors?: Array<{ pointer: string; detail: string }>;
  };
}

async function apiSearch(page: Page, query: string): Promise<ApiAnswer> {
  return page.evaluate(async (query) => {
    const response = await fetch(`/v1/search/locations?${query}`, {
      headers: { Accept: "application/json" },
    });
    return { status: response.status, body: await response.json() };
  }, query);
}

/// The API's answer to `query` over `pages` pages, following `next_cursor`: its results in order.
async function apiPages(page: Page, query: string, pages: number): Promise<ApiAnswer> {
  const first = await apiSearch(page, query);
  const body = { ...first.body, results: [...(first.body.results ?? [])] };
  let cursor = (first.body as { next_cursor?: string }).next_cursor;
  for (let index = 1; index < pages && cursor; index += 1) {
    const next = await apiSearch(page, `${query}&cursor=${encodeURIComponent(cursor)}`);
    body.results.push(...(next.body.results ?? []));
    cursor = (next.body as { next_cursor?: string }).next_cursor;
  }
  return { status: first.status, body };
}

interface Rendered {
  locationId: number;
  clinicName: string;
  distanceKm: number;
  distanceText: string;
  scoreText: string;
  factorRows: number;
}

async function renderedResults(page: Page): Promise<Rendered[]> {
  return page.$$eval("#results > li", (items) =>
    items.map((item) => ({
      locationId: Number((item as HTMLElement).dataset.locationId),
      clinicName: item.querySelector(".clinic-name")?.textContent ?? "",
      distanceKm: Number((item as HTMLElement).dataset.distanceKm),
      distanceText: item.querySelector(".distance")?.textContent ?? "",
      scoreText: item.querySelector(".score")?.textContent ?? "",
      factorRows: item.querySelectorAll(".ranking tbody tr").length,
    })),
  );
}

/// The page shows exactly what the API answers: the same locations in the same order, with the
/// same names, distances and scores, and one plotted point for each.
async function compareWithApi(page: Page, query: string, label: string, pages = 1): Promise<number> {
  const api = await apiPages(page, query, pages);
  check(api.status === 200, `${label}: the API answered ${api.status}`);
  const expected = api.body.results ?? [];
  const shown = await renderedResults(page);
  check(expected.length > 0, `${label}: the API found nothing, so the comparison would prove nothing`);
  check(
    shown.length === expected.length,
    `${label}: the page shows ${shown.length} results, the API answered ${expected.length}`,
  );
  expected.forEach((result, index) => {
    const row = shown[index];
    const where = `${label}: result ${index + 1}`;
    if (!row) return;
    check(row.locationId === result.location.location_id, `${where}: location ${row.locationId}, API ${result.location.location_id}`);
    check(row.clinicName === result.location.clinic.name, `${where}: "${row.clinicName}", API "${result.location.clinic.name}"`);
    check(Math.abs(row.distanceKm - result.distance_km) < 1e-9, `${where}: ${row.distanceKm} km, API ${result.distance_km}`);
    check(
      row.distanceText.startsWith(`${result.distance_km.toFixed(1)} km`),
      `${where}: shows "${row.distanceText}", API ${result.distance_km} km`,
    );
    check(
      row.scoreText === `Score ${result.ranking.score.toFixed(3)}`,
      `${where}: shows "${row.scoreText}", API score ${result.ranking.score}`,
    );
    check(row.factorRows === 4, `${where}: ${row.factorRows} ranking factors shown, not 4`);
  });
  const plotted = await page.$$eval("#plot svg a.point", (points) =>
    points.map((point) => Number((point as SVGElement).dataset.locationId)).sort((a, b) => a - b),
  );
  const expectedIds = expected.map((result) => result.location.location_id).sort((a, b) => a - b);
  check(
    JSON.stringify(plotted) === JSON.stringify(expectedIds),
    `${label}: plotted ${plotted.length} points, not one per result`,
  );
  return expected.length;
}

async function docs(context: BrowserContext): Promise<void> {
  const page = await context.newPage();
  watch(page, "docs");
  await page.goto(`${baseUrl}/docs/`);
  const operation = page.locator("#operations-search-search_locations");
  await operation.waitFor({ state: "visible", timeout: 30_000 });
  const path = await operation.locator(".opblock-summary-path").getAttribute("data-path");
  check(path === "/v1/search/locations", `the search operation shows path ${path}`);
  await operation.locator(".opblock-summary-control").click();
  const parameter = (name: string) => operation.locator(`tr[data-param-name="${name}"]`);
  await parameter("postal_code").waitFor();
  const screenshot = join(artifacts, "docs-search-operation.png");
  await operation.evaluate((node) => node.scrollIntoView({ block: "start" }));
  await page.screenshot({ path: screenshot });

  // The served document's server defaults to the origin it was read from: this test server,
  // whatever its port.
  const computed = (await page.locator(".servers").textContent()) ?? "";
  const host = new URL(`${baseUrl}`).host;
  check(computed.includes(host), `the docs would call another server: ${computed.slice(0, 300)}`);
  // Try it out: Swagger UI fills each field with its example; keep only a ZIP near-me query.
  await operation.getByRole("button", { name: "Try it out" }).click();
  const fields = operation.locator("tr[data-param-name] input");
  for (let index = 0; index < (await fields.count()); index += 1) {
    await fields.nth(index).fill("");
  }
  // Booleans and enums are drop-downs preset to their examples (open_now=true would keep only
  // clinics open at this moment): back to the empty first choice, "--".
  // List parameters of an enum (treatment, degree, label) are multiple selects: none chosen.
  const choices = operation.locator("tr[data-param-name] select");
  for (let index = 0; index < (await choices.count()); index += 1) {
    const choice = choices.nth(index);
    const multiple = await choice.evaluate((node) => (node as HTMLSelectElement).multiple);
    await choice.selectOption(multiple ? [] : { index: 0 });
  }
  await parameter("postal_code").locator("input").fill(postalCode);
  await parameter("treatment").locator("select").selectOption(treatment);
  // Search answers JSON or GeoJSON; the media type picker of the 200 response sets `Accept`.
  await operation
    .locator(".response-control-media-type--accept-controller select")
    .first()
    .selectOption("application/json");
  await operation.getByRole("button", { name: "Execute" }).click();
  // The live response from the API, called by Swagger UI from the browser under the docs' CSP.
  const live = operation.locator(".live-responses-table").first();
  try {
    await live.waitFor({ timeout: 30_000 });
  } catch (error) {
    // What the page showed instead (a field Swagger UI refused is outlined in red).
    await operation.screenshot({ path: join(artifacts, "docs-try-it-out-no-response.png") });
    const refused = await operation.locator(".validation-errors").allTextContents();
    if (refused.length > 0) failures.push(`Swagger UI refused the request: ${refused.join(" ")}`);
    throw error;
  }
  const response = live.locator("tr.response").first();
  const statusText = (await response.locator("td.response-col_status").textContent())?.trim() ?? "";
  const bodyText = (await response.locator(".response-col_description pre").first().textContent()) ?? "";
  check(statusText === "200", `Try it out on the search answered "${statusText}": ${bodyText}`);
  let found = -1;
  try {
    found = (JSON.parse(bodyText) as { results: unknown[] }).results.length;
  } catch {
    failures.push(`Try it out shows a body that is not a search answer: ${bodyText.slice(0, 200)}`);
  }
  check(found > 0, `Try it out found ${found} locations near ZIP ${postalCode}`);
  const tryScreenshot = join(artifacts, "docs-try-it-out.png");
  await live.screenshot({ path: tryScreenshot });
  console.log(
    `browser: /docs/ rendered the search operation (${screenshot}); ` +
      `Try it out → ${statusText}, ${found} locations (${tryScreenshot})`,
  );
  await page.close();
}

/// The finder's own search parameters as the API takes them (the page asks for pages of 10).
function finderQuery(parameters: Record<string, string>): string {
  return new URLSearchParams({ ...parameters, limit: PAGE_SIZE }).toString();
}

async function openFinder(context: BrowserContext, name: string, path = "/"): Promise<Page> {
  const page = await context.newPage();
  watch(page, name);
  await page.goto(`${baseUrl}${path}`);
  // The treatments come from GET /v1/treatments.
  await page.locator(`#treatment option[value="${treatment}"]`).waitFor({ state: "attached" });
  return page;
}

async function waitForResults(page: Page): Promise<void> {
  await page.locator("#output:not([hidden])").waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => !document.querySelector("#output")?.hasAttribute("aria-busy"));
}

async function finderByZip(context: BrowserContext): Promise<void> {
  const page = await openFinder(context, "finder");
  await page.getByLabel("ZIP code or city").fill(postalCode);
  await page.getByLabel("Treatment").selectOption(treatment);
  await page.getByLabel("Radius").fill(RADIUS_KM);
  await page.getByLabel("Unit").selectOption("km");
  // Submit from the keyboard, as a user without a mouse would.
  await page.getByLabel("Radius").press("Enter");
  await waitForResults(page);
  const parameters = { postal_code: postalCode, treatment, radius: RADIUS_KM, unit: "km" };
  const shown = await compareWithApi(page, finderQuery(parameters), "finder by ZIP");
  const screenshot = join(artifacts, "finder-results.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`browser: the finder shows the API's ${shown} results for ZIP ${postalCode}; ${screenshot}`);

  // The search is in the address bar: a reload (or the link, shared) shows the same results.
  const url = new URL(page.url());
  for (const [name, value] of Object.entries(parameters)) {
    check(url.searchParams.get(name) === value, `the page URL ${url} does not say ${name}=${value}`);
  }
  await page.reload();
  await waitForResults(page);
  await compareWithApi(page, finderQuery(parameters), "finder by ZIP, reloaded");
  check(
    (await page.getByLabel("ZIP code or city").inputValue()) === postalCode,
    "the reloaded page does not show the ZIP code it searched",
  );

  // More results: the next page through `next_cursor`, added below the first.
  const more = page.getByRole("button", { name: "More results" });
  check(await more.isVisible(), "no More results button although the API has a next page");
  await more.click();
  await page.waitForFunction(
    (size) => document.querySelectorAll("#results > li").length > size,
    Number(PAGE_SIZE),
  );
  const both = await compareWithApi(page, finderQuery(parameters), "finder, two pages", 2);
  console.log(`browser: "More results" follows next_cursor: ${both} results over two pages`);

  // A bad ZIP: the API's problem details appear, and the field is flagged.
  await page.getByLabel("ZIP code or city").fill("1234");
  await page.getByRole("button", { name: "Search" }).click();
  const problem = page.locator("#problem");
  await problem.waitFor({ state: "visible", timeout: 15_000 });
  const api = await apiSearch(page, finderQuery({ ...parameters, postal_code: "1234" }));
  check(api.status === 422, `a 4-digit ZIP: the API answered ${api.status}, not 422`);
  const fieldError = (api.body.errors ?? []).find((error) => error.pointer === "/postal_code");
  check(fieldError !== undefined, "a 4-digit ZIP: the API's 422 does not name /postal_code");
  const problemText = (await problem.textContent()) ?? "";
  check(
    fieldError !== undefined && problemText.includes(`postal_code: ${fieldError.detail}`),
    `a 4-digit ZIP: the page shows "${problemText}"`,
  );
  check(
    (await page.getByLabel("ZIP code or city").getAttribute("aria-invalid")) === "true",
    "a 4-digit ZIP: the field is not marked invalid",
  );
  check(await page.locator("#output").isHidden(), "a 4-digit ZIP: old results are still shown");
  const errorShot = join(artifacts, "finder-problem.png");
  await page.screenshot({ path: errorShot });
  console.log(`browser: a bad ZIP shows the API's problem details; ${errorShot}`);
  await axeCheck(page, "finder with a problem");
  // Back to the results: the address bar's history is the searches'.
  await page.goBack();
  await waitForResults(page);
  check(new URL(page.url()).searchParams.get("postal_code") === postalCode, "Back did not restore the search");
  await page.close();
}

async function finderByPlace(context: BrowserContext): Promise<void> {
  const page = await openFinder(context, "finder (place)");
  await page.getByLabel("ZIP code or city").fill("New York, NY");
  await page.getByLabel("Treatment").selectOption(treatment);
  await page.getByLabel("Radius").fill(RADIUS_KM);
  await page.getByRole("button", { name: "Search" }).click();
  await waitForResults(page);
  const parameters = { place: "New York, NY", treatment, radius: RADIUS_KM, unit: "km" };
  const shown = await compareWithApi(page, finderQuery(parameters), "finder by place");
  const summary = (await page.locator("#summary").textContent()) ?? "";
  check(summary.includes("New York City, NY"), `the summary does not name the place: "${summary}"`);
  console.log(`browser: "New York, NY" finds the API's ${shown} results (${summary})`);
  await axeCheck(page, "finder with results");

  // An ambiguous name: the API's choices, as buttons; choosing one searches from it.
  await page.getByLabel("ZIP code or city").fill("Springfield");
  await page.getByRole("button", { name: "Search" }).click();
  const choices = page.locator("#choices:not([hidden]) button");
  await choices.first().waitFor({ timeout: 15_000 });
  const offered = await choices.allTextContents();
  const api = await apiSearch(page, finderQuery({ ...parameters, place: "Springfield" }));
  const candidates = ((api.body as { candidates?: Array<{ place: string }> }).candidates ?? []).map(
    (candidate) => candidate.place,
  );
  check(
    JSON.stringify(offered) === JSON.stringify(candidates) && candidates.length > 1,
    `the choices shown ${JSON.stringify(offered)} are not the API's ${JSON.stringify(candidates)}`,
  );
  await axeCheck(page, "finder with choices");
  await choices.first().click();
  await page.waitForFunction(
    (place) => new URL(window.location.href).searchParams.get("place") === place,
    candidates[0],
  );
  await page.locator("#summary").filter({ hasText: candidates[0] }).waitFor({ timeout: 15_000 });
  const shot = join(artifacts, "finder-place.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`browser: "Springfield" offers ${candidates.length} places; choosing ${candidates[0]} searches there`);
  await page.close();
}

async function finderFilters(context: BrowserContext): Promise<void> {
  // A shared link with filters: the page fills the form from it and searches at once.
  const link = new URLSearchParams({
    postal_code: postalCode,
    radius: "80",
    unit: "km",
    language: "es",
    accepting_new_patients: "true",
    on_label: "true",
  });
  const page = await openFinder(context, "finder (filters)", `/?${link}`);
  await waitForResults(page).catch(() => undefined);
  check((await page.getByLabel("Speak").inputValue()) === "es", "the language filter was not restored");
  check(await page.getByLabel("accept new patients").isChecked(), "accepting was not restored");
  check(await page.getByLabel("treat on-label uses only").isChecked(), "on-label was not restored");
  const onLabel = await page.evaluate(async () => {
    const treatments = (await (await fetch("/v1/treatments")).json()) as Array<{ code: string; label_status: string }>;
    return treatments.filter((t) => t.label_status === "on_label").map((t) => t.code);
  });
  const parameters = {
    postal_code: postalCode,
    radius: "80",
    unit: "km",
    language: "es",
    accepting_new_patients: "true",
    treatment: onLabel.join(","),
  };
  const api = await apiSearch(page, finderQuery(parameters));
  if ((api.body.results ?? []).length > 0) {
    const shown = await compareWithApi(page, finderQuery(parameters), "finder with filters");
    console.log(`browser: a shared link with filters (Spanish, new patients, on-label) shows the API's ${shown} results`);
  } else {
    const summary = (await page.locator("#summary").textContent()) ?? "";
    check(summary.startsWith("No verified provider"), `no results, but the page says "${summary}"`);
  }
  // Off-label treatments are not offered while "on-label only" is on.
  const offLabelShown = await page
    .locator("#treatment option:not([hidden]):not([value=''])")
    .evaluateAll((options) => options.filter((o) => (o as HTMLOptionElement).dataset.labelStatus !== "on_label").length);
  check(offLabelShown === 0, `${offLabelShown} off-label treatments offered with on-label only`);
  await page.close();
}

/// A search from the keyboard alone: Tab through the form, type, choose, submit with Enter, then
/// Tab to "More results" and press Enter.
async function finderByKeyboard(context: BrowserContext): Promise<void> {
  const page = await openFinder(context, "finder (keyboard)");
  await axeCheck(page, "finder before a search");
  const active = () => page.evaluate(() => document.activeElement?.id ?? document.activeElement?.tagName ?? "");
  const tabTo = async (id: string, limit = 40) => {
    for (let presses = 0; presses < limit; presses += 1) {
      if ((await active()) === id) return;
      await page.keyboard.press("Tab");
    }
    failures.push(`keyboard: Tab never reached #${id} (stopped at ${await active()})`);
  };
  const order: string[] = [];
  await page.keyboard.press("Tab");
  for (let presses = 0; presses < 20 && !order.includes("search"); presses += 1) {
    order.push(await active());
    await page.keyboard.press("Tab");
  }
  const expected = ["where", "use-location", "treatment", "radius", "unit", "language", "open-now", "accepting", "board-certified", "on-label", "search"];
  const reached = order.filter((id) => expected.includes(id));
  check(
    JSON.stringify(reached) === JSON.stringify(expected),
    `keyboard: the form's Tab order is ${JSON.stringify(order)}`,
  );
  await page.keyboard.press("Shift+Tab");
  await tabTo("where");
  await page.keyboard.type(postalCode);
  await tabTo("treatment");
  // A closed <select> takes arrow keys: step to the treatment.
  for (let presses = 0; presses < 30; presses += 1) {
    if ((await page.getByLabel("Treatment").inputValue()) === treatment) break;
    await page.keyboard.press("ArrowDown");
  }
  await tabTo("radius");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(RADIUS_KM);
  await tabTo("search");
  await page.keyboard.press("Enter");
  await waitForResults(page);
  await compareWithApi(
    page,
    finderQuery({ postal_code: postalCode, treatment, radius: RADIUS_KM, unit: "km" }),
    "finder from the keyboard",
  );
  await tabTo("more", 200);
  await page.keyboard.press("Enter");
  await page.waitForFunction((size) => document.querySelectorAll("#results > li").length > size, Number(PAGE_SIZE));
  const focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.locationId);
  const eleventh = await page.locator("#results > li").nth(Number(PAGE_SIZE)).getAttribute("data-location-id");
  check(focused === eleventh, `keyboard: after More results the focus is on ${focused}, not the first new result ${eleventh}`);
  console.log(`browser: a keyboard-only search tabbed through ${reached.length} controls, searched with Enter and paged with More results`);
  await page.close();
}

async function finderByBrowserLocation(context: BrowserContext): Promise<void> {
  // The ZIP code's centre, as the API reports it, stands in for the browser's position.
  const probe = await context.newPage();
  await probe.goto(`${baseUrl}/`);
  const centreAnswer = await probe.evaluate(async (query) => {
    const response = await fetch(`/v1/search/locations?${query}`);
    return (await response.json()) as { meta: { centre: { lat: number; lon: number } } };
  }, new URLSearchParams({ postal_code: postalCode, limit: "1" }).toString());
  await probe.close();
  const { lat, lon } = centreAnswer.meta.centre;
  await context.grantPermissions(["geolocation"], { origin: baseUrl });
  await context.setGeolocation({ latitude: lat, longitude: lon });

  const page = await openFinder(context, "finder (location)");
  await page.getByLabel("Treatment").selectOption(treatment);
  await page.getByLabel("Radius").fill(RADIUS_KM);
  await page.getByRole("button", { name: "Use my location" }).click();
  await waitForResults(page);
  const shown = await compareWithApi(
    page,
    finderQuery({ lat: lat.toFixed(6), lon: lon.toFixed(6), treatment, radius: RADIUS_KM, unit: "km" }),
    "finder by location",
  );
  console.log(`browser: "Use my location" at ${lat}, ${lon} shows the API's ${shown} results`);
  await page.close();
}

/// axe-core (npm, pinned) on the page as it is: every rule axe runs by default, no violation.
let axeRuns = 0;
let axeViolations = 0;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function axeCheck(page: Page, state: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }>; help: string }> }> } }).axe;
    const result = await axe.run(document);
    return result.violations.map(
      (v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`,
    );
  });
  axeRuns += 1;
  axeViolations += violations.length;
  for (const violation of violations) failures.push(`axe, ${state}: ${violation}`);
}

/// A front end on another origin (a second local port) calls the public search: CORS lets it
/// read the answer; a keyed call from there is refused by the preflight.
async function otherOrigin(context: BrowserContext): Promise<void> {
  const query = new URLSearchParams({ postal_code: postalCode, treatment, radius: RADIUS_KM }).toString();
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head>
<body><main><h1>Another site</h1><p id="count">…</p><p id="keyed">…</p></main><script>
fetch(${JSON.stringify(`${baseUrl}/v1/search/locations?${query}`)})
  .then((r) => r.json()).then((body) => { document.getElementById("count").textContent = String(body.results.length); })
  .catch((e) => { document.getElementById("count").textContent = "error: " + e; });
fetch(${JSON.stringify(`${baseUrl}/v1/admin/keys`)}, { headers: { Authorization: "Bearer some-key" } })
  .then((r) => { document.getElementById("keyed").textContent = "answered " + r.status; })
  .catch(() => { document.getElementById("keyed").textContent = "refused"; });
</script></body></html>`;
  const server: Server = createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    response.end(html);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const page = await context.newPage();
    // The refused keyed call is logged as a console error by Chromium: expected here.
    page.on("pageerror", (error) => pageErrors.push(`other origin: uncaught ${error.message}`));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.getElementById("count")?.textContent !== "…");
    await page.waitForFunction(() => document.getElementById("keyed")?.textContent !== "…");
    const count = (await page.locator("#count").textContent()) ?? "";
    const keyed = (await page.locator("#keyed").textContent()) ?? "";
    const probe = await context.newPage();
    await probe.goto(`${baseUrl}/`);
    const api = await apiSearch(probe, query);
    await probe.close();
    check(count === String(api.body.results?.length ?? -1) && Number(count) > 0, `another origin read "${count}" results, the API has ${api.body.results?.length}`);
    check(keyed === "refused", `another origin's keyed call: ${keyed}`);
    console.log(`browser: a page on ${origin} read ${count} results from ${baseUrl} (CORS); its keyed call was ${keyed}`);
    await page.close();
  } finally {
    server.close();
  }
}

// Debian's Chromium; playwright-core adds the flags that keep it from calling home.
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--disable-gpu", "--disable-quic"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await offline(context);
  await docs(context);
  await finderByZip(context);
  await finderByPlace(context);
  await finderFilters(context);
  await finderByKeyboard(context);
  await finderByBrowserLocation(context);
  await otherOrigin(context);
  await context.close();
} catch (error) {
  failures.push(`the browser run stopped: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await browser.close();
}

console.log(`browser: axe-core: ${axeViolations} violations in ${axeRuns} states of the finder page`);
check(blocked.length === 0, `${blocked.length} requests left this machine: ${blocked.join(", ")}`);
failures.push(...pageErrors);
if (failures.length > 0) {
  for (const failure of failures) console.error(`browser: FAIL: ${failure}`);
  process.exit(1);
}
console.log(`browser: ok (0 requests left this machine, no page errors); screenshots in ${artifacts}`);
