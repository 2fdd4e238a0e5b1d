// nginx location selection, as documented at
// http://nginx.org/en/docs/http/ngx_http_core_module.html#location. Each upstream is named
// after the configuration letter it stands for, so `pick(path)` reads like the docs.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { RouteConfig } from "../../src/config/types.js";
import { compileLocations, matchRoute, parseLocationMatch } from "../../src/edge/locations.js";

/** Routes from [match, name] pairs, in file order; the route's upstream is its name. */
function routes(...defs: Array<[string, string]>): RouteConfig[] {
  const names = [...new Set(defs.map(([, n]) => n))];
  let toml = names.map((n) => `upstreams.${n} = { protocol = "fastcgi", servers = ["127.0.0.1:9000"] }\n`).join("");
  for (const [match, name] of defs) toml += `[[routes]]\nmatch = ${JSON.stringify(match)}\nupstream = "${name}"\n`;
  return loadConfig(toml, "test.toml").routes;
}

function picker(rs: RouteConfig[]) {
  return (path: string) => matchRoute(rs, path)?.upstream ?? null;
}

describe("the nginx documentation example", () => {
  // location = / {A}   location / {B}   location /documents/ {C}
  // location ^~ /images/ {D}   location ~* \.(gif|jpg|jpeg)$ {E}
  const pick = picker(
    routes(["= /", "A"], ["/", "B"], ["/documents/", "C"], ["^~ /images/", "D"], ["~* \\.(gif|jpg|jpeg)$", "E"]),
  );

  it('"/" matches A (exact)', () => expect(pick("/")).toBe("A"));
  it('"/index.html" matches B (only "/" is a prefix of it)', () => expect(pick("/index.html")).toBe("B"));
  it('"/documents/document.html" matches C (longest prefix, no regex matches)', () =>
    expect(pick("/documents/document.html")).toBe("C"));
  it('"/images/1.gif" matches D (^~ stops the regex search)', () => expect(pick("/images/1.gif")).toBe("D"));
  it('"/documents/1.jpg" matches E (a regex beats a plain prefix)', () => expect(pick("/documents/1.jpg")).toBe("E"));
});

describe("precedence", () => {
  it("an exact match wins over a regex and a longer prefix", () => {
    const pick = picker(routes(["~ \\.php$", "regex"], ["/a/", "prefix"], ["= /a/b.php", "exact"]));
    expect(pick("/a/b.php")).toBe("exact");
    // Exact means equal: neither a longer path nor one with a trailing slash.
    expect(pick("/a/b.phpx")).toBe("prefix");
    expect(pick("/a/c.php")).toBe("regex");
  });

  it("regexes are tried in file order; the first match wins, not the most specific", () => {
    const pick = picker(routes(["~ \\.php$", "first"], ["~ ^/admin/.*\\.php$", "second"]));
    expect(pick("/admin/x.php")).toBe("first");
    const swapped = picker(routes(["~ ^/admin/.*\\.php$", "second"], ["~ \\.php$", "first"]));
    expect(swapped("/admin/x.php")).toBe("second");
  });

  it("^~ stops the regex search only when it is the longest matching prefix", () => {
    const pick = picker(routes(["^~ /static/", "stop"], ["/static/php/", "plain"], ["~ \\.php$", "regex"]));
    expect(pick("/static/x.php")).toBe("stop");
    // "/static/php/" is longer and plain, so regexes are consulted again.
    expect(pick("/static/php/x.php")).toBe("regex");
    expect(pick("/static/php/x.txt")).toBe("plain");
  });

  it("the longest prefix wins regardless of file order", () => {
    const pick = picker(routes(["/a/b/c/", "long"], ["/", "root"], ["/a/", "short"]));
    expect(pick("/a/b/c/d")).toBe("long");
    expect(pick("/a/b/")).toBe("short");
    expect(pick("/z")).toBe("root");
  });

  it("a plain prefix equal to the whole path still lets regexes run (only = ends the search)", () => {
    const pick = picker(routes(["/a.php", "prefix"], ["~ \\.php$", "regex"]));
    expect(pick("/a.php")).toBe("regex");
  });

  it("prefixes compare characters, not path segments", () => {
    const pick = picker(routes(["/doc", "doc"], ["/", "root"]));
    expect(pick("/documents/x")).toBe("doc");
    expect(pick("/do")).toBe("root");
  });

  it("prefixes are case-sensitive (nginx on Linux)", () => {
    const pick = picker(routes(["/Images/", "upper"], ["/", "root"]));
    expect(pick("/images/a")).toBe("root");
    expect(pick("/Images/a")).toBe("upper");
  });

  it("~* ignores case and ~ does not", () => {
    const pick = picker(routes(["~ \\.JPG$", "exact-case"], ["~* \\.png$", "any-case"]));
    expect(pick("/a.JPG")).toBe("exact-case");
    expect(pick("/a.jpg")).toBeNull();
    expect(pick("/a.PNG")).toBe("any-case");
    expect(pick("/a.Png")).toBe("any-case");
  });

  it("returns null when nothing matches", () => {
    const pick = picker(routes(["/api/", "api"], ["= /health", "health"]));
    expect(pick("/")).toBeNull();
    expect(pick("/healthz")).toBeNull();
    expect(pick("/api")).toBeNull();
  });

  it("regexes match anywhere in the path unless anchored", () => {
    const pick = picker(routes(["~ /admin", "admin"]));
    expect(pick("/x/admin/y")).toBe("admin");
    expect(picker(routes(["~ ^/admin", "admin"]))("/x/admin/y")).toBeNull();
  });
});

