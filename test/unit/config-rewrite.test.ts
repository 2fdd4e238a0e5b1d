// rewrite and named routes in the config: what loads, and what is refused with a reason.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";

const UP = `[assets]\ndirectory = "public"\n[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
const load = (routes: string) => loadConfig(UP + routes, "s.toml");

describe("rewrite", () => {
  it("each rule is compiled with its flag; a named route is never matched by a path", () => {
    const cfg = load(`[[routes]]\nmatch = "/"\ntry_files = ["$uri", "@app"]\nupstream = "php"\n[[routes]]\nmatch = "@app"\nrewrite = ["^/(.*)$ /index.php?q=$1 last", "^/x /y"]\nupstream = "php"\n`);
    const named = cfg.routes[1];
    expect([named.kind, named.pattern]).toEqual(["named", "@app"]);
    expect(named.rewrites!.map((r) => [r.regex.source, r.replacement, r.flag ?? null])).toEqual([
      ["^\\/(.*)$", "/index.php?q=$1", "last"],
      ["^\\/x", "/y", null],
    ]);
  });

  it.each([
    ['rewrite = ["^/a"]', "a regex, a replacement and an optional flag"],
    ['rewrite = ["^/a /b last extra"]', "a regex, a replacement and an optional flag"],
    ['rewrite = ["^/a /b forever"]', 'unknown flag "forever"'],
    ['rewrite = ["^/(a /b"]', "a valid regular expression"],
    ['rewrite = ["^/(?i)a /b"]', "a regex JavaScript reads the way PCRE does"],
    ['rewrite = ["^/a /b/$2"]', "$2: the regex has 0 capture groups"],
    ['rewrite = ["^/(a) b/$1"]', 'a replacement starting with "/"'],
    ['rewrite = ["^/a /b?$nope"]', "unknown variable $nope"],
    ['try_files = ["$uri", "@missing"]', 'add [[routes]] with match = "@missing"'],
    ['try_files = ["@first", "$uri"]', 'a named route ("@name") only as the last entry'],
  ])("%s is refused, saying %s", (line, says) => {
    expect(messageOf(() => load(`[[routes]]\nmatch = "/"\nupstream = "php"\n${line}\n`))).toContain(says);
  });

  it("a regex route's values name its groups; a group it does not have is refused", () => {
    const cfg = load(`[[routes]]\nmatch = "~ ^/u/(\\\\d+)$"\nreturn = "301 /user/$1"\n[[routes]]\nmatch = "/"\nreturn = "200 costs $5"\n`);
    expect([cfg.routes[0].usesCaptures, cfg.routes[1].usesCaptures]).toEqual([true, undefined]);
    expect(messageOf(() => load(`[[routes]]\nmatch = "~ ^/u/(\\\\d+)$"\nreturn = "301 /user/$2"\n`))).toContain("$2: the regex ~ ^/u/(\\d+)$ has 1 capture group");
  });

  it("a named route's name is checked, and appears once", () => {
    expect(messageOf(() => load(`[[routes]]\nmatch = "@a b"\nupstream = "php"\n`))).toContain("a named route is @ and a name");
    expect(messageOf(() => load(`[[routes]]\nmatch = "@a"\nupstream = "php"\n[[routes]]\nmatch = "@a"\nupstream = "php"\n`))).toContain("routes[0] has it already");
  });
});

describe("server_name on a route", () => {
  it("names, lower-cased; each server has its own locations, so two sites may both have \"/\"", () => {
    const cfg = load(`[[routes]]\nmatch = "/"\nupstream = "php"\n[[routes]]\nserver_name = ["Example.TEST", "*.apps.test"]\nmatch = "/"\nupstream = "php"\n[[routes]]\nserver_name = "b.test"\nmatch = "/"\nupstream = "php"\n`);
    expect(cfg.routes.map((r) => r.serverNames ?? null)).toEqual([null, ["example.test", "*.apps.test"], ["b.test"]]);
  });

  it.each([
    ['server_name = "example.test:8080"', "without the port"],
    ['server_name = "*"', 'a host name such as "example.com"'],
    ["server_name = []", 'a host name such as "example.com"'],
    ['server_name = "a_b.test"', 'a host name such as "example.com"'],
  ])("%s is refused, saying %s", (line, says) => {
    expect(messageOf(() => load(`[[routes]]\nmatch = "/"\nupstream = "php"\n${line}\n`))).toContain(says);
  });

  it("the same location twice in one server is still refused", () => {
    expect(messageOf(() => load(`[[routes]]\nserver_name = "a.test"\nmatch = "/"\nupstream = "php"\n[[routes]]\nserver_name = "a.test"\nmatch = "/"\nupstream = "php"\n`))).toContain("routes[0] has it already");
  });
});

describe("request_headers", () => {
  const HTTP = `[upstreams.web]\nprotocol = "http"\nservers = ["127.0.0.1:8000"]\n`;
  it("loads on a route to an HTTP upstream, variables checked", () => {
    const cfg = load(HTTP + `[[routes]]\nmatch = "/"\nupstream = "web"\nrequest_headers = { "X-Real-IP" = "$remote_addr", "X-Debug" = "" }\n`);
    expect(cfg.routes[0].requestHeaders).toEqual([
      ["X-Real-IP", "$remote_addr"],
      ["X-Debug", ""],
    ]);
  });

  it.each([
    [`request_headers = { Host = "$host" }`, "the upstream's host"],
    [`request_headers = { "Content-Length" = "1" }`, "a field edgepass does not frame or route by"],
    [`request_headers = { "X-A" = "$nope" }`, "unknown variable $nope"],
    [`proxy_set_header = { "X-A" = "b" }`, 'edgepass calls this "request_headers"'],
  ])("%s is refused, saying %s", (line, says) => {
    expect(messageOf(() => load(HTTP + `[[routes]]\nmatch = "/"\nupstream = "web"\n${line}\n`))).toContain(says);
  });

  it("on a FastCGI route it is refused, pointing at params", () => {
    expect(messageOf(() => load(`[[routes]]\nmatch = "/"\nupstream = "php"\nrequest_headers = { "X-A" = "b" }\n`))).toContain("params = { NAME");
  });
});
