// Pages the app compresses itself, through `edgepass dev` on the wire: the encoded body
// passes byte for byte with its Content-Encoding and Content-Length when the client accepts
// it, is decoded when the client does not (nginx's `gunzip on`), and the origin sees the
// client's own Accept-Encoding (workerd rewrites the header to "br, gzip" for the Worker).
// Real php-fpm (ob_gzhandler), gunicorn and uWSGI apps; FastCGI and HTTP both pooled and
// direct; a scripted origin for the coding nothing here can decode (br sent regardless).
import { brotliCompressSync, gunzipSync, inflateSync } from "node:zlib";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, type Dev } from "../helpers/process.js";
import { rawRequest, type WireResponse } from "../helpers/raw-http.js";
import { scriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";
import { appsCopy } from "../helpers/servers/apps.js";
import { startGunicorn } from "../helpers/servers/gunicorn.js";
import type { Server } from "../helpers/servers/launch.js";
import { startUwsgi } from "../helpers/servers/uwsgi.js";

const TEXT = "edgepass encodings ".repeat(400) + "\n";
const BR_BODY = brotliCompressSync(Buffer.from(TEXT));

let fpm: PhpFpm;
let gunicorn: Server;
let uwsgi: Server;
let rogue: ScriptedServer;
let www: string;
let apps: string;
let dev: Dev;
let base: string;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  mkdirSync(path.join(www, "direct"), { mode: 0o755 });
  copyFileSync(path.join(www, "gzip.php"), path.join(www, "direct/gzip.php"));
  apps = appsCopy();
  const wsgi = path.join(apps, "wsgi/encoded.py");
  [fpm, gunicorn, uwsgi] = await Promise.all([
    startPhpFpm({ maxChildren: 3 }),
    startGunicorn({ wsgiFile: wsgi }),
    startUwsgi({ socket: "uwsgi", wsgiFile: wsgi }),
  ]);
  // Sends br to every client, as a misconfigured origin serving precompressed files does.
  rogue = await scriptedServer((sock) => {
    sock.once("data", () => {
      sock.end(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: br\r\nContent-Length: ${BR_BODY.length}\r\nConnection: close\r\n\r\n`),
          BR_BODY,
        ]),
      );
    });
  });
  const fcgi = `protocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\nmax_connections = 3`;
  dev = await startDev(
    `[upstreams.php]
${fcgi}

[upstreams.php_direct]
${fcgi.replace("\nmax_connections = 3", "")}
pool = "direct"

[upstreams.gunicorn]
protocol = "http"
servers = ["127.0.0.1:${gunicorn.port}"]

[upstreams.gunicorn_direct]
protocol = "http"
servers = ["127.0.0.1:${gunicorn.port}"]
pool = "direct"

[upstreams.uwsgi]
protocol = "uwsgi"
servers = ["127.0.0.1:${uwsgi.port}"]

[upstreams.rogue]
protocol = "http"
servers = ["127.0.0.1:${rogue.port}"]
pool = "direct"

[[routes]]
match = "^~ /direct/"
upstream = "php_direct"
root = "${www}"

[[routes]]
match = "~ \\\\.php$"
upstream = "php"
root = "${www}"

[[routes]]
match = "/gunicorn/"
upstream = "gunicorn"

[[routes]]
match = "/gunicorn-direct/"
upstream = "gunicorn_direct"

[[routes]]
match = "/uwsgi/"
upstream = "uwsgi"

[[routes]]
match = "/rogue/"
upstream = "rogue"
`,
  );
  base = dev.base;
});

afterAll(async () => {
  await dev?.stop();
  await Promise.all([fpm?.stop(), gunicorn?.stop(), uwsgi?.stop(), rogue?.close()]);
  for (const d of [www, apps]) if (d) rmSync(d, { recursive: true, force: true });
});

const get = (p: string, acceptEncoding?: string) =>
  rawRequest(base, { path: p, headers: acceptEncoding === undefined ? {} : { "Accept-Encoding": acceptEncoding } });

/** The body a client reads after undoing the one coding the head names. */
function decoded(res: WireResponse): string {
  const ce = res.get("content-encoding");
  if (ce === null) return res.body.toString();
  if (ce === "gzip") return gunzipSync(res.body).toString();
  if (ce === "deflate") return inflateSync(res.body).toString();
  throw new Error(`unexpected coding ${ce}`);
}

// Every page the app compresses, on every path to it. ob_gzhandler sends no Content-Length
// (the Python apps declare one), but a page that arrives whole with its head goes out with its
// length all the same: the client can tell a cut page from a whole one either way. (Whole
// means within the first socket read, which workerd ends at 4 KiB: the compressed page is
// well under that, the plain one, about 7.6 KiB, is not, and streams.)
const PAGES: Array<[string, string]> = [
  ["php-fpm, FastCGI pooled", "/gzip.php"],
  ["php-fpm, FastCGI direct", "/direct/gzip.php"],
  ["gunicorn, HTTP pooled", "/gunicorn/page"],
  ["gunicorn, HTTP direct", "/gunicorn-direct/page"],
  ["uWSGI, uwsgi protocol", "/uwsgi/page"],
];

describe.each(PAGES)("%s", (_name, p) => {
  it("gzip accepted: one layer of gzip with its length, and the app saw the client's value", async () => {
    const res = await get(p, "gzip");
    expect(res.status).toBe(200);
    expect(res.get("content-encoding")).toBe("gzip");
    expect(res.framing).toBe("length");
    expect(res.complete).toBe(true);
    expect(Number(res.get("content-length"))).toBe(res.body.length);
    // Decoding once gives the page; a second layer would not start with the text.
    expect(decoded(res)).toBe(TEXT + "accept-encoding=gzip\n");
  });

  it("a browser's Accept-Encoding reaches the app unchanged", async () => {
    const res = await get(p, "gzip, deflate, br, zstd");
    expect(res.status).toBe(200);
    expect(decoded(res).endsWith("accept-encoding=gzip, deflate, br, zstd\n")).toBe(true);
  });

  it.each([["identity"], [undefined]])("Accept-Encoding %s: the plain page, never raw gzip", async (ae) => {
    const res = await get(p, ae);
    expect(res.status).toBe(200);
    expect(res.get("content-encoding")).toBeNull();
    expect(res.body.toString()).toBe(TEXT + `accept-encoding=${ae ?? "-"}\n`);
  });

  it("the app sees no Accept-Encoding when the client sent none", async () => {
    const res = await get(p);
    expect(res.body.toString().endsWith("accept-encoding=-\n")).toBe(true);
  });
});

describe("a page the app compresses as it streams (flushed every 16 KiB, no length)", () => {
  const KIB = 512;
  const extra = Array.from({ length: KIB }, (_, i) => createHash("md5").update(`k${i}`).digest("hex").repeat(32)).join("");
  it.each([
    ["FastCGI pooled", "/gzip.php"],
    ["FastCGI direct", "/direct/gzip.php"],
  ])("%s: one layer of gzip, chunked, complete, and it decodes to the page", async (_name, p) => {
    const res = await get(`${p}?kib=${KIB}`, "gzip");
    expect(res.status).toBe(200);
    expect(res.get("content-encoding")).toBe("gzip");
    expect(res.framing).toBe("chunked");
    expect(res.complete).toBe(true);
    expect(decoded(res)).toBe(TEXT + extra + "accept-encoding=gzip\n");
  });
});

describe("deflate", () => {
  it("php's ob_gzhandler answers deflate to a deflate-only client, passed through", async () => {
    const res = await get("/gzip.php", "deflate");
    expect(res.get("content-encoding")).toBe("deflate");
    expect(res.complete).toBe(true);
    expect(inflateSync(res.body).toString()).toBe(TEXT + "accept-encoding=deflate\n");
  });

  it.each([["/gunicorn/always-deflate"], ["/uwsgi/always-deflate"]])("%s to a client that accepts none is decoded", async (p) => {
    const res = await get(p, "identity");
    expect(res.get("content-encoding")).toBeNull();
    expect(res.body.toString()).toBe(TEXT + "accept-encoding=identity\n");
  });
});

describe("an app that compresses whatever the client said", () => {
  it.each([["/gunicorn/always-gzip"], ["/gunicorn-direct/always-gzip"], ["/uwsgi/always-gzip"]])("%s to a client without gzip: decoded, its strong ETag made weak", async (p) => {
    const res = await get(p, "identity");
    expect(res.status).toBe(200);
    expect(res.get("content-encoding")).toBeNull();
    expect(res.body.toString()).toBe(TEXT + "accept-encoding=identity\n");
    expect(res.get("etag")).toBe('W/"v1"');
  });

  it("the same page to a client that accepts gzip keeps its strong ETag", async () => {
    const res = await get("/gunicorn/always-gzip", "gzip");
    expect(res.get("content-encoding")).toBe("gzip");
    expect(res.get("etag")).toBe('"v1"');
  });

  it("br, which the gateway cannot decode, keeps its Content-Encoding: never raw bytes without the header", async () => {
    const res = await get("/rogue/", "identity");
    expect(res.status).toBe(200);
    // Either decoded by the platform, or passed with the header; never br bytes unlabelled.
    if (res.get("content-encoding") === null) expect(res.body.toString()).toBe(TEXT);
    else expect(res.get("content-encoding")).toBe("br"), expect(Buffer.compare(res.body, BR_BODY)).toBe(0);
  });

  it("br to a client that accepts it passes byte for byte with its length", async () => {
    const res = await get("/rogue/", "br");
    expect(res.get("content-encoding")).toBe("br");
    expect(res.framing).toBe("length");
    expect(Buffer.compare(res.body, BR_BODY)).toBe(0);
  });
});
