// /docs/ and the finder page in headless Chromium (Debian's, driven by playwright-core).
//
// Every request to a host other than this machine is aborted and counted: the docs and the page
// must work with no internet. Any blocked request, uncaught page error or console error fails.
//
//   node dist/browser.js <base-url> <artifacts-dir> [zip] [treatment]
import { mkdirSync } from "node:fs";
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
const EXPECTED_ERRORS = ["postal_code=1234&"];

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
async function compareWithApi(page: Page, query: string, label: string): Promise<number> {
  const api = await apiSearch(page, query);
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

  // Try it out: Swagger UI fills each field with its example; keep only a ZIP near-me query.
  await operation.getByRole("button", { name: "Try it out" }).click();
  const fields = operation.locator("tr[data-param-name] input");
  for (let index = 0; index < (await fields.count()); index += 1) {
    await fields.nth(index).fill("");
  }
  // Booleans and enums are drop-downs preset to their examples (open_now=true would keep only
  // clinics open at this moment): back to the empty first choice, "--".
  const choices = operation.locator("tr[data-param-name] select");
  for (let index = 0; index < (await choices.count()); index += 1) {
    await choices.nth(index).selectOption({ index: 0 });
  }
  await parameter("postal_code").locator("input").fill(postalCode);
  await parameter("treatment").locator("input").fill(treatment);
  // Search answers JSON or GeoJSON; the media type picker of the 200 response sets `Accept`.
  await operation
    .locator(".response-control-media-type--accept-controller select")
    .first()
    .selectOption("application/json");
  await operation.getByRole("button", { name: "Execute" }).click();
  // The live response from the API, called by Swagger UI from the browser under the docs' CSP.
  const live = operation.locator(".live-responses-table").first();
  await live.waitFor({ timeout: 30_000 });
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

async function finderByZip(context: BrowserContext): Promise<void> {
  const page = await context.newPage();
  watch(page, "finder");
  await page.goto(`${baseUrl}/`);
  // The treatments come from GET /v1/treatments.
  await page.locator(`#treatment option[value="${treatment}"]`).waitFor({ state: "attached" });
  await page.getByLabel("US ZIP code").fill(postalCode);
  await page.getByLabel("Treatment").selectOption(treatment);
  await page.getByLabel("Radius").fill(RADIUS_KM);
  await page.getByLabel("Unit").selectOption("km");
  // Submit from the keyboard, as a user without a mouse would.
  await page.getByLabel("Radius").press("Enter");
  await page.locator("#output:not([hidden])").waitFor({ timeout: 15_000 });
  const shown = await compareWithApi(
    page,
    new URLSearchParams({ postal_code: postalCode, treatment, radius: RADIUS_KM, unit: "km" }).toString(),
    "finder by ZIP",
  );
  const screenshot = join(artifacts, "finder-results.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`browser: the finder shows the API's ${shown} results for ZIP ${postalCode}; ${screenshot}`);

  // A bad ZIP: the API's problem details appear, and the field is flagged.
  await page.getByLabel("US ZIP code").fill("1234");
  await page.getByRole("button", { name: "Search" }).click();
  const problem = page.locator("#problem");
  await problem.waitFor({ state: "visible", timeout: 15_000 });
  const api = await apiSearch(page, new URLSearchParams({ postal_code: "1234", treatment, radius: RADIUS_KM, unit: "km" }).toString());
  check(api.status === 422, `a 4-digit ZIP: the API answered ${api.status}, not 422`);
  const fieldError = (api.body.errors ?? []).find((error) => error.pointer === "/postal_code");
  check(fieldError !== undefined, "a 4-digit ZIP: the API's 422 does not name /postal_code");
  const problemText = (await problem.textContent()) ?? "";
  check(
    fieldError !== undefined && problemText.includes(`postal_code: ${fieldError.detail}`),
    `a 4-digit ZIP: the page shows "${problemText}"`,
  );
  check(
    (await page.getByLabel("US ZIP code").getAttribute("aria-invalid")) === "true",
    "a 4-digit ZIP: the ZIP field is not marked invalid",
  );
  check(await page.locator("#output").isHidden(), "a 4-digit ZIP: old results are still shown");
  const errorShot = join(artifacts, "finder-problem.png");
  await page.screenshot({ path: errorShot });
  console.log(`browser: a bad ZIP shows the API's problem details; ${errorShot}`);
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

  const page = await context.newPage();
  watch(page, "finder (location)");
  await page.goto(`${baseUrl}/`);
  await page.locator(`#treatment option[value="${treatment}"]`).waitFor({ state: "attached" });
  await page.getByLabel("Treatment").selectOption(treatment);
  await page.getByLabel("Radius").fill(RADIUS_KM);
  await page.getByRole("button", { name: "Use my location" }).click();
  await page.locator("#output:not([hidden])").waitFor({ timeout: 15_000 });
  const shown = await compareWithApi(
    page,
    new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6), treatment, radius: RADIUS_KM, unit: "km" }).toString(),
    "finder by location",
  );
  console.log(`browser: "Use my location" at ${lat}, ${lon} shows the API's ${shown} results`);
  await page.close();
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
  await finderByBrowserLocation(context);
  await context.close();
} catch (error) {
  failures.push(`the browser run stopped: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await browser.close();
}

check(blocked.length === 0, `${blocked.length} requests left this machine: ${blocked.join(", ")}`);
failures.push(...pageErrors);
if (failures.length > 0) {
  for (const failure of failures) console.error(`browser: FAIL: ${failure}`);
  process.exit(1);
}
console.log(`browser: ok (0 requests left this machine, no page errors); screenshots in ${artifacts}`);
