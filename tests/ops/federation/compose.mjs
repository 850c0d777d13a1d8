// Compose subgraphs into a supergraph with The Guild's federation composition (the library Hive uses).
// usage: node compose.mjs services.json supergraph.graphql
//   services.json: [{"name": "...", "url": "http://.../graphql", "sdl": "<the subgraph's _service { sdl }>"}]
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const [servicesPath, outPath] = process.argv.slice(2);
const services = JSON.parse(readFileSync(servicesPath, "utf8"));
const result = composeServices(
  services.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })),
);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}
writeFileSync(outPath, result.supergraphSdl);
console.log(`composed ${services.length} subgraphs into ${outPath}`);
