// The conformance suite (test/conformance/run.ts) on both hosts, over the wire: `edgepass dev`
// (the Worker and its pool Durable Object under miniflare) and `edgepass serve` (the Node
// host). The origins start once and serve both.
import { afterAll, beforeAll } from "vitest";
import { startConformanceOrigins, type ConformanceOrigins } from "../conformance/origins.js";
import { runConformance } from "../conformance/run.js";
import { startDev, startServe } from "../helpers/process.js";

let origins: ConformanceOrigins | undefined;
beforeAll(async () => {
  origins = await startConformanceOrigins();
});
afterAll(async () => {
  await origins?.stop();
});
const shared = () => {
  if (!origins) throw new Error("the conformance origins did not start");
  return origins;
};

runConformance({ host: { name: "edgepass dev", start: (toml) => startDev(toml), endsCutChunkedCleanly: true }, origins: shared });
runConformance({ host: { name: "edgepass serve", start: (toml) => startServe(toml), endsCutChunkedCleanly: false }, origins: shared });
