// What a client receives from a route with a cache when the origin misbehaves or encodes, on
// the wire, through both hosts: a body cut short stays cut (and is never kept, so the next
// client does not get the cut copy), a gzip answer passes byte for byte to a client that reads
// gzip and is decoded from the cache for one that does not, and a kept text page is compressed
// for a client that asks, as any answer is. The origin here (a node:http server in the test)
// counts what reaches it.
import http from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS } from "../helpers/process.js";
import { rawRequest } from "../helpers/raw-http.js";

const TEXT = "a line of the page that compresses well\n".repeat(100);
const GZ = gzipSync(Buffer.from(TEXT));
let origin: http.Server;
let port = 0;
const arrived = new Map<string, number>();

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const path = req.url!.replace(/\?.*/, "");
    arrived.set(req.url!, (arrived.get(req.url!) ?? 0) + 1);
    res.setHeader("cache-control", "max-age=60");
    res.setHeader("x-secret", "origin internals");
    if (path === "/cut") {
      // 100 bytes declared, 10 sent, then the connection drops.
      res.writeHead(200, { "content-length": "100", "content-type": "text/plain" });
      res.write("0123456789");
      setTimeout(() => res.socket?.destroy(), 50);
    } else if (path === "/etag" || path === "/other") {
      // Small answers, each read whole with its head from one read of the origin's socket.
      const fill = path === "/etag" ? "E" : "O";
      if (path === "/etag") res.setHeader("etag", '"e1"');
      else res.setHeader("cache-control", "no-store");
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2000" });
      res.end(fill.repeat(2000));
    } else if (path === "/gz") {
      res.writeHead(200, { "content-encoding": "gzip", "content-length": String(GZ.length), "content-type": "text/plain" });
      res.end(GZ);
    } else {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(TEXT);
    }
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  port = (origin.address() as { port: number }).port;
});

afterAll(async () => {
  origin.closeAllConnections();
  await new Promise((r) => origin.close(r));
});

const SITE = () => `[upstreams.app]
protocol = "http"
servers = ["127.0.0.1:${port}"]

[[routes]]
match = "/"
upstream = "app"
cache = true
add_headers = { "X-Cache" = "$upstream_cache_status" }

[[routes]]
match = "^~ /one-at-a-time/"
upstream = "app"
cache = true
limit_conn = { key = "ip", max = 1 }
add_headers = { "X-Cache" = "$upstream_cache_status" }

[[routes]]
match = "^~ /limited/"
upstream = "app"
cache = true
limit_req = { key = "ip", rate = "1r/m", burst = 2, nodelay = true }
hide_headers = ["X-Secret"]
add_headers = { "X-Cache" = "$upstream_cache_status" }
`;

