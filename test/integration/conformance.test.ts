// The conformance suite (test/conformance/run.ts) on both hosts, over the wire: `edgepass dev`
// (the Worker and its pool Durable Object under miniflare) and `edgepass serve` (the Node
// host), that one also over HTTP/2 (TLS, ALPN h2). The origins start once and serve them all.
import { afterAll, beforeAll } from "vitest";
import { startConformanceOrigins, type ConformanceOrigins } from "../conformance/origins.js";
import { runConformance } from "../conformance/run.js";
import { h2Request } from "../helpers/h2-client.js";
import { startDev, startServe } from "../helpers/process.js";
import { selfSigned } from "../helpers/tls.js";

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

const pair = selfSigned("conformance");
runConformance({
  host: {
    name: "edgepass serve over HTTP/2",
    start: (toml) => startServe(toml.replace("[serve]\n", '[serve]\ntls = { cert = "cert.pem", key = "key.pem" }\n'), { "cert.pem": pair.cert, "key.pem": pair.key }),
    endsCutChunkedCleanly: false,
    send: (base, req) => h2Request(base, pair.cert, req),
  },
  origins: shared,
});
