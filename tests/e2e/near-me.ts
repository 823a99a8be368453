// A third party's program: the near-me search through a client generated from the OpenAPI
// document (`openapi-typescript` types, `openapi-fetch` calls). It searches near a ZIP code for a
// treatment, checks the answer is sane (non-empty, within the radius, distances that agree with
// the coordinates, ranked best first, each provider offering the treatment), asks again by the
// same point as lat/lon and expects the same ranking, and prints the results.
//
//   node dist/near-me.js <base-url> [zip] [treatment] [radius-km]
import createClient from "openapi-fetch";

import type { components, paths } from "./generated/api.js";

type LocationResult = components["schemas"]["LocationResult"];
type Coordinates = components["schemas"]["Coordinates"];
type TreatmentCode = components["schemas"]["TreatmentCode"];

const [baseUrl, postalCode = "10001", treatment = "chronic_migraine", radiusText = "50"] =
  process.argv.slice(2);
if (!baseUrl) {
  console.error("usage: node dist/near-me.js <base-url> [zip] [treatment] [radius-km]");
  process.exit(2);
}
const radiusKm = Number(radiusText);

// Search answers in JSON or GeoJSON, and errors in problem+json: naming the media types this client
// reads narrows `data` to the JSON answer and `error` to RFC 9457 problem details.
const client = createClient<paths, "application/json" | "application/problem+json">({ baseUrl });

function fail(message: string): never {
  console.error(`near-me: FAIL: ${message}`);
  process.exit(1);
}

/// Great-circle distance on a sphere of the WGS84 mean radius: within 0.5 % of the geodesic one.
function sphereKm(a: Coordinates, b: Coordinates): number {
  const radians = Math.PI / 180;
  const dLat = (b.lat - a.lat) * radians;
  const dLon = (b.lon - a.lon) * radians;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * radians) * Math.cos(b.lat * radians) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

const { data: treatments, error: treatmentsError } = await client.GET("/v1/treatments");
if (!treatments) fail(`GET /v1/treatments: ${JSON.stringify(treatmentsError)}`);
// The command line's treatment, as the taxonomy's code (the search takes a list of them).
const code: TreatmentCode =
  treatments.find((known) => known.code === treatment)?.code ??
  fail(`${treatment} is not in GET /v1/treatments (${treatments.map((t) => t.code).join(", ")})`);

const byZip = await client.GET("/v1/search/locations", {
  params: { query: { postal_code: postalCode, treatment: [code], radius: radiusKm, unit: "km", limit: 10 } },
});
if (byZip.error || !byZip.data) {
  fail(`search by ZIP ${postalCode}: HTTP ${byZip.response.status} ${JSON.stringify(byZip.error)}`);
}
const { meta, results } = byZip.data;

if (meta.postal_code !== postalCode) fail(`meta.postal_code is ${meta.postal_code}, not ${postalCode}`);
if (Math.abs(meta.radius_km - radiusKm) > 1e-9) fail(`meta.radius_km is ${meta.radius_km}`);
if (results.length === 0) fail(`no ${treatment} location within ${radiusKm} km of ZIP ${postalCode}`);

results.forEach((result: LocationResult, index: number) => {
  const where = `result ${index + 1} (location ${result.location.location_id})`;
  if (!(result.distance_km >= 0 && result.distance_km <= meta.radius_km * (1 + 1e-9))) {
    fail(`${where}: ${result.distance_km} km is outside the ${meta.radius_km} km radius`);
  }
  const expectedMi = result.distance_km / 1.609344;
  if (Math.abs(result.distance_mi - expectedMi) > 1e-6) {
    fail(`${where}: distance_mi ${result.distance_mi} is not distance_km / 1.609344`);
  }
  const sphere = sphereKm(meta.centre, result.location.coordinates);
  if (Math.abs(sphere - result.distance_km) > 0.005 * sphere + 0.01) {
    fail(`${where}: distance ${result.distance_km} km, but the coordinates are ${sphere.toFixed(3)} km apart`);
  }
  const ranking = result.ranking;
  const sum = ranking.distance_contribution + ranking.credential_contribution;
  if (Math.abs(ranking.score - sum) > 1e-3) fail(`${where}: score ${ranking.score} ≠ its parts ${sum}`);
  const previous = results[index - 1];
  if (previous && previous.ranking.score < ranking.score - 1e-12) {
    fail(`${where}: score ${ranking.score} ranks below a lower score ${previous.ranking.score}`);
  }
  if (result.providers.length === 0) fail(`${where}: no provider`);
  for (const provider of result.providers) {
    if (!provider.treatments.includes(code)) {
      fail(`${where}: provider ${provider.id} does not offer ${treatment}`);
    }
  }
  if (!result.providers.some((provider) => provider.id === ranking.provider_id)) {
    fail(`${where}: ranked by provider ${ranking.provider_id}, who is not among its providers`);
  }
});

// The same centre as coordinates must give the same ranking.
const byPoint = await client.GET("/v1/search/locations", {
  params: { query: { lat: meta.centre.lat, lon: meta.centre.lon, treatment: [code], radius: radiusKm, limit: 10 } },
});
if (byPoint.error || !byPoint.data) {
  fail(`search by lat/lon: HTTP ${byPoint.response.status} ${JSON.stringify(byPoint.error)}`);
}
const zipOrder = results.map((result) => result.location.location_id).join(",");
const pointOrder = byPoint.data.results.map((result) => result.location.location_id).join(",");
if (zipOrder !== pointOrder) fail(`by ZIP: ${zipOrder}; by lat/lon: ${pointOrder}`);

// A bad request is a typed RFC 9457 problem, not an exception.
const bad = await client.GET("/v1/search/locations", {
  params: { query: { postal_code: "1000", treatment: [code] } },
});
if (bad.response.status !== 422 || !bad.error) fail(`a 4-digit ZIP gave HTTP ${bad.response.status}`);
const pointers = (bad.error.errors ?? []).map((fieldError) => fieldError.pointer);
if (!pointers.includes("/postal_code")) fail(`the 422 names ${pointers.join(", ")}, not /postal_code`);

console.log(
  `near-me: ${results.length} ${treatment} locations within ${radiusKm} km of ZIP ${postalCode} ` +
    `(centre ${meta.centre.lat}, ${meta.centre.lon}), best first:`,
);
for (const [index, result] of results.entries()) {
  const provider = result.providers.find((candidate) => candidate.id === result.ranking.provider_id);
  console.log(
    `  ${String(index + 1).padStart(2)}. ${result.location.clinic.name} — ` +
      `${result.distance_km.toFixed(2)} km, score ${result.ranking.score.toFixed(3)} ` +
      `(distance ${result.ranking.distance_contribution.toFixed(3)} + credentials ` +
      `${result.ranking.credential_contribution.toFixed(3)}), ` +
      `${provider ? `${provider.given_name} ${provider.family_name}` : "?"}`,
  );
}
console.log("near-me: ok (ZIP and lat/lon agree; the bad ZIP is a 422 naming /postal_code)");
