// The gateway inside workerd with the Worker's own file stores: Workers Static Assets (the
// ASSETS binding over test/fixtures/site) and an R2 bucket (miniflare's), in front of a real
// php-fpm for try_files fallbacks, X-Accel-Redirect, X-Sendfile and intercepted errors.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { harness } from "./gateway-harness.js";
import type { GatewayEnv } from "../../src/adapter/cloudflare/handler.js";
import { setCookies } from "../helpers/headers.js";

const port = inject("phpPort");
const root = inject("phpRoot");
const deadPort = inject("deadPort");
const siteDir = inject("siteDir");
const bindings = env as unknown as GatewayEnv & { UPLOADS: R2Bucket };

const config = (extra = "") => `
[gateway]
error_pages = { 404 = "/errors/404.html", 502 = "/errors/50x.html" }

[assets]
directory = "${siteDir}"
internal = ["/protected/"]
r2 = "UPLOADS"

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${port}"]
pool = "direct"

[upstreams.dead]
protocol = "fastcgi"
servers = ["127.0.0.1:${deadPort}"]
pool = "direct"
connect_timeout = "2s"

[[routes]]
match = "^~ /dead/"
upstream = "dead"
root = "${root}"

[[routes]]
match = "= /fail.php"
upstream = "php"
root = "${root}"
intercept_errors = true
hide_headers = ["X-Powered-By"]

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${root}"
hide_headers = ["X-Powered-By"]
add_headers = { "Strict-Transport-Security" = "max-age=63072000" }
params = { SERVER_SOFTWARE = "nginx/1.22.1 (edgepass)" }

[[routes]]
match = "^~ /uploads/"
expires = "30d"

[[routes]]
match = "^~ /docs"

[[routes]]
match = "^~ /uploads/private/"
access = ["deny all"]

[[routes]]
match = "= /moved"
return = "301 https://$host$request_uri"

[[routes]]
match = "/"
try_files = ["$uri", "$uri/", "/info.php?$args"]
${extra}
`;

const gw = harness(config(), bindings);

beforeAll(async () => {
  await bindings.UPLOADS.put("uploads/2026/11/new-photo.jpg", "bytes uploaded at run time\n", { httpMetadata: { contentType: "image/jpeg" } });
  await bindings.UPLOADS.put("private/invoice.pdf", "%PDF invoice from R2\n", { httpMetadata: { contentType: "application/pdf" } });
});

