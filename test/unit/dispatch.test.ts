// Before any origin: internal paths, access, return, try_files and index files routing a
// request again (nginx's internal redirects), on the disk store over test/fixtures/site.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { diskStore } from "../../src/adapter/node/disk-store.js";
import { loadConfig } from "../../src/config/load.js";
import { dispatch, type DispatchState, type Forward } from "../../src/core/dispatch.js";
import { GatewayError } from "../../src/core/errors.js";
import { excludeMatcher } from "../../src/edge/exclude.js";
import { requestVars } from "../../src/edge/variables.js";
import { repoRoot } from "../helpers/process.js";
import { plainRespond, type ClientResponse } from "../../src/core/respond.js";

const dir = path.join(repoRoot, "test/fixtures/site");

const BASE = `
[assets]
directory = "${dir}"
internal = ["/protected/"]

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:9000"]

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "/srv/www"
`;

/** dispatch() for a request to `target` under the config `text`, on the fixture docroot. */
async function dispatchIn(text: string, target: string, init: RequestInit & { host?: string } = {}) {
  const config = loadConfig(text, "site.toml");
  const site = { config, files: diskStore(dir), exclude: excludeMatcher(config.assets!.exclude) };
  const url = new URL(`http://gw.test${target}`);
  const request = new Request(url, { ...init, headers: { host: init.host ?? "gw.test", ...(init.headers as Record<string, string>) } });
  const state: DispatchState = { acceptEncoding: null, vars: { ...requestVars(request, url, ""), uri: decodeURIComponent(url.pathname) } };
  try {
    return { out: await dispatch(site, request, state), state };
  } catch (e) {
    if (e instanceof GatewayError) return { error: e, state };
    throw e;
  }
}

const run = (routes: string, target: string, init: RequestInit & { host?: string } = {}) => dispatchIn(BASE + routes, target, init);

const forward = (x: unknown) => x as Forward;
/** An answer dispatch made itself, as a client would read it. */
const answer = (x: unknown) => plainRespond(x as ClientResponse);

const WP = `
[[routes]]
match = "/"
try_files = ["$uri", "$uri/", "/index.php?$args"]
index = ["index.php", "index.html"]
`;

describe("try_files, nginx's", () => {
  it("$uri: an existing file is served", async () => {
    const { out } = await run(WP, "/css/site.css");
    expect(answer(out).status).toBe(200);
    expect(await answer(out).text()).toBe(readFileSync(path.join(dir, "css/site.css"), "utf8"));
  });

  it("$uri/: a directory gets its index (an index.php is routed to the PHP route)", async () => {
    const { out } = await run(WP, "/wp-admin/?x=1");
    expect(forward(out).route.upstream).toBe("php");
    expect(forward(out)).toMatchObject({ path: "/wp-admin/index.php", query: "x=1", rewritten: true });
  });

  it("the last entry is routed again with its own query: a pretty permalink reaches the front controller", async () => {
    const { out } = await run(WP, "/2024/05/hello-world/?utm=x");
    expect(forward(out)).toMatchObject({ path: "/index.php", query: "utm=x", rewritten: true });
    expect(forward(out).route.match).toBe("~ [^/]\\.php(/|$)");
  });

  it("a last URI without ? keeps the request's query; =404 answers 404", async () => {
    const keep = await run(`[[routes]]\nmatch = "/"\ntry_files = ["$uri", "/index.php"]\n`, "/x?a=1");
    expect(forward(keep.out)).toMatchObject({ path: "/index.php", query: "a=1" });
    const none = await run(`[[routes]]\nmatch = "/"\ntry_files = ["$uri", "=404"]\n`, "/missing.css");
    expect(none.error?.status).toBe(404);
  });

  it("a file the exclude list keeps private does not count on a files route (the app gets it)", async () => {
    const { out } = await run(WP, "/.env");
    expect(forward(out).path).toBe("/index.php");
  });

  it("on a route with an upstream, try_files $uri =404 checks the script exists before forwarding it", async () => {
    const routes = `[[routes]]\nmatch = "^~ /wp-admin/"\nupstream = "php"\nroot = "/srv/www"\ntry_files = ["$uri", "=404"]\n`;
    expect(forward((await run(routes, "/wp-admin/index.php")).out)).toMatchObject({ path: "/wp-admin/index.php", rewritten: false });
    expect((await run(routes, "/wp-admin/missing.php")).error?.status).toBe(404);
  });

  it("a cycle stops after 10 internal redirects with 500", async () => {
    const { error } = await run(`[[routes]]\nmatch = "/"\ntry_files = ["$uri", "/loop$uri"]\n`, "/a");
    expect(error?.status).toBe(500);
    expect(error?.code).toBe("INTERNAL_REDIRECT_CYCLE");
  });
});

