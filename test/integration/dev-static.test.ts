// A whole site through `edgepass dev` on the wire: files from the assets directory (read live,
// so an upload made while it runs is served), try_files to a real php-fpm, deny rules, error
// pages and X-Accel-Redirect, judged on what an HTTP client receives.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor, type Run } from "../helpers/process.js";
import { raw } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let dir: string;
let runs: Run[] = [];
let base: string;
let assetsBase: string;

const siteToml = (phpPort: number, www: string) => `
[gateway]
error_pages = { 404 = "/errors/404.html", 502 = "/errors/50x.html" }

[assets]
directory = "site"
internal = ["/protected/"]

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${phpPort}"]

[[routes]]
match = "^~ /private/"
access = ["deny all"]

[[routes]]
match = "= /old-page"
return = "301 https://$host$request_uri"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"
hide_headers = ["X-Powered-By"]

[[routes]]
match = "^~ /uploads/"
expires = "30d"

[[routes]]
match = "/"
try_files = ["$uri", "$uri/", "/info.php?$args"]
add_headers = { "Strict-Transport-Security" = "max-age=63072000" }
`;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 2 });
  dir = mkdtempSync(path.join(tmpdir(), "edgepass-site-"));
  cpSync(path.join(repoRoot, "test/fixtures/site"), path.join(dir, "site"), { recursive: true });
  writeFileSync(path.join(dir, "site.toml"), siteToml(fpm.port, www));
  const disk = edgepass(["dev", "--config", "site.toml", "--port", "0"], dir);
  const assets = edgepass(["dev", "--config", "site.toml", "--port", "0", "--files", "assets"], dir);
  runs = [disk, assets];
  [, base] = await waitFor(disk, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  [, assetsBase] = await waitFor(assets, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
});

afterAll(async () => {
  for (const r of runs) r.child.kill("SIGTERM");
  await Promise.all(runs.map((r) => r.exit));
  await fpm?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
});

describe.each([
  ["disk (the default)", () => base],
  ["--files assets", () => assetsBase],
])("edgepass dev serving files: %s", (_mode, origin) => {
  it("a stylesheet with its type and length; 304 for its ETag; a range; HEAD", async () => {
    const css = await raw(`${origin()}/css/site.css`);
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.headers["content-length"]).toBe(String(css.body.length));
    expect(css.headers["strict-transport-security"]).toBe("max-age=63072000");
    const etag = css.headers.etag as string;
    expect((await raw(`${origin()}/css/site.css`, { headers: { "if-none-match": etag } })).status).toBe(304);
    const part = await raw(`${origin()}/range.txt`, { headers: { range: "bytes=100-104" } });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe("bytes 100-104/10000");
    expect(part.body.toString()).toBe("0002 ");
    expect((await raw(`${origin()}/range.txt`, { headers: { range: "bytes=10000-" } })).status).toBe(416);
    const head = await raw(`${origin()}/range.txt`, { method: "HEAD" });
    expect(head.headers["content-length"]).toBe("10000");
    expect(head.body.length).toBe(0);
  });

  it("the .gz sibling on the wire, with Content-Encoding and Vary, only to a client that asks", async () => {
    const gz = await raw(`${origin()}/css/site.css`, { headers: { "accept-encoding": "gzip" } });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.headers.vary).toBe("Accept-Encoding");
    expect(gunzipSync(gz.body).toString()).toContain("the uncompressed stylesheet");
    const plain = await raw(`${origin()}/css/site.css`);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toContain("the uncompressed stylesheet");
  });

  it("private paths stay private: dotfiles, PHP source, deny rules, internal paths", async () => {
    for (const p of ["/.env", "/.secrets/token", "/config.php", "/uploads/evil.php"]) {
      const r = await raw(`${origin()}${p}`);
      expect(r.body.toString(), p).not.toMatch(/s3cr3t|uploaded code ran|<\?php/);
    }
    expect((await raw(`${origin()}/private/anything`)).status).toBe(403);
    const internal = await raw(`${origin()}/protected/report.txt`);
    expect(internal.status).toBe(404);
    expect(internal.body.toString()).toContain("custom 404 page");
  });

  it("try_files: a permalink reaches php-fpm with the original REQUEST_URI", async () => {
    const r = await raw(`${origin()}/2026/11/hello/?p=1`);
    const j = JSON.parse(r.body.toString());
    expect(j.server).toMatchObject({ REQUEST_URI: "/2026/11/hello/?p=1", QUERY_STRING: "p=1", SCRIPT_NAME: "/info.php" });
  });

  it("X-Accel-Redirect: the protected file, with the origin's download headers", async () => {
    const r = await raw(`${origin()}/accel.php`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("the protected report\n");
    expect(r.headers["content-disposition"]).toBe('attachment; filename="report.txt"');
    expect(r.headers["x-powered-by"]).toBeUndefined();
  });

  it("return with $host: lower case, no port", async () => {
    const r = await raw(`${origin()}/old-page?x=1`, { headers: { host: "Example.COM:8080" } });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe("https://example.com/old-page?x=1");
  });
});

describe("files from disk", () => {
  it("carry Last-Modified, and If-Modified-Since with it is 304 (Workers Static Assets keep no mtime)", async () => {
    const first = await raw(`${base}/js/app.js`);
    const lm = first.headers["last-modified"] as string;
    expect(new Date(lm).getTime()).toBeGreaterThan(0);
    expect((await raw(`${base}/js/app.js`, { headers: { "if-modified-since": lm } })).status).toBe(304);
    const older = new Date(Date.parse(lm) - 60_000).toUTCString();
    expect((await raw(`${base}/js/app.js`, { headers: { "if-modified-since": older } })).status).toBe(200);
  });
});

describe("files that change while edgepass dev runs", () => {
  it("an upload written after start is served at once (disk), with the route's expires", async () => {
    const name = `late-${Date.now()}.jpg`;
    expect((await raw(`${base}/uploads/${name}`)).status).toBe(404);
    writeFileSync(path.join(dir, "site/uploads", name), "written while running\n");
    const r = await raw(`${base}/uploads/${name}`);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("image/jpeg");
    expect(r.headers["cache-control"]).toBe("max-age=2592000");
    expect(r.body.toString()).toBe("written while running\n");
  });
});
