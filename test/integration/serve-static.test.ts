// Static files from disk through `edgepass serve`, judged on the wire with a raw socket: the
// same [assets] semantics as the Worker's (src/edge/static.ts) over the disk store, each file
// streamed from disk with its length declared, and nothing outside the directory or on the
// exclude list ever served. A real php-fpm behind try_files and X-Accel-Redirect.
import { createHash } from "node:crypto";
import { closeSync, cpSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";
import { parseWireAll, rawExchange, rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let serve: Dev;
const BIG = 48 * 1024 * 1024;
const bigBytes = () => {
  const b = Buffer.alloc(BIG);
  for (let i = 0; i < BIG; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
};
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 2 });
  // The config a new user writes: [assets] with its defaults, PHP for .php, try_files for the rest.
  serve = await startServe(`
[gateway]
error_pages = { 404 = "/errors/404.html" }

[assets]
directory = "site"
internal = ["/protected/"]

${phpSite(fpm.port, www)}
[[routes]]
match = "/"
try_files = ["$uri", "$uri/", "/info.php?$args"]
`);
  cpSync(path.join(repoRoot, "test/fixtures/site"), path.join(serve.dir, "site"), { recursive: true });
  writeFileSync(path.join(serve.dir, "site/big.bin"), bigBytes());
});

afterAll(async () => {
  await serve?.stop();
  await fpm?.stop();
  if (www) rmSync(www, { recursive: true, force: true });
});

const site = (p: string) => readFileSync(path.join(serve.dir, "site", p));

