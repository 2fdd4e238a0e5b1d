// Serving files the way nginx's static module does, against the disk store (the backend of
// `edgepass dev` and the Node host) on test/fixtures/site. The same code serves Workers Static
// Assets and R2 in the Worker (test/workers/static.test.ts runs it there).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { diskStore } from "../../src/adapter/node/disk-store.js";
import { DEFAULT_EXCLUDE, excludeMatcher } from "../../src/edge/exclude.js";
import { acceptedEncodings, serveStatic, type StaticOutcome } from "../../src/edge/static.js";
import { declaredPieces, piecesOf } from "../../src/core/pieces.js";
import { plainRespond } from "../../src/core/respond.js";
import type { FileStore } from "../../src/edge/file-store.js";
import { repoRoot } from "../helpers/process.js";

const dir = path.join(repoRoot, "test/fixtures/site");
const store = diskStore(dir);
const opts = { exclude: excludeMatcher(DEFAULT_EXCLUDE), indexFiles: ["index.php", "index.html"], gzipStatic: true };

async function get(p: string, headers: Record<string, string> = {}, method = "GET", search = ""): Promise<StaticOutcome> {
  const h = new Headers(headers);
  return serveStatic(store, { method, headers: h, path: p, search, acceptEncoding: h.get("accept-encoding") }, opts);
}

async function res(p: string, headers: Record<string, string> = {}, method = "GET", search = ""): Promise<Response> {
  const out = await get(p, headers, method, search);
  if (out.kind !== "response") throw new Error(`expected a response, got ${out.kind}`);
  // As a Response, to read it as a client would.
  return plainRespond(out.response);
}

const range = readFileSync(path.join(dir, "range.txt"));

