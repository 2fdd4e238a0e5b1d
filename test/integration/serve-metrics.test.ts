// `edgepass serve`'s Prometheus metrics on their own listener ([serve] metrics_listen): after a
// known set of requests (php-fpm, files, a malformed head), the exposition text counts them by
// route and status class, the response bytes equal what the clients received, and the pool's
// numbers match what went to php-fpm. The public listener never shows the metrics.
import http from "node:http";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, waitFor, type Dev } from "../helpers/process.js";
import { rawExchange, rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let serve: Dev;
let metricsUrl: string;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 2 });
  const port = await freePort();
  serve = await startServe(
    `
[serve]
metrics_listen = "127.0.0.1:${port}"

[assets]
directory = "site"

${phpSite(fpm.port, www)}
[[routes]]
match = "^~ /cached/"
upstream = "php"
root = "${www}"
script = "/status.php"
cache = { valid = "1m" }

[[routes]]
match = "/"
`,
    { "site/hello.txt": "hello\n" },
  );
  [, metricsUrl] = await waitFor(serve.run, /metrics on (http:\/\/\S+)/);
});

afterAll(async () => {
  await serve?.stop();
  await fpm?.stop();
  if (www) rmSync(www, { recursive: true, force: true });
});

interface Parsed {
  types: Map<string, string>;
  value(name: string, labels?: Record<string, string>): number | undefined;
}

/** A strict reader of the text format: every line a comment or `name{labels} value`. */
function parseExposition(text: string): Parsed {
  const types = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const t = /^# TYPE (\w+) (counter|gauge)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return {
    types,
    value: (name, labels = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value,
  };
}

const scrape = () =>
  new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    http
      .get(metricsUrl, { agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body }));
      })
      .on("error", reject);
  });

describe("edgepass serve: metrics_listen", () => {
  it("counts requests by route and status class, bytes as the clients received them, and the pool", async () => {
    let received = 0;
    for (let i = 0; i < 3; i++) {
      const r = await rawRequest(serve.base, { path: `/info.php?i=${i}` });
      expect(r.status).toBe(200);
      received += r.raw.length;
    }
    const file = await rawRequest(serve.base, { path: "/hello.txt" });
    expect(file.status).toBe(200);
    received += file.raw.length;
    for (const p of ["/missing.txt", "/metrics"]) {
      const r = await rawRequest(serve.base, { path: p });
      expect(r.status).toBe(404);
      expect(r.body.toString()).not.toContain("edgepass_requests_total");
      received += r.raw.length;
    }
    const bad = await rawExchange(serve.base, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");
    expect(bad.raw.toString("latin1")).toMatch(/^HTTP\/1\.1 400 /);
    received += bad.raw.length;

    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const m = parseExposition(res.body);
    expect(m.types.get("edgepass_requests_total")).toBe("counter");
    expect(m.types.get("edgepass_requests_in_flight")).toBe("gauge");
    const php = "~ [^/]\\.php(/|$)";
    expect(m.value("edgepass_requests_total", { route: php, code: "2xx" })).toBe(3);
    expect(m.value("edgepass_requests_total", { route: "/", code: "2xx" })).toBe(1);
    expect(m.value("edgepass_requests_total", { route: "/", code: "4xx" })).toBe(2);
    expect(m.value("edgepass_requests_total", { route: "(unparsed)", code: "4xx" })).toBe(1);
    expect(m.value("edgepass_response_bytes_total")).toBe(received);
    expect(m.value("edgepass_request_bytes_total")).toBeGreaterThan(0);
    expect(m.value("edgepass_connections_total")).toBe(7);
    expect(m.value("edgepass_requests_in_flight")).toBe(0);
    expect(m.value("edgepass_pool_served_total", { upstream: "php" })).toBe(3);
    expect(m.value("edgepass_pool_server_served_total", { upstream: "php", server: `127.0.0.1:${fpm.port}` })).toBe(3);
    expect(m.value("edgepass_pool_server_connect_failures_total", { upstream: "php", server: `127.0.0.1:${fpm.port}` })).toBe(0);
  });

  it("counts a route's cache by $upstream_cache_status, and what the process's cache holds", async () => {
    for (const p of ["/cached/a", "/cached/a", "/cached/a", "/cached/b"]) expect((await rawRequest(serve.base, { path: p })).status).toBe(200);
    const m = parseExposition((await scrape()).body);
    expect(m.types.get("edgepass_cache_requests_total")).toBe("counter");
    expect([m.value("edgepass_cache_requests_total", { status: "MISS" }), m.value("edgepass_cache_requests_total", { status: "HIT" })]).toEqual([2, 2]);
    expect(m.value("edgepass_cache_entries")).toBe(2);
    expect(m.value("edgepass_cache_bytes")).toBeGreaterThan(2 * 256);
  });

  it("answers /metrics only, GET or HEAD", async () => {
    const other = await rawRequest(metricsUrl.replace(/\/metrics$/, ""), { path: "/" });
    expect(other.status).toBe(404);
    const post = await rawRequest(metricsUrl.replace(/\/metrics$/, ""), { method: "POST", path: "/metrics", body: "x" });
    expect(post.status).toBe(405);
  });
});