describe("edgepass serve: static files from disk", () => {

  it(`a ${BIG / 1024 / 1024} MiB file streams whole with its Content-Length`, async () => {
    const r = await rawRequest(serve.base, { path: "/big.bin", timeoutMs: 60_000 });
    expect(r.status).toBe(200);
    expect(r.framing).toBe("length");
    expect(r.get("content-length")).toBe(String(BIG));
    expect(r.get("content-type")).toBe("application/octet-stream");
    expect(r.get("accept-ranges")).toBe("bytes");
    expect(r.complete).toBe(true);
    expect(sha(r.body)).toBe(sha(bigBytes()));
  });

  it("a 5 GiB file (sparse) starts at once with its length: streamed from disk, never held whole", async () => {
    // More than a Node Buffer can hold: only a streamed answer can begin.
    const HUGE = 5 * 1024 ** 3;
    closeSync(openSync(path.join(serve.dir, "site/huge.iso"), "w"));
    truncateSync(path.join(serve.dir, "site/huge.iso"), HUGE);
    const u = new URL(serve.base);
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    const got = new Promise<void>((resolve) => {
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf("\r\n\r\n");
        if (end >= 0 && buf.length >= end + 4 + 1024 * 1024) resolve();
      });
    });
    sock.write(`GET /huge.iso HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000));
    expect(await Promise.race([got, timeout])).not.toBe("timeout");
    sock.destroy();
    const end = buf.indexOf("\r\n\r\n");
    expect(buf.subarray(0, end).toString("latin1")).toContain(`content-length: ${HUGE}`);
    expect(buf.subarray(end + 4, end + 4 + 1024 * 1024).every((b) => b === 0)).toBe(true);
    const tail = await rawRequest(serve.base, { path: "/huge.iso", headers: { Range: `bytes=${HUGE - 3}-` } });
    expect(tail.status).toBe(206);
    expect(tail.get("content-range")).toBe(`bytes ${HUGE - 3}-${HUGE - 1}/${HUGE}`);
    expect(tail.body).toEqual(Buffer.alloc(3));
  });

  it("Range → 206 with Content-Range and exactly those bytes; past the end → 416", async () => {
    const r = await rawRequest(serve.base, { path: "/range.txt", headers: { Range: "bytes=100-104" } });
    expect(r.status).toBe(206);
    expect(r.get("content-range")).toBe(`bytes 100-104/${site("range.txt").length}`);
    expect(r.get("content-length")).toBe("5");
    expect(r.body).toEqual(site("range.txt").subarray(100, 105));
    const big = await rawRequest(serve.base, { path: "/big.bin", headers: { Range: `bytes=${BIG - 10}-` } });
    expect(big.status).toBe(206);
    expect(big.body).toEqual(bigBytes().subarray(BIG - 10));
    expect((await rawRequest(serve.base, { path: "/range.txt", headers: { Range: "bytes=999999-" } })).status).toBe(416);
  });

  it("ranges at hand and ranges streamed across the 64 KiB pieces a file is read in are exact", async () => {
    const all = bigBytes();
    for (const [from, to] of [[131_066, 131_081], [131_072, 131_072], [1, 400_000], [262_143, 524_288]]) {
      const r = await rawRequest(serve.base, { path: "/big.bin", headers: { Range: `bytes=${from}-${to}` }, timeoutMs: 20_000 });
      expect([r.status, r.get("content-length")], `${from}-${to}`).toEqual([206, String(to - from + 1)]);
      expect(r.body.equals(all.subarray(from, to + 1)), `${from}-${to}`).toBe(true);
    }
  });

  it("a client that leaves mid-file leaves no file open behind it", async () => {
    const pid = serve.run.child.pid!;
    const bigOpen = () => readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith("/big.bin");
      } catch {
        return false;
      }
    }).length;
    const u = new URL(serve.base);
    await Promise.all(
      Array.from({ length: 8 }, () =>
        new Promise<void>((resolve) => {
          const sock = net.connect(Number(u.port), u.hostname, () => sock.write(`GET /big.bin HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`));
          let got = 0;
          sock.on("data", (d) => {
            got += d.length;
            if (got > 1024 * 1024) sock.destroy();
          });
          sock.on("close", () => resolve());
        }),
      ),
    );
    const deadline = Date.now() + 5000;
    while (bigOpen() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(bigOpen()).toBe(0);
  });

  it("a file cut short while it is sent ends the connection short of its Content-Length", async () => {
    const file = path.join(serve.dir, "site/shrinks.bin");
    writeFileSync(file, Buffer.alloc(8 * 1024 * 1024, 0x61));
    const u = new URL(serve.base);
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    let cut = false;
    const closed = new Promise<void>((resolve) => {
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (!cut && buf.length > 256 * 1024) {
          cut = true;
          truncateSync(file, 512 * 1024);
        }
      });
      sock.on("close", () => resolve());
    });
    sock.write(`GET /shrinks.bin HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
    await closed;
    const end = buf.indexOf("\r\n\r\n");
    expect(buf.subarray(0, end).toString("latin1")).toContain(`content-length: ${8 * 1024 * 1024}`);
    const body = buf.subarray(end + 4);
    expect(body.length).toBeLessThan(8 * 1024 * 1024);
    // Only the file's bytes: nothing made up for the part that is gone.
    expect(body.every((b) => b === 0x61)).toBe(true);
  });

  it("small files, a 405 and an error page on one kept connection: each framed by its Content-Length, byte for byte", async () => {
    const host = new URL(serve.base).host;
    const req = (method: string, p: string) => `${method} ${p} HTTP/1.1\r\nHost: ${host}\r\n${method === "POST" ? "Content-Length: 0\r\n" : ""}\r\n`;
    const sent: Array<[string, string]> = [["GET", "/css/site.css"], ["GET", "/range.txt"], ["POST", "/range.txt"], ["GET", "/protected/report.txt"], ["GET", "/js/app.js"]];
    const { raw } = await rawExchange(serve.base, sent.map(([m, p]) => req(m, p)).join(""), 10_000, { halfClose: true });
    const [css, range, post, missing, js] = parseWireAll(raw, sent.map(([m]) => m));
    for (const [r, file] of [[css, "css/site.css"], [range, "range.txt"], [js, "js/app.js"]] as const) {
      expect(r.status, file).toBe(200);
      expect(r.framing, file).toBe("length");
      expect(r.get("content-length"), file).toBe(String(site(file).length));
      expect(r.body, file).toEqual(site(file));
    }
    expect(post.status).toBe(405);
    expect(post.get("allow")).toBe("GET, HEAD");
    expect(post.get("content-length")).toBe(String(post.body.length));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual(site("errors/404.html"));
    expect(missing.get("content-length")).toBe(String(site("errors/404.html").length));
  });

  it("ETag → 304 (If-None-Match), Last-Modified → 304 (If-Modified-Since), HEAD keeps the length", async () => {
    const first = await rawRequest(serve.base, { path: "/js/app.js" });
    expect(first.status).toBe(200);
    expect(first.get("content-type")).toMatch(/javascript/);
    const etag = first.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const inm = await rawRequest(serve.base, { path: "/js/app.js", headers: { "If-None-Match": etag } });
    expect(inm.status).toBe(304);
    expect(inm.raw.length).toBe(inm.raw.indexOf("\r\n\r\n") + 4);
    const ims = await rawRequest(serve.base, { path: "/js/app.js", headers: { "If-Modified-Since": first.get("last-modified")! } });
    expect(ims.status).toBe(304);
    const head = await rawRequest(serve.base, { method: "HEAD", path: "/big.bin" });
    expect(head.status).toBe(200);
    expect(head.get("content-length")).toBe(String(BIG));
    expect(head.raw.length).toBe(head.raw.indexOf("\r\n\r\n") + 4);
  });

  it("the .gz sibling to a client that takes gzip, its bytes as they are; the file itself to one that does not", async () => {
    const gz = await rawRequest(serve.base, { path: "/css/site.css", headers: { "Accept-Encoding": "gzip" } });
    expect(gz.status).toBe(200);
    expect(gz.get("content-encoding")).toBe("gzip");
    expect(gz.get("vary")).toBe("Accept-Encoding");
    expect(gz.get("content-length")).toBe(String(site("css/site.css.gz").length));
    expect(gz.body).toEqual(site("css/site.css.gz"));
    expect(gunzipSync(gz.body)).toEqual(site("css/site.css"));
    const br = await rawRequest(serve.base, { path: "/css/site.css", headers: { "Accept-Encoding": "br, gzip" } });
    expect(br.get("content-encoding")).toBe("br");
    expect(br.body).toEqual(site("css/site.css.br"));
    const plain = await rawRequest(serve.base, { path: "/css/site.css" });
    expect(plain.get("content-encoding")).toBeNull();
    expect(plain.body).toEqual(site("css/site.css"));
  });

  it("a path out of the directory never leaves it, however it is spelled; the config next to it stays unread", async () => {
    const toml = readFileSync(path.join(serve.dir, "site.toml"));
    for (const target of ["/../site.toml", "/css/../../site.toml", "/%2e%2e/site.toml", "/css/..%2f..%2fsite.toml", "/css/%2e%2e%2f%2e%2e%2fsite.toml", "/..%5csite.toml"]) {
      const { raw } = await rawExchange(serve.base, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      // Refused (400), or clamped at the root as a URI ("/site.toml", not in the directory, so
      // try_files hands it to the app): never the file beside the directory.
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw.toString("latin1"))?.[1]);
      expect([200, 400, 404], target).toContain(status);
      if (status === 200) expect(raw.toString("latin1"), target).toMatch(/"SCRIPT_NAME":"\\?\/info\.php"/);
      expect(raw.includes(toml), target).toBe(false);
      expect(raw.toString("latin1"), target).not.toContain("[upstreams.php]");
    }
  });

  it("PHP source and dotfiles are never served as files; a .php runs in php-fpm instead", async () => {
    for (const p of ["/config.php", "/uploads/evil.php", "/.env", "/.secrets/token"]) {
      const r = await rawRequest(serve.base, { path: p });
      expect(r.body.toString(), p).not.toMatch(/s3cr3t|<\?php/);
    }
    const src = site("config.php");
    const r = await rawRequest(serve.base, { path: "/config.php" });
    expect(r.body.includes(src)).toBe(false);
    // The internal path only through X-Accel-Redirect, the error page otherwise.
    const internal = await rawRequest(serve.base, { path: "/protected/report.txt" });
    expect(internal.status).toBe(404);
    expect(internal.body.toString()).toContain("custom 404 page");
    const accel = await rawRequest(serve.base, { path: "/accel.php" });
    expect(accel.status).toBe(200);
    expect(accel.get("content-length")).toBe(String(site("protected/report.txt").length));
    expect(accel.body).toEqual(site("protected/report.txt"));
  });

  it("try_files: a directory serves its index, a permalink reaches php-fpm", async () => {
    for (const p of ["/docs/", "/docs"]) {
      const idx = await rawRequest(serve.base, { path: p });
      expect(idx.status, p).toBe(200);
      expect(idx.body, p).toEqual(site("docs/index.html"));
    }
    const perm = await rawRequest(serve.base, { path: "/2026/11/hello/?p=1" });
    expect(JSON.parse(perm.body.toString()).server).toMatchObject({ REQUEST_URI: "/2026/11/hello/?p=1", SCRIPT_NAME: "/info.php" });
  });
});

describe("edgepass serve: a directory asked for without its slash (a route that serves files)", () => {
  it("named outside Latin-1 and with a space: 301 to it with the slash, percent-encoded, and the page there", async () => {
    const files = await startServe(`[assets]\ndirectory = "site"\n\n[[routes]]\nmatch = "/"\n`);
    try {
      mkdirSync(path.join(files.dir, "site/café docs"), { recursive: true });
      writeFileSync(path.join(files.dir, "site/café docs/index.html"), "<p>docs</p>\n");
      const r = await rawRequest(files.base, { path: "/caf%C3%A9%20docs?x=1" });
      expect(r.status).toBe(301);
      expect(r.get("location")).toBe("/caf%C3%A9%20docs/?x=1");
      const page = await rawRequest(files.base, { path: r.get("location")! });
      expect(page.status).toBe(200);
      expect(page.body.toString()).toBe("<p>docs</p>\n");
    } finally {
      await files.stop();
    }
  });
});