describe("a file", () => {
  it("has its Content-Type by extension, Content-Length, ETag and Last-Modified", async () => {
    for (const [p, type] of [
      ["/css/site.css", "text/css; charset=utf-8"],
      ["/js/app.js", "text/javascript; charset=utf-8"],
      ["/img/logo.png", "image/png"],
      ["/uploads/photo.jpg", "image/jpeg"],
      ["/range.txt", "text/plain; charset=utf-8"],
    ]) {
      const r = await res(p);
      expect(r.status, p).toBe(200);
      expect(r.headers.get("content-type"), p).toBe(type);
      const bytes = new Uint8Array(await r.arrayBuffer());
      expect(Buffer.compare(bytes, readFileSync(path.join(dir, p))), p).toBe(0);
      expect(r.headers.get("content-length")).toBe(String(bytes.length));
      expect(r.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
      expect(new Date(r.headers.get("last-modified")!).getTime()).toBeGreaterThan(0);
      expect(r.headers.get("accept-ranges")).toBe("bytes");
    }
  });

  it("HEAD: the same head, Content-Length included, and no body", async () => {
    const r = await res("/range.txt", {}, "HEAD");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).toBe("10000");
    expect(r.body).toBeNull();
  });

  it("POST is 405 with Allow", async () => {
    const r = await res("/range.txt", {}, "POST");
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("a file read whole", () => {
  it("is the body at hand, its length declared; one cut since its size was read is a body that fails", async () => {
    const whole = await get("/range.txt");
    if (whole.kind !== "response") throw new Error(whole.kind);
    expect(whole.response.body).toBeInstanceOf(Uint8Array);
    expect(whole.response.length).toBe(10_000);
    // A store whose file lost bytes between open() and read(): the answer keeps the length
    // it declared, and its body rejects where the bytes run out (the hosts cut the connection).
    const short: FileStore = {
      async open() {
        return { size: 10, read: async () => new Uint8Array(4), discard: () => {} };
      },
    };
    const cut = await serveStatic(short, { method: "GET", headers: new Headers(), path: "/x.txt", search: "", acceptEncoding: null }, opts);
    if (cut.kind !== "response") throw new Error(cut.kind);
    expect(cut.response.length).toBe(10);
    expect(cut.response.body).not.toBeInstanceOf(Uint8Array);
    const pieces = declaredPieces(piecesOf(cut.response.body as ReadableStream<Uint8Array>), 10);
    expect((await pieces.next())?.[0].byteLength).toBe(4);
    await expect(pieces.next()).rejects.toThrow();
  });
});

describe("conditional requests", () => {
  it("If-None-Match with the ETag (alone, in a list, or weak) is 304 without a body", async () => {
    const etag = (await res("/range.txt")).headers.get("etag")!;
    for (const inm of [etag, `"other", ${etag}`, `W/${etag}`, "*"]) {
      const r = await res("/range.txt", { "if-none-match": inm });
      expect(r.status, inm).toBe(304);
      expect(r.headers.get("etag")).toBe(etag);
      expect(r.body).toBeNull();
    }
    expect((await res("/range.txt", { "if-none-match": '"other"' })).status).toBe(200);
  });

  it("If-Modified-Since at or after Last-Modified is 304; before it, 200; If-None-Match wins", async () => {
    const lm = (await res("/range.txt")).headers.get("last-modified")!;
    expect((await res("/range.txt", { "if-modified-since": lm })).status).toBe(304);
    expect((await res("/range.txt", { "if-modified-since": new Date(Date.parse(lm) - 1000).toUTCString() })).status).toBe(200);
    expect((await res("/range.txt", { "if-modified-since": lm, "if-none-match": '"other"' })).status).toBe(200);
  });

  it("If-Match that fails is 412", async () => {
    expect((await res("/range.txt", { "if-match": '"other"' })).status).toBe(412);
  });
});

describe("ranges", () => {
  it("one range is 206 with Content-Range and exactly those bytes", async () => {
    for (const [h, start, end] of [
      ["bytes=0-49", 0, 49],
      ["bytes=9990-", 9990, 9999],
      ["bytes=-10", 9990, 9999],
      ["bytes=9995-20000", 9995, 9999],
    ] as const) {
      const r = await res("/range.txt", { range: h });
      expect(r.status, h).toBe(206);
      expect(r.headers.get("content-range")).toBe(`bytes ${start}-${end}/10000`);
      expect(r.headers.get("content-length")).toBe(String(end - start + 1));
      expect(Buffer.from(await r.arrayBuffer()).toString()).toBe(range.subarray(start, end + 1).toString());
    }
  });

  it("a range past the end is 416 with bytes */size", async () => {
    const r = await res("/range.txt", { range: "bytes=10000-" });
    expect(r.status).toBe(416);
    expect(r.headers.get("content-range")).toBe("bytes */10000");
  });

  it("several ranges, another unit, or a stale If-Range get the whole file", async () => {
    const cases: Array<Record<string, string>> = [{ range: "bytes=0-1,5-6" }, { range: "items=0-1" }, { range: "bytes=0-1", "if-range": '"stale"' }];
    for (const h of cases) {
      const r = await res("/range.txt", h);
      expect(r.status, JSON.stringify(h)).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBe(10000);
    }
    const etag = (await res("/range.txt")).headers.get("etag")!;
    expect((await res("/range.txt", { range: "bytes=0-1", "if-range": etag })).status).toBe(206);
  });
});

describe("directories and index files", () => {
  it("/docs is 301 to /docs/ with the query kept", async () => {
    const r = await res("/docs", {}, "GET", "?a=1");
    expect(r.status).toBe(301);
    expect(r.headers.get("location")).toBe("/docs/?a=1");
  });

  it("a directory named in another script, or with a space, redirects to its percent-encoded path", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "edgepass-static-names-"));
    try {
      mkdirSync(path.join(root, "日本 docs"));
      writeFileSync(path.join(root, "日本 docs", "index.html"), "<p>index</p>");
      const out = await serveStatic(diskStore(root), { method: "GET", headers: new Headers(), path: "/日本 docs", search: "?a=1", acceptEncoding: null }, opts);
      if (out.kind !== "response") throw new Error(out.kind);
      expect(out.response.status).toBe(301);
      expect(out.response.headers.get("location")).toBe("/%E6%97%A5%E6%9C%AC%20docs/?a=1");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("/docs/ serves its index.html", async () => {
    const r = await res("/docs/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await r.text()).toContain("docs index");
  });

  it("an index the exclude list keeps private (index.php) is routed again, not served", async () => {
    expect(await get("/wp-admin/")).toEqual({ kind: "reroute", path: "/wp-admin/index.php" });
  });

  it("a directory with no index file is forbidden; a missing one is missing", async () => {
    expect((await get("/nodir/")).kind).toBe("forbidden");
    expect((await get("/nothing/")).kind).toBe("missing");
    expect((await get("/nothing.css")).kind).toBe("missing");
  });
});

describe("never served as files by default: dotfiles and the app's source", () => {
  it.each(["/.env", "/.secrets/token", "/config.php", "/uploads/evil.php", "/wp-admin/index.php"])("%s", async (p) => {
    expect((await get(p)).kind).toBe("missing");
  });

  it("exclude, when set, replaces the list: globs match each path segment", () => {
    const m = excludeMatcher(["*.inc", "private"]);
    expect(m("/a/b.inc")).toBe(true);
    expect(m("/private/x.txt")).toBe(true);
    expect(m("/a/private")).toBe(true);
    expect(m("/.env")).toBe(false);
    expect(m("/x.php")).toBe(false);
    expect(m("/privately/x")).toBe(false);
    // case-insensitive filesystems open config.php for /CONFIG.PHP
    expect(excludeMatcher(DEFAULT_EXCLUDE)("/CONFIG.PHP")).toBe(true);
  });
});

describe("precompressed siblings (gzip_static)", () => {
  const original = readFileSync(path.join(dir, "css/site.css"));

  it("br when the client takes it, with the original's type and Vary: Accept-Encoding", async () => {
    const r = await res("/css/site.css", { "accept-encoding": "gzip, deflate, br" });
    expect(r.headers.get("content-encoding")).toBe("br");
    expect(r.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(r.headers.get("vary")).toBe("Accept-Encoding");
    // Sent as it is: no host encodes it again.
    const out = await get("/css/site.css", { "accept-encoding": "br" });
    expect(out.kind === "response" && out.response.encoded).toBe(true);
    expect(Buffer.compare(brotliDecompressSync(Buffer.from(await r.arrayBuffer())), original)).toBe(0);
  });

  it("gzip when br is refused or not offered", async () => {
    for (const ae of ["gzip", "br;q=0, gzip", "*;q=1, br;q=0"]) {
      const r = await res("/css/site.css", { "accept-encoding": ae });
      expect(r.headers.get("content-encoding"), ae).toBe("gzip");
      expect(Buffer.compare(gunzipSync(Buffer.from(await r.arrayBuffer())), original)).toBe(0);
    }
  });

  it("the file itself when the client takes neither, or asks for a range", async () => {
    const cases: Array<Record<string, string>> = [{}, { "accept-encoding": "identity" }, { "accept-encoding": "gzip;q=0" }, { "accept-encoding": "gzip", range: "bytes=0-3" }];
    for (const h of cases) {
      const r = await res("/css/site.css", h);
      expect(r.headers.get("content-encoding"), JSON.stringify(h)).toBeNull();
    }
  });

  it("Accept-Encoding parsing", () => {
    expect([...acceptedEncodings("gzip;q=0.5, br")].sort()).toEqual(["br", "gzip"]);
    expect([...acceptedEncodings("br;q=0")]).toEqual([]);
    expect([...acceptedEncodings(null)]).toEqual([]);
  });
});