describe("files from Workers Static Assets", () => {
  it("a stylesheet: type, length, the platform's ETag, 304 on If-None-Match", async () => {
    const res = await gw.fetch("/css/site.css");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await res.text()).toContain("the uncompressed stylesheet");
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const again = await gw.fetch("/css/site.css", { headers: { "if-none-match": `"x", ${etag}` } });
    expect(again.status).toBe(304);
  });

  it("one range is 206 with those bytes, past the end is 416", async () => {
    const res = await gw.fetch("/range.txt", { headers: { range: "bytes=50-59" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe("bytes 50-59/10000");
    expect(await res.text()).toBe("0001 abcde");
    expect((await gw.fetch("/range.txt", { headers: { range: "bytes=20000-" } })).status).toBe(416);
  });

  it("HEAD has the length and no body", async () => {
    const res = await gw.fetch("/range.txt", { method: "HEAD" });
    expect(res.headers.get("content-length")).toBe("10000");
    expect(res.body).toBeNull();
  });

  it("a directory is recognized by its index: /docs → 301 /docs/, which serves index.html", async () => {
    const res = await gw.fetch("/docs", { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/docs/");
    expect(await (await gw.fetch("/docs/")).text()).toContain("docs index");
  });

  it("try_files $uri/ serves a directory's index; a directory without one goes on to the front controller", async () => {
    expect(await (await gw.fetch("/")).text()).toContain("<h1>home</h1>");
    const j: any = await (await gw.fetch("/js/")).json();
    expect(j.server.REQUEST_URI).toBe("/js/");
  });

  it("the .gz sibling goes to a client that accepts gzip only (the client's own Accept-Encoding)", async () => {
    const gz = await gw.fetch("/css/site.css", { headers: { "accept-encoding": "gzip" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("vary")).toBe("Accept-Encoding");
    const plain = await gw.fetch("/css/site.css", { headers: { "accept-encoding": "" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
  });

  it("dotfiles and PHP source are never served: the front controller gets the request", async () => {
    for (const p of ["/.env", "/config.php.bak/../config.php", "/.secrets/token"]) {
      const res = await gw.fetch(p);
      const text = await res.text();
      expect(text, p).not.toContain("s3cr3t");
    }
  });
});

describe("try_files in front of php-fpm", () => {
  it("a pretty permalink reaches the front controller with the original REQUEST_URI and its query", async () => {
    const res = await gw.fetch("/2026/11/hello-world/?utm=x");
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j.server).toMatchObject({ REQUEST_URI: "/2026/11/hello-world/?utm=x", QUERY_STRING: "utm=x", SCRIPT_NAME: "/info.php", DOCUMENT_URI: "/info.php" });
  });

  it("params set SERVER_SOFTWARE (WordPress's pretty permalinks)", async () => {
    const j: any = await (await gw.fetch("/info.php")).json();
    expect(j.server.SERVER_SOFTWARE).toBe("nginx/1.22.1 (edgepass)");
  });
});

describe("files added at run time, from R2", () => {
  it("an upload in the bucket is served with its type, ETag, Last-Modified and the route's expires", async () => {
    const res = await gw.fetch("/uploads/2026/11/new-photo.jpg");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(res.headers.get("cache-control")).toBe("max-age=2592000");
    expect(res.headers.get("last-modified")).not.toBeNull();
    expect(await res.text()).toBe("bytes uploaded at run time\n");
    const etag = res.headers.get("etag")!;
    expect((await gw.fetch("/uploads/2026/11/new-photo.jpg", { headers: { "if-none-match": etag } })).status).toBe(304);
    const lm = res.headers.get("last-modified")!;
    expect((await gw.fetch("/uploads/2026/11/new-photo.jpg", { headers: { "if-modified-since": lm } })).status).toBe(304);
    const dir = await gw.fetch("/uploads/2026?a=1", { redirect: "manual" });
    expect(dir.status).toBe(301);
    expect(dir.headers.get("location")).toBe("/uploads/2026/?a=1");
    const part = await gw.fetch("/uploads/2026/11/new-photo.jpg", { headers: { range: "bytes=0-4" } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe("bytes");
  });
});

describe("autoindex over the R2 bucket", () => {
  const listing = harness(config('\n[[routes]]\nmatch = "^~ /shelf/"\nautoindex = { format = "json" }\n\n[[routes]]\nmatch = "^~ /errors/"\nautoindex = true\n'), bindings);

  it("a prefix with no index is listed as nginx lists a directory: its prefixes first (R2 keeps them no time), then its objects; hidden ones left out", async () => {
    await bindings.UPLOADS.put("shelf/b.txt", "bee\n");
    await bindings.UPLOADS.put("shelf/a.txt", "aa\n");
    await bindings.UPLOADS.put("shelf/.hidden", "no\n");
    await bindings.UPLOADS.put("shelf/inner/c.txt", "c\n");
    const uploaded = (await bindings.UPLOADS.head("shelf/a.txt"))!.uploaded;
    const res = await listing.fetch("/shelf/");
    expect([res.status, res.headers.get("content-type")]).toEqual([200, "application/json"]);
    const list = JSON.parse(await res.text()) as Array<Record<string, unknown>>;
    expect(list).toEqual([
      { name: "inner", type: "directory", mtime: "Thu, 01 Jan 1970 00:00:00 GMT" },
      { name: "a.txt", type: "file", mtime: uploaded.toUTCString(), size: 3 },
      { name: "b.txt", type: "file", mtime: (await bindings.UPLOADS.head("shelf/b.txt"))!.uploaded.toUTCString(), size: 4 },
    ]);
    expect((await listing.fetch("/shelf/nothing-here/")).status).toBe(404);
  });

  it("a directory only Workers Static Assets hold cannot be listed: answered as without autoindex (they cannot tell a directory without an index from nothing)", async () => {
    const res = await listing.fetch("/errors/");
    expect([res.status, res.headers.get("x-edgepass-error")]).toEqual([404, "FILE_NOT_FOUND"]);
  });
});

describe("X-Accel-Redirect and X-Sendfile", () => {
  it("the body comes from the assets; the origin's Content-Type, Content-Disposition, Cache-Control and cookies stay", async () => {
    const res = await gw.fetch("/accel.php");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("the protected report\n");
    // PHP adds its default charset to text/* types; the file's own type would be text/plain.
    expect(res.headers.get("content-type")).toBe("text/x-report;charset=UTF-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="report.txt"');
    expect(res.headers.get("cache-control")).toBe("private, max-age=60");
    expect(setCookies(res.headers)).toEqual(["downloaded=1"]);
    expect(res.headers.get("x-accel-redirect")).toBeNull();
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("a range of the redirected file", async () => {
    const res = await gw.fetch("/accel.php", { headers: { range: "bytes=4-12" } });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe("protected");
  });

  it("the internal path itself is 404 when requested directly", async () => {
    const res = await gw.fetch("/protected/report.txt");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("custom 404 page");
  });

  it("from the R2 bucket", async () => {
    const res = await gw.fetch("/accel.php?to=/private/invoice.pdf");
    expect(await res.text()).toBe("%PDF invoice from R2\n");
  });

  it("X-Sendfile inside the assets directory is served; outside it, 404", async () => {
    const inside = await gw.fetch(`/accel.php?sendfile=${encodeURIComponent(siteDir + "/protected/report.txt")}`);
    expect(inside.status).toBe(200);
    expect(await inside.text()).toBe("the protected report\n");
    const outside = await gw.fetch(`/accel.php?sendfile=${encodeURIComponent("/etc/passwd")}`);
    expect(outside.status).toBe(404);
    expect(outside.headers.get("x-edgepass-error")).toBe("ACCEL_REFUSED");
    const climbing = await gw.fetch(`/accel.php?sendfile=${encodeURIComponent(siteDir + "/../../etc/passwd")}`);
    expect(climbing.status).toBe(404);
  });

  it("a path the exclude list keeps private is not served even when the origin names it", async () => {
    const res = await gw.fetch("/accel.php?to=/config.php");
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("s3cr3t");
  });
});

describe("deny and return", () => {
  it('access = ["deny all"]: 403, and the file is not read', async () => {
    await bindings.UPLOADS.put("uploads/private/x.txt", "private upload\n");
    const res = await gw.fetch("/uploads/private/x.txt");
    expect(res.status).toBe(403);
    expect(res.headers.get("x-edgepass-error")).toBe("ACCESS_DENIED");
    expect(await res.text()).not.toContain("private upload");
  });

  it('return = "301 https://$host$request_uri"', async () => {
    const res = await gw.fetch("/moved?a=1", { redirect: "manual", headers: { host: "Gw.Test:8443" } });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("https://gw.test/moved?a=1");
  });
});

describe("error pages and header policy", () => {
  it("the gateway's own 502 gets the 50x page, status kept, with the error code and request id", async () => {
    const res = await gw.fetch("/dead/x.php");
    expect(res.status).toBe(502);
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_CONNECT_FAILED");
    expect(res.headers.get("x-request-id")).not.toBeNull();
    expect(await res.text()).toContain("custom 50x page");
  });

  it("the origin's error is its own without intercept_errors, the error page with it", async () => {
    const own = await gw.fetch("/status.php?code=404");
    expect(own.status).toBe(404);
    expect(await own.text()).toBe("status 404 from php\n");
    const intercepted = await gw.fetch("/fail.php?code=502");
    expect(intercepted.status).toBe(502);
    expect(await intercepted.text()).toContain("custom 50x page");
    const noPage = await gw.fetch("/fail.php?code=503");
    expect(noPage.status).toBe(503);
    expect(await noPage.text()).toBe("the origin's own error page\n");
  });

  it("hide_headers removes X-Powered-By; add_headers sets HSTS", async () => {
    const res = await gw.fetch("/fail.php?code=503");
    expect(res.headers.get("x-powered-by")).toBeNull();
    const info = await gw.fetch("/info.php");
    expect(info.headers.get("strict-transport-security")).toBe("max-age=63072000");
  });
});