describe("index on a files route", () => {
  it("a .php index is routed again as <dir>/index.php with the query", async () => {
    const { out } = await run(`[[routes]]\nmatch = "/"\nindex = ["index.php", "index.html"]\n`, "/wp-admin/?page=1");
    expect(forward(out)).toMatchObject({ path: "/wp-admin/index.php", query: "page=1" });
  });
});

describe("deny, return, internal", () => {
  it('access = ["deny all"] is 403, nothing forwarded', async () => {
    const { error, state } = await run(`[[routes]]\nmatch = "^~ /conf/"\naccess = ["deny all"]\n[[routes]]\nmatch = "/"\n`, "/conf/local.php");
    expect(error?.status).toBe(403);
    expect(error?.code).toBe("ACCESS_DENIED");
    expect(state.route?.match).toBe("^~ /conf/");
  });

  it("a deny route wins over the .php regex when it is ^~", async () => {
    const { error } = await run(`[[routes]]\nmatch = "^~ /uploads/"\naccess = ["deny all"]\n`, "/uploads/evil.php");
    expect(error?.status).toBe(403);
  });

  it('return = "301 https://$host$request_uri": $host is lower-case without the port', async () => {
    const { out } = await run(`[[routes]]\nmatch = "/"\nreturn = "301 https://$host$request_uri"\n`, "/a/b?c=1", { host: "WWW.Example.COM:8080" });
    expect((out as ClientResponse).status).toBe(301);
    expect((out as ClientResponse).headers.get("location")).toBe("https://www.example.com/a/b?c=1");
  });

  it('return = "404" and "200 text"', async () => {
    expect((await run(`[[routes]]\nmatch = "/"\nreturn = "404"\n`, "/x")).error?.status).toBe(404);
    const ok = (await run(`[[routes]]\nmatch = "/"\nreturn = "200 ok $uri"\n`, "/x")).out as ClientResponse;
    expect(ok.status).toBe(200);
    expect(new TextDecoder().decode(ok.body as Uint8Array)).toBe("ok /x");
    expect(ok.length).toBe(5);
  });

  it("an internal path requested directly is 404, even behind a catch-all route with an upstream", async () => {
    const { error } = await run(`[[routes]]\nmatch = "/"\nupstream = "php"\n`, "/protected/report.txt");
    expect(error?.status).toBe(404);
    expect(error?.code).toBe("FILE_NOT_FOUND");
  });
});

