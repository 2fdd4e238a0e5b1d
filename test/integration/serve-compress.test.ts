// Response compression on `edgepass serve` (on by default: br and gzip), judged on the wire
// with a raw socket in front of a real php-fpm and files from disk: what is compressed decodes
// to exactly the origin's bytes, and what must not be (an encoded body, images, ranges, HEAD,
// short bodies, a client that takes no coding) arrives as the origin sent it.
import { cpSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { brotliDecompressSync, createGunzip, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";
import { rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let serve: Dev;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 2 });
  // No compress keys: the defaults a new user gets.
  serve = await startServe(`
[assets]
directory = "site"

${phpSite(fpm.port, www)}
[[routes]]
match = "/"
`);
  cpSync(path.join(repoRoot, "test/fixtures/site"), path.join(serve.dir, "site"), { recursive: true });
});

afterAll(async () => {
  await serve?.stop();
  await fpm?.stop();
  if (www) rmSync(www, { recursive: true, force: true });
});

const get = (p: string, acceptEncoding?: string, method = "GET") =>
  rawRequest(serve.base, { method, path: p, headers: acceptEncoding === undefined ? {} : { "Accept-Encoding": acceptEncoding } });

describe("edgepass serve compresses responses (default on)", () => {
  it("a php-fpm page that streams (256 KiB, flushed as it goes): the identity client gets the origin's bytes; gzip and br decode to them", async () => {
    const plain = await get("/page.php?kb=256");
    expect(plain.status).toBe(200);
    expect(plain.get("content-encoding")).toBeNull();
    expect(plain.get("vary")).toBe("Accept-Encoding");
    expect(plain.get("etag")).toBe('"page-v1"');
    expect(plain.body.length).toBe(256 * 1024);

    const gz = await get("/page.php?kb=256", "gzip");
    expect(gz.get("content-encoding")).toBe("gzip");
    expect(gz.get("vary")).toBe("Accept-Encoding");
    expect(gz.get("content-length")).toBeNull();
    expect(gz.framing).toBe("chunked");
    expect(gz.complete).toBe(true);
    expect(gz.get("etag")).toBe('W/"page-v1"');
    expect(gz.body.length).toBeLessThan(plain.body.length / 4);
    expect(gunzipSync(gz.body)).toEqual(plain.body);

    const br = await get("/page.php?kb=256", "gzip, deflate, br");
    expect(br.get("content-encoding")).toBe("br");
    expect(brotliDecompressSync(br.body)).toEqual(plain.body);
  });

  it.each([
    ["gzip, br", "br"],
    ["br;q=0.5, gzip", "gzip"],
    ["br;q=0, gzip", "gzip"],
    ["gzip;q=0, *", "br"],
    ["*;q=0.1, gzip;q=0", "br"],
    ["deflate", null],
    ["identity", null],
  ])("Accept-Encoding %j → %s (q-values respected; br when they tie)", async (accept, want) => {
    const r = await get("/page.php?kb=4", accept);
    expect(r.get("content-encoding")).toBe(want);
    const body = want === "br" ? brotliDecompressSync(r.body) : want === "gzip" ? gunzipSync(r.body) : r.body;
    expect(body.length).toBe(4 * 1024);
    expect(body.toString()).toContain("row 3 of the edgepass page");
  });

  it("a script written in one piece that compresses to more than a stream buffers (400 KiB of digests): gzip and br decode to it whole", async () => {
    const plain = await get("/script.php");
    expect(plain.status).toBe(200);
    expect(plain.body.length).toBe(400 * 1024);
    for (const coding of ["gzip", "br"]) {
      const z = await get("/script.php", coding);
      expect(z.get("content-encoding"), coding).toBe(coding);
      expect(z.complete, coding).toBe(true);
      // Less than the original, and still far more than 16 KiB.
      expect(z.body.length, coding).toBeGreaterThan(64 * 1024);
      expect(coding === "gzip" ? gunzipSync(z.body) : brotliDecompressSync(z.body), coding).toEqual(plain.body);
    }
  });

  it("a compressed page still streams: what the origin flushed decodes before the origin sends the rest", async () => {
    // The page waits for a file the test writes only once the first part has been decoded.
    writeFileSync(path.join(www, "gate-page.php"), `<?php
header('Content-Type: text/html; charset=utf-8');
echo str_repeat("<p>first part</p>\\n", 64);
flush();
for ($i = 0; $i < 1000 && !file_exists($_GET['release']); $i++) usleep(10000);
echo "<p>second part</p>\\n";
`);
    const release = path.join(serve.dir, "release-gate-page");
    const gunzip = createGunzip();
    let text = "";
    gunzip.on("data", (d: Buffer) => (text += d.toString()));
    const ended = new Promise((r) => gunzip.on("end", r));
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${serve.base}/gate-page.php?release=${encodeURIComponent(release)}`, { headers: { "accept-encoding": "gzip" } }, resolve).on("error", reject),
    );
    expect(res.headers["content-encoding"]).toBe("gzip");
    res.pipe(gunzip);
    for (let i = 0; i < 500 && !text.includes("first part"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(text).toContain("<p>first part</p>");
    expect(text).not.toContain("second part");
    writeFileSync(release, "");
    await ended;
    expect(text).toBe("<p>first part</p>\n".repeat(64) + "<p>second part</p>\n");
  });

  it("a page that arrived whole with its head is compressed in one piece and keeps a length", async () => {
    const plain = await get("/info.php");
    expect(plain.framing).toBe("length");
    expect(plain.body.length).toBeGreaterThan(512);
    const gz = await get("/info.php", "gzip");
    expect(gz.get("content-encoding")).toBe("gzip");
    expect(gz.framing).toBe("length");
    expect(Number(gz.get("content-length"))).toBe(gz.body.length);
    expect(gz.complete).toBe(true);
    expect(JSON.parse(gunzipSync(gz.body).toString()).server.REQUEST_URI).toBe("/info.php");
  });

  it("a body the origin encoded passes untouched, never encoded twice", async () => {
    const r = await get("/gzip.php", "br, gzip");
    expect(r.get("content-encoding")).toBe("gzip");
    expect(gunzipSync(r.body).toString()).toContain("edgepass encodings");
  });

  it("images and binaries are sent as they are, with their length", async () => {
    const png = await get("/img/logo.png", "br, gzip");
    expect(png.get("content-encoding")).toBeNull();
    expect(png.status).toBe(200);
    expect(png.get("content-length")).toBe("70");
    expect(png.get("vary")).toBeNull();
    const bin = await get("/big.php", "br, gzip");
    expect(bin.get("content-encoding")).toBeNull();
    expect(bin.body.length).toBe(4 * 1024 * 1024);
  });

  it("a text file from disk is compressed; its Range (206), its HEAD and a short body are not", async () => {
    const whole = await get("/range.txt");
    const gz = await get("/range.txt", "gzip");
    expect(gz.get("content-encoding")).toBe("gzip");
    expect(gz.get("accept-ranges")).toBeNull();
    expect(gunzipSync(gz.body)).toEqual(whole.body);
    const part = await rawRequest(serve.base, { path: "/range.txt", headers: { "Accept-Encoding": "gzip", Range: "bytes=0-9" } });
    expect(part.status).toBe(206);
    expect(part.get("content-encoding")).toBeNull();
    expect(part.body).toEqual(whole.body.subarray(0, 10));
    const head = await get("/range.txt", "gzip", "HEAD");
    expect(head.get("content-encoding")).toBeNull();
    expect(head.get("content-length")).toBe("10000");
    const short = await get("/length.php", "gzip");
    expect(short.get("content-encoding")).toBeNull();
    expect(short.get("content-length")).toBe("10");
    expect(short.body.toString()).toBe("0123456789");
  });

  it("an origin body shorter than its Content-Length is still a cut connection when compressed", async () => {
    const r = await get("/length.php?declare=5000", "gzip");
    expect(r.get("content-encoding")).toBe("gzip");
    expect(r.framing).toBe("chunked");
    expect(r.complete).toBe(false);
  });
});