describe.each(BOTH_HOSTS)("a route's cache on the wire, %s", (name, start) => {
  const tag = name.split(" ")[1];
  const suite = gatewayForSuite(start, () => SITE());

  it("a body cut short reaches the client cut (its declared length, the connection closed early) and is not kept: the next client is sent to the origin", async () => {
    const target = `/cut?on=${tag}`;
    for (const _ of [1, 2]) {
      const res = await rawRequest(suite.dev.base, { path: target });
      expect([res.status, res.framing, res.get("content-length"), res.complete, res.get("x-cache")]).toEqual([200, "length", "100", false, "MISS"]);
      expect(res.body.toString()).toBe("0123456789");
    }
    expect(arrived.get(target)).toBe(2);
  });

  it("an entry made from an answer read whole (a conditional miss) is a copy: answers read after it into the same memory do not change it", async () => {
    const target = `/etag?on=${tag}`;
    // A validator that does not match: the whole answer, made from the new entry.
    const first = await rawRequest(suite.dev.base, { path: target, headers: { "if-none-match": '"other"' } });
    expect([first.status, first.get("x-cache"), first.body.toString() === "E".repeat(2000)]).toEqual([200, "MISS", true]);
    // Many more answers read from the origin, into whatever memory reads reuse.
    for (let i = 0; i < 40; i++) expect((await rawRequest(suite.dev.base, { path: `/other?i=${i}&on=${tag}` })).body.toString()).toBe("O".repeat(2000));
    const hit = await rawRequest(suite.dev.base, { path: target });
    expect([hit.status, hit.get("x-cache"), hit.body.toString() === "E".repeat(2000)]).toEqual([200, "HIT", true]);
  });

  it("a hit is a request of the route like any: limit_req counts it (past the burst, 429 although the answer is at hand), hide_headers and add_headers apply", async () => {
    const target = `/limited/page?on=${tag}`;
    const got = [];
    for (let i = 0; i < 4; i++) {
      const r = await rawRequest(suite.dev.base, { path: target, headers: { "cf-connecting-ip": `198.51.100.${tag === "serve" ? 1 : 2}` } });
      got.push(`${r.status} ${r.get("x-cache") ?? "-"} ${r.get("x-secret") ?? "-"}`);
    }
    expect(got).toEqual(["200 MISS -", "200 HIT -", "200 HIT -", "429 - -"]);
    expect(arrived.get(target)).toBe(1);
  });

  it("limit_conn: a hit gives its place back as its answer goes (one at a time, one after another, none refused)", async () => {
    const target = `/one-at-a-time/page?on=${tag}`;
    const got = [];
    for (let i = 0; i < 4; i++) {
      const r = await rawRequest(suite.dev.base, { path: target, headers: { "cf-connecting-ip": `198.51.100.${tag === "serve" ? 3 : 4}` } });
      got.push(`${r.status} ${r.get("x-cache") ?? "-"}`);
    }
    expect(got).toEqual(["200 MISS", "200 HIT", "200 HIT", "200 HIT"]);
  });

  it("gzip from the origin: byte for byte to a client that reads it, then from the cache decoded for one that does not", async () => {
    const target = `/gz?on=${tag}`;
    const first = await rawRequest(suite.dev.base, { path: target, headers: { "accept-encoding": "gzip" } });
    expect([first.status, first.get("x-cache"), first.get("content-encoding")]).toEqual([200, "MISS", "gzip"]);
    expect(first.body.equals(GZ)).toBe(true);
    const plain = await rawRequest(suite.dev.base, { path: target });
    expect([plain.status, plain.get("x-cache"), plain.get("content-encoding"), plain.complete]).toEqual([200, "HIT", null, true]);
    expect(plain.body.toString()).toBe(TEXT);
    const again = await rawRequest(suite.dev.base, { path: target, headers: { "accept-encoding": "gzip" } });
    expect([again.get("x-cache"), again.get("content-encoding")]).toEqual(["HIT", "gzip"]);
    expect(again.body.equals(GZ)).toBe(true);
    expect(arrived.get(target)).toBe(1);
  });

  it("a kept text page is compressed for a client that asks, whole, with the same bytes inside", async () => {
    const target = `/text?on=${tag}`;
    const first = await rawRequest(suite.dev.base, { path: target });
    expect([first.get("x-cache"), first.body.toString()]).toEqual(["MISS", TEXT]);
    const hit = await rawRequest(suite.dev.base, { path: target, headers: { "accept-encoding": "gzip" } });
    expect([hit.status, hit.get("x-cache"), hit.get("content-encoding"), hit.complete]).toEqual([200, "HIT", "gzip", true]);
    expect(gunzipSync(hit.body).toString()).toBe(TEXT);
    expect(arrived.get(target)).toBe(1);
  });

  // Only serve reads its config again on SIGHUP (suite.dev restarts workerd on a change).
  if (name === "edgepass serve") it("a reload (SIGHUP) keeps what is cached, as nginx's cache outlives its reload", async () => {
    const target = `/text?on=reload`;
    expect((await rawRequest(suite.dev.base, { path: target })).get("x-cache")).toBe("MISS");
    const before = suite.dev.run.stdout.match(/reloaded config/g)?.length ?? 0;
    suite.dev.run.child.kill("SIGHUP");
    await expect.poll(() => suite.dev.run.stdout.match(/reloaded config/g)?.length ?? 0, { timeout: 10_000 }).toBe(before + 1);
    const after = await rawRequest(suite.dev.base, { path: target });
    expect([after.get("x-cache"), after.body.toString()]).toEqual(["HIT", TEXT]);
    expect(arrived.get(target)).toBe(1);
  });
});