describe("the shipped examples route like the nginx server blocks they replace", () => {
  const example = (name: string, docroot: string) => readFileSync(path.join(repoRoot, "examples", name), "utf8").replaceAll(docroot, dir);

  const runExample = (text: string, target: string, method = "GET") => dispatchIn(text, target, { method });

  it("WordPress: front controller, dashboard index, PHP in uploads refused, assets with expires", async () => {
    const wp = example("wordpress.toml", "/var/www/wordpress");
    const permalink = await runExample(wp, "/2024/05/hello-world/?utm=x");
    expect(forward(permalink.out)).toMatchObject({ path: "/index.php", query: "utm=x" });
    expect(forward(permalink.out).route.params.SERVER_SOFTWARE).toMatch(/^nginx/);
    expect(forward((await runExample(wp, "/wp-admin/")).out).path).toBe("/wp-admin/index.php");
    expect(forward((await runExample(wp, "/wp-login.php", "POST")).out).path).toBe("/wp-login.php");
    expect((await runExample(wp, "/uploads/evil.php")).error?.status).toBe(403);
    expect((await runExample(wp, "/wp-content/uploads/2024/05/x.php")).error?.status).toBe(403);
    expect((await runExample(wp, "/.env")).error?.status).toBe(403);
    const css = await runExample(wp, "/css/site.css");
    expect(answer(css.out).status).toBe(200);
    expect(css.state.route?.expires).toBe(30 * 86400);
    const photo = await runExample(wp, "/uploads/photo.jpg");
    expect(await answer(photo.out).text()).toBe("uploaded picture bytes\n");
  });

  it("DokuWiki: doku.php as the index, its deny list, /data/ internal", async () => {
    const dw = example("dokuwiki.toml", "/var/www/dokuwiki");
    for (const p of ["/conf/local.php", "/inc/init.php", "/bin/indexer.php", "/vendor/autoload.php", "/install.php", "/.htaccess"]) {
      expect((await runExample(dw, p)).error?.status, p).toBe(403);
    }
    expect((await runExample(dw, "/data/pages/start.txt")).error?.status).toBe(404);
  });

  it("Django: /static/ from the assets (missing files never reach Django), the rest to the app", async () => {
    const dj = example("django.toml", "/srv/app/public");
    const css = await runExample(dj, "/static/app.css");
    expect(await answer(css.out).text()).toContain("collectstatic");
    expect((await runExample(dj, "/static/missing.css")).error?.status).toBe(404);
    expect(forward((await runExample(dj, "/admin/login/?next=/admin/")).out)).toMatchObject({ path: "/admin/login/", rewritten: false });
  });
});

describe("rewrite and named routes", () => {
  it("break keeps the route with the new URI; the origin is sent the rewritten target", async () => {
    const { out, state } = await run(`\n[[routes]]\nmatch = "/app/"\nupstream = "php"\nrewrite = ["^/app/(.*)$ /v2/$1 break"]\n`, "/app/x?a=1");
    expect(forward(out)).toMatchObject({ path: "/v2/x", query: "a=1", rewritten: true });
    expect(forward(out).route.match).toBe("/app/");
    expect(state.rewritten).toBe(true);
  });

  it("a route with upstream reached from try_files by name forwards with the URI unchanged", async () => {
    const { out } = await run(`\n[[routes]]\nmatch = "/"\ntry_files = ["$uri", "@app"]\n\n[[routes]]\nmatch = "@app"\nupstream = "php"\n`, "/pretty/url?q=1");
    expect(forward(out)).toMatchObject({ path: "/pretty/url", query: "q=1" });
    expect(forward(out).route.match).toBe("@app");
  });

  it("a rewrite that routes back to itself stops after 10 rounds: 500 INTERNAL_REDIRECT_CYCLE", async () => {
    const { error } = await run(`\n[[routes]]\nmatch = "/"\nrewrite = ["^/(.*)$ /x/$1 last"]\nupstream = "php"\n`, "/a");
    expect([error?.status, error?.code]).toEqual([500, "INTERNAL_REDIRECT_CYCLE"]);
  });

  it("a rewrite to a dot segment is refused (500 REWRITE_INVALID), never routed", async () => {
    const { error } = await run(`\n[[routes]]\nmatch = "/"\nrewrite = ["^/go/(.*)$ /$args/$1 break"]\nupstream = "php"\n`, "/go/x?..");
    expect([error?.status, error?.code]).toEqual([500, "REWRITE_INVALID"]);
    expect(error?.detail).toContain('made "/../x"');
  });

  it("access is checked on the route the rewrites end on, not the one they start from", async () => {
    const routes = `\n[[routes]]\nmatch = "/old/"\naccess = ["deny all"]\nrewrite = ["^/old/(.*)$ /new/$1 last"]\n\n[[routes]]\nmatch = "/new/"\nreturn = "200 new"\n`;
    expect((await answer((await run(routes, "/old/a")).out).text())).toBe("new");
  });
});
