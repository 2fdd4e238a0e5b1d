// The keys that put a whole site behind the gateway: [assets], try_files, access, return,
// error pages, expires, the header policy, and params that may set SERVER_SOFTWARE.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const load = (text: string, baseDir?: string) => loadConfig(text, "site.toml", baseDir);

function errorOf(text: string): ConfigError {
  try {
    load(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const ASSETS = `[assets]\ndirectory = "public"\n`;

describe("[assets]", () => {
  it("a config with no [upstreams] is a files-only site; exclude defaults to dotfiles and *.php", () => {
    const cfg = load(ASSETS + `[[routes]]\nmatch = "/"\n`, "/srv/site");
    expect(cfg.upstreams).toEqual({});
    expect(cfg.assets).toEqual({ directory: "public", absoluteDirectory: "/srv/site/public", exclude: [".*", "*.php"], internal: [] });
    expect(cfg.routes[0].upstream).toBeUndefined();
    expect(cfg.routes[0].indexFiles).toEqual(["index.html"]);
  });

  it("exclude, when set, replaces the default list; internal and r2 are read", () => {
    const cfg = load(`[assets]\ndirectory = "/srv/www/"\nexclude = ["*.inc"]\ninternal = ["/protected/"]\nr2 = "UPLOADS"\n[[routes]]\nmatch = "/"\n`);
    expect(cfg.assets).toMatchObject({ absoluteDirectory: "/srv/www", exclude: ["*.inc"], internal: ["/protected/"], r2: "UPLOADS" });
  });

  it("a relative directory without a config file to resolve it against stays unresolved", () => {
    expect(load(ASSETS + `[[routes]]\nmatch = "/"\n`).assets!.absoluteDirectory).toBeUndefined();
  });

  it("a route without upstream needs [assets], unless it only returns or denies", () => {
    expect(errorOf(`[[routes]]\nmatch = "/"\n`).message).toContain("no [assets] are configured");
    expect(load(`[[routes]]\nmatch = "/"\nreturn = "404"\n`).routes[0].return).toEqual({ status: 404 });
    expect(load(`[[routes]]\nmatch = "/"\naccess = ["deny all"]\n`).routes[0].access).toEqual([{ allow: false, net: null }]);
    expect(errorOf(`[[routes]]\nmatch = "/"\ntry_files = ["$uri", "=404"]\n`).key).toBe("routes[0].try_files");
  });

  it("an exclude glob is one segment", () => {
    expect(errorOf(`[assets]\ndirectory = "p"\nexclude = ["a/b"]\n[[routes]]\nmatch = "/"\n`).key).toBe("assets.exclude[0]");
  });
});

describe("route keys", () => {
  const route = (extra: string) => load(ASSETS + `[[routes]]\nmatch = "/"\n${extra}\n`).routes[0];

  it("try_files, index, expires, add_headers, hide_headers, intercept_errors, error_pages", () => {
    const r = route(
      `try_files = ["$uri", "$uri/", "/index.php?$args"]\nindex = ["index.php", "index.html"]\nexpires = "30d"\n` +
        `add_headers = { "Strict-Transport-Security" = "max-age=63072000" }\nhide_headers = ["X-Powered-By"]\n` +
        `intercept_errors = true\nerror_pages = { 404 = "/errors/404.html" }`,
    );
    expect(r).toMatchObject({
      tryFiles: ["$uri", "$uri/", "/index.php?$args"],
      indexFiles: ["index.php", "index.html"],
      expires: 30 * 86400,
      addHeaders: [["Strict-Transport-Security", "max-age=63072000"]],
      hideHeaders: ["x-powered-by"],
      interceptErrors: true,
      errorPages: { 404: "/errors/404.html" },
    });
  });

  it("return: a redirect with variables, a code, a code with text, a bare URL (302)", () => {
    expect(route(`return = "301 https://$host$request_uri"`).return).toEqual({ status: 301, text: "https://$host$request_uri" });
    expect(route(`return = 403`).return).toEqual({ status: 403 });
    expect(route(`return = "200 hello"`).return).toEqual({ status: 200, text: "hello" });
    expect(route(`return = "https://example.com/"`).return).toEqual({ status: 302, text: "https://example.com/" });
  });

  it("error_pages under [gateway]", () => {
    const cfg = load(`[gateway]\nerror_pages = { 404 = "/errors/404.html", 502 = "/errors/50x.html" }\n` + ASSETS + `[[routes]]\nmatch = "/"\n`);
    expect(cfg.gateway.errorPages).toEqual({ 404: "/errors/404.html", 502: "/errors/50x.html" });
  });

  it('params may set SERVER_SOFTWARE (WordPress looks for "nginx" in it), not other gateway names', () => {
    const up = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
    const r = load(up + `[[routes]]\nmatch = "/"\nupstream = "php"\nparams = { SERVER_SOFTWARE = "nginx/1.22 (edgepass)" }\n`).routes[0];
    expect(r.params.SERVER_SOFTWARE).toBe("nginx/1.22 (edgepass)");
    expect(() => load(up + `[[routes]]\nmatch = "/"\nupstream = "php"\nparams = { SCRIPT_FILENAME = "/x" }\n`)).toThrow(/set by the gateway/);
  });

  it.each([
    [`try_files = ["$uri"]`, "routes[0].try_files", "at least one file and a last URI"],
    [`try_files = ["=404", "$uri"]`, "routes[0].try_files[0]", "=CODE only as the last entry"],
    [`try_files = ["$uri", "@app"]`, "routes[0].try_files[1]", 'add [[routes]] with match = "@app"'],
    [`try_files = ["$url", "=404"]`, "routes[0].try_files[0]", "unknown variable $url"],
    [`access = ["deny 10.0.0.1/8"]`, "routes[0].access[0]", "the network is 10.0.0.0/8"],
    [`access = ["permit 10.0.0.0/8"]`, "routes[0].access[0]", "is not \"allow ADDRESS\""],
    [`access = ["allow 10.0.0.0/33"]`, "routes[0].access[0]", "from 0 to 32"],
    [`access = ["allow 2001:db8::/32", "deny al"]`, "routes[0].access[1]", "not an IPv4 or IPv6 address"],
    [`return = "301"`, "routes[0].return", "needs the URL"],
    [`return = "hello"`, "routes[0].return", "nginx's return"],
    [`expires = "soon"`, "routes[0].expires", "a duration"],
    [`error_pages = { 200 = "/x.html" }`, "routes[0].error_pages.200", "a status from 300 to 599"],
    [`add_headers = { "Bad Name" = "x" }`, 'routes[0].add_headers."Bad Name"', "a header name"],
    [`root = "/srv"`, "routes[0].root", "no root without upstream"],
    [`error_page = { 404 = "/x" }`, "routes[0].error_page", 'edgepass calls this "error_pages"'],
  ])("%s is refused", (extra, key, says) => {
    const e = errorOf(ASSETS + `[[routes]]\nmatch = "/"\n${extra}\n`);
    expect(e.key).toBe(key);
    expect(e.message).toContain(says);
  });
});