describe("matchRoute and compileLocations", () => {
  it("keeps one matcher per route array, so different configs do not share answers", () => {
    const a = routes(["/", "A"]);
    const b = routes(["/", "B"]);
    expect(matchRoute(a, "/x")?.upstream).toBe("A");
    expect(matchRoute(b, "/x")?.upstream).toBe("B");
    expect(matchRoute(a, "/x")?.upstream).toBe("A");
  });

  it("returns the route object from the array", () => {
    const rs = routes(["/", "A"], ["~ x", "B"]);
    expect(matchRoute(rs, "/x")).toBe(rs[1]);
    expect(compileLocations(rs).match("/y")).toBe(rs[0]);
  });

  it("is not confused by a regex carrying the g flag (no lastIndex state between calls)", () => {
    const rs = routes(["~ \\.php$", "php"]);
    rs[0].regex = /\.php$/g;
    const m = compileLocations(rs);
    expect(m.match("/a.php")?.upstream).toBe("php");
    expect(m.match("/a.php")?.upstream).toBe("php");
  });
});

describe("parseLocationMatch", () => {
  it("reads a modifier separated by whitespace", () => {
    expect(parseLocationMatch("= /x")).toEqual({ kind: "exact", pattern: "/x" });
    expect(parseLocationMatch("^~ /img/")).toEqual({ kind: "prefix-stop", pattern: "/img/" });
    expect(parseLocationMatch("~ \\.php$")).toEqual({ kind: "regex", pattern: "\\.php$" });
    expect(parseLocationMatch("~*  \\.JPG$ ")).toEqual({ kind: "regex-i", pattern: "\\.JPG$" });
    expect(parseLocationMatch("/docs/")).toEqual({ kind: "prefix", pattern: "/docs/" });
  });

  it("reads a modifier glued to its argument, as nginx does", () => {
    expect(parseLocationMatch("=/x")).toEqual({ kind: "exact", pattern: "/x" });
    expect(parseLocationMatch("^~/img/")).toEqual({ kind: "prefix-stop", pattern: "/img/" });
    expect(parseLocationMatch("~*\\.jpg$")).toEqual({ kind: "regex-i", pattern: "\\.jpg$" });
    expect(parseLocationMatch("~\\.php$")).toEqual({ kind: "regex", pattern: "\\.php$" });
  });

  it("reports a modifier without argument, an empty match and a named route's bad name; reads a named route", () => {
    expect(parseLocationMatch("=")).toHaveProperty("problem", 'the "=" modifier needs a path after it');
    expect(parseLocationMatch("~* ")).toHaveProperty("problem", 'the "~*" modifier needs a regex after it');
    expect(parseLocationMatch("  ")).toHaveProperty("problem", "the match is empty");
    expect(parseLocationMatch("@fall/back")).toHaveProperty("problem");
    expect(parseLocationMatch("@fallback")).toEqual({ kind: "named", pattern: "@fallback" });
  });
});
