// The route keys of the firewall: access rules, limit_req, limit_conn, max_body and
// strip_prefix; each bad value is refused at load with the key and what was expected.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const UP = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
const route = (lines: string, match = "/app") => `[[routes]]\nmatch = "${match}"\nupstream = "php"\n${lines}\n`;
const load = (text: string) => loadConfig(UP + text, "site.toml");

function errorOf(text: string): ConfigError {
  try {
    load(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("limits", () => {
  it("limit_req and limit_conn with their defaults", () => {
    const r = load(route(`limit_req = { key = "ip", rate = "10r/s" }\nlimit_conn = { key = "header:X-Api-Key", max = 2 }`)).routes[0];
    expect(r.limitReq).toEqual({ key: { kind: "ip" }, keyText: "ip", status: 429, dryRun: false, rate: 10_000, rateText: "10r/s", burst: 0, nodelay: false });
    expect(r.limitConn).toEqual({ key: { kind: "header", name: "x-api-key" }, keyText: "header:X-Api-Key", status: 429, dryRun: false, max: 2 });
  });

  it("every key of the tables", () => {
    const r = load(route(`limit_req = { key = "route", rate = "30r/m", burst = 20, nodelay = true, status = 503, dry_run = true, zone = "api" }`)).routes[0];
    expect(r.limitReq).toEqual({ key: { kind: "route" }, keyText: "route", status: 503, dryRun: true, zone: "api", rate: 500, rateText: "30r/m", burst: 20, nodelay: true });
  });

  it.each([
    [`limit_req = { rate = "10r/s" }`, "routes[0].limit_req.key", "missing required key"],
    [`limit_req = { key = "$binary_remote_addr", rate = "10r/s" }`, "routes[0].limit_req.key", 'write "ip"'],
    [`limit_req = { key = "header:", rate = "10r/s" }`, "routes[0].limit_req.key", '"header:NAME"'],
    [`limit_req = { key = "ip", rate = "10/s" }`, "routes[0].limit_req.rate", '"10r/s" or "30r/m"'],
    [`limit_req = { key = "ip" }`, "routes[0].limit_req.rate", "missing required key"],
    [`limit_req = { key = "ip", rate = "1r/s", burst = -1 }`, "routes[0].limit_req.burst", "from 0 to 1000000"],
    [`limit_req = { key = "ip", rate = "1r/s", status = 404 }`, "routes[0].limit_req.status", "429 or 503"],
    [`limit_req = { key = "ip", rate = "1r/s", nodelay = "yes" }`, "routes[0].limit_req.nodelay", "true or false"],
    [`limit_req = { key = "ip", rate = "1r/s", zone = "a b" }`, "routes[0].limit_req.zone", "a zone name"],
    [`limit_req = { key = "ip", rate = "1r/s", limit_req_status = 503 }`, "routes[0].limit_req.limit_req_status", 'edgepass calls this "status"'],
    [`limit_conn = { key = "ip" }`, "routes[0].limit_conn.max", "missing required key"],
    [`limit_conn = { key = "ip", max = 0 }`, "routes[0].limit_conn.max", "from 1 to 1000000"],
    [`limit_conn = 2`, "routes[0].limit_conn", 'limit_conn = { key = "ip", max = 10 }'],
  ])("%s is refused at %s", (lines, key, says) => {
    const e = errorOf(route(lines));
    expect(e.key).toBe(key);
    expect(e.message).toContain(says);
  });

  it("routes sharing a zone must count by the same key and rate", () => {
    const ok = load(route(`limit_req = { key = "ip", rate = "1r/s", zone = "z" }`) + route(`limit_req = { key = "ip", rate = "1r/s", burst = 5, zone = "z" }`, "/b"));
    expect(ok.routes[1].limitReq!.zone).toBe("z");
    const e = errorOf(route(`limit_req = { key = "ip", rate = "1r/s", zone = "z" }`) + route(`limit_req = { key = "ip", rate = "2r/s", zone = "z" }`, "/b"));
    expect(e.key).toBe("routes[1].limit_req.zone");
    expect(e.message).toContain("routes[0]");
  });
});

describe("max_body", () => {
  it("defaults to 100m under [gateway]; a route's replaces it; 0 is unlimited", () => {
    expect(load(route("")).gateway.maxBody).toBe(100 * 1024 * 1024);
    expect(load(`[gateway]\nmax_body = "10m"\n` + route("")).gateway.maxBody).toBe(10 * 1024 * 1024);
    expect(load(route(`max_body = 0`)).routes[0].maxBody).toBe(0);
    expect(load(route(`max_body = "512k"`)).routes[0].maxBody).toBe(512 * 1024);
  });
  it("bad sizes and nginx's name are refused with the key", () => {
    expect(errorOf(route(`max_body = "10mb"`)).key).toBe("routes[0].max_body");
    expect(errorOf(`[gateway]\nmax_body = -1\n` + route("")).key).toBe("gateway.max_body");
    expect(errorOf(`[gateway]\nclient_max_body_size = "1m"\n` + route("")).message).toContain('edgepass calls this "max_body"');
    expect(errorOf(route(`client_max_body_size = "1m"`)).message).toContain('edgepass calls this "max_body"');
  });
});

describe("strip_prefix", () => {
  it("a prefix of the route's path", () => {
    expect(load(route(`strip_prefix = "/app"`, "/app/")).routes[0].stripPrefix).toBe("/app");
    expect(load(route(`strip_prefix = "/app"`, "~ ^/app/.*\\\\.php$")).routes[0].stripPrefix).toBe("/app");
  });
  it.each([`"app"`, `"/app/"`, `"/"`, `"/a//b"`, `"/a/../b"`, `5`])("strip_prefix = %s is refused", (v) => {
    expect(errorOf(route(`strip_prefix = ${v}`)).key).toBe("routes[0].strip_prefix");
  });
  it("one the route's requests cannot start with is refused", () => {
    expect(errorOf(route(`strip_prefix = "/other"`, "/app/")).message).toContain("never be removed");
  });
});

describe("stripPrefix", async () => {
  const { stripPrefix } = await import("../../src/edge/script-path.js");
  it("removes a whole leading segment run only", () => {
    expect(stripPrefix("/app", "/app/x.php")).toBe("/x.php");
    expect(stripPrefix("/app", "/app")).toBe("/");
    expect(stripPrefix("/app", "/application/x")).toBe("/application/x");
    expect(stripPrefix("/app", "/other/app/x")).toBe("/other/app/x");
    expect(stripPrefix(undefined, "/app/x")).toBe("/app/x");
  });
});
