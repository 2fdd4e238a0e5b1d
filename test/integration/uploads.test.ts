// Uploads through both hosts. A piece of a request body of 4 KiB or more is not copied on its
// way to the origin: FastCGI STDIN records and HTTP chunks are written as their headers around
// views of what the client's socket read (Codec.fcgiStreamPieces, encodeChunkPieces), held in
// the origin socket's queue until sent (serve); in workerd, whose socket write copies, they are
// joined in memory used again, and a body with a length is read into the memory its last read
// filled. The point to prove on the wire: every origin gets every body byte for byte, many
// uploads at once, each with its own pseudo-random body, the client writing it in uneven
// pieces, with a Content-Length and chunked. A real php-fpm on kept connections and on one of
// each request's own (pool = "direct"), and a Node HTTP origin the same two ways; the config a
// new user writes.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noiseBody, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS, repoRoot } from "../helpers/process.js";

let fpm: PhpFpm;
let www: string;
let origin: http.Server;
let site: string;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 8 });
  // An HTTP origin that answers with what echo.php answers: the body's length and digest.
  origin = http.createServer((req, res) => {
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (d: Buffer) => {
      hash.update(d);
      length += d.length;
    });
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ length, sha256: hash.digest("hex"), chunked: req.headers["transfer-encoding"] === "chunked" }));
    });
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  const httpPort = (origin.address() as AddressInfo).port;
  site = `[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[upstreams.php_direct]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]
pool = "direct"

[upstreams.web]
protocol = "http"
servers = ["127.0.0.1:${httpPort}"]

[upstreams.web_direct]
protocol = "http"
servers = ["127.0.0.1:${httpPort}"]
pool = "direct"

[[routes]]
match = "^~ /direct/"
upstream = "php_direct"
root = "${www}"
script = "/echo.php"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"

[[routes]]
match = "^~ /web/"
upstream = "web"

[[routes]]
match = "^~ /web-direct/"
upstream = "web_direct"
`;
}, 60_000);

afterAll(async () => {
  await fpm?.stop();
  await new Promise((r) => origin?.close(r));
  if (www) rmSync(www, { recursive: true, force: true });
});

/** POSTs `body` in uneven writes, with a Content-Length or chunked; the answer's JSON. */
function upload(base: string, path: string, body: Buffer, chunked: boolean): Promise<{ status: number; json: { length: number; sha256: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/octet-stream", ...(chunked ? {} : { "content-length": String(body.length) }) },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
        } catch {
          reject(new Error(`${path}: ${res.statusCode} ${text.slice(0, 200)}`));
        }
      });
    });
    req.on("error", reject);
    // Uneven pieces, so reads of the client's socket end at different places each time.
    let at = 0;
    for (let i = 0; at < body.length; i++) {
      const n = Math.min(body.length - at, [1000, 70_000, 5, 9000, 131_072][i % 5]!);
      req.write(body.subarray(at, at + n));
      at += n;
    }
    req.end();
  });
}

const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe.each(BOTH_HOSTS)("%s", (host, start) => {
  const suite = gatewayForSuite(start, () => site);

  describe.each([
    ["php-fpm, kept connections", "/echo.php"],
    ["php-fpm, a connection per request", "/direct/up"],
    ["HTTP, kept connections", "/web/up"],
    ["HTTP, a connection per request", "/web-direct/up"],
  ] as const)("uploads to %s", (_name, target) => {
    it.each([false, true])("24 uploads at once, 3 KB to 1 MB (chunked from the client: %s), each whole", async (chunked) => {
      const sizes = [3000, 4096, 70_000, 300_001, 1_000_000, 65_535];
      const bodies = Array.from({ length: 24 }, (_, i) => noiseBody(`${target}:${chunked}:${i}`, 1024).subarray(0, sizes[i % sizes.length]));
      const got = await Promise.all(bodies.map((b) => upload(suite.dev.base, target, b, chunked)));
      for (const [i, r] of got.entries()) {
        expect(r.status, `upload ${i}`).toBe(200);
        expect(r.json, `upload ${i}`).toMatchObject({ length: bodies[i]!.length, sha256: digest(bodies[i]!) });
        // A body of unknown length goes on to an HTTP origin in chunks of its own, where it
        // streams (the Worker); `edgepass serve` holds every body whole before the origin is
        // asked (request_buffering's default there, as nginx's) and sends its length.
        if (target.startsWith("/web")) expect((r.json as { chunked?: boolean }).chunked, `upload ${i}`).toBe(chunked && host === "edgepass dev");
      }
    }, 60_000);
  });
});
