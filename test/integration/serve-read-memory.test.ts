// `edgepass serve` reads every origin connection into memory it uses again once the client's
// socket has sent what it held (adapter/node/read-slabs.ts). The point to prove on the wire:
// no client ever gets bytes of another response, whatever the clients' speeds. Many clients at
// once, each with its own pseudo-random body, half of them reading slowly so their pieces wait
// in the socket while the others' reads reuse memory; two waves, so the second runs mostly on
// memory the first gave back. A real php-fpm (FastCGI) on kept connections and on one of each
// request's own (pool = "direct"), and an HTTP origin sending the same bodies with a
// Content-Length or chunked; the config a new user writes.
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noiseBody, phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";

let fpm: PhpFpm;
let www: string;
let serve: Dev;
let origin: http.Server;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 8 });
  // What noise.php sends, from a Node HTTP server: a Content-Length for even seeds, chunked
  // (in 40,000-byte writes) for odd ones.
  origin = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://origin");
    const seed = u.searchParams.get("seed") ?? "0";
    const body = noiseBody(seed, Number(u.searchParams.get("kib") ?? KIB));
    if (Number(seed.replace(/\D/g, "")) % 2 === 0) res.setHeader("content-length", body.byteLength);
    for (let i = 0; i < body.byteLength; i += 40_000) res.write(body.subarray(i, i + 40_000));
    res.end();
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  const { port } = origin.address() as AddressInfo;
  serve = await startServe(`${phpSite(fpm.port, www)}
[upstreams.web]
protocol = "http"
servers = ["127.0.0.1:${port}"]

[[routes]]
match = "/web/"
upstream = "web"

[upstreams.once]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]
pool = "direct"

[[routes]]
match = "^~ /direct/"
upstream = "once"
root = "${www}"
strip_prefix = "/direct"
`);
});

afterAll(async () => {
  await serve?.stop();
  origin?.close();
  await fpm?.stop();
  if (www) rmSync(www, { recursive: true, force: true });
});

const KIB = 1024;

/** GET the body; a slow client stops reading for a few ms after every piece it gets. */
function get(url: string, slow: boolean, agent: http.Agent): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => {
          parts.push(d);
          if (slow) {
            res.pause();
            setTimeout(() => res.resume(), 3);
          }
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

describe.each([
  ["php-fpm (FastCGI)", "/noise.php", KIB],
  ["php-fpm, a connection per request", "/direct/noise.php", KIB],
  ["an HTTP origin, Content-Length and chunked", "/web/noise", KIB],
  // Answers that arrive whole with their head: copied with it (small), or sent as they are.
  ["php-fpm, 7 KiB answers", "/noise.php", 7],
  ["an HTTP origin, 40 KiB answers", "/web/noise", 40],
])("edgepass serve: read memory used again, %s", (_name, target, kib) => {
  it("24 clients at once, half of them slow, two waves: every body is its own, byte for byte", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
    try {
      for (const wave of [1, 2]) {
        const seeds = Array.from({ length: 24 }, (_, i) => `w${wave}c${i}`);
        const results = await Promise.all(seeds.map((seed, i) => get(`${serve.base}${target}?seed=${seed}&kib=${kib}`, i % 2 === 0, agent)));
        results.forEach((r, i) => {
          expect(r.status, seeds[i]).toBe(200);
          expect(r.body.byteLength, seeds[i]).toBe(kib * 1024);
          expect(r.body.equals(noiseBody(seeds[i], kib)), `${seeds[i]}: the body differs from what the app sent`).toBe(true);
        });
      }
    } finally {
      agent.destroy();
    }
  });
});
