// The request line's text formats (core/log-format.ts) and their config: nginx's escaping, "-"
// for an empty value, the log-time variables, and the refusals. The lines beside nginx's own,
// on the wire of both hosts, are test/integration/access-log-format.test.ts.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { newRecord, writeRequestLine } from "../../src/core/access-log.js";
import { textLine } from "../../src/core/log-format.js";
import { requestLogger, type Level } from "../../src/core/log.js";
import { requestVars } from "../../src/edge/variables.js";
import { messageOf } from "../helpers/config-message.js";

function request(target: string, headers: Record<string, string> = {}) {
  const url = new URL(`http://site.test${target}`);
  const req = { method: "GET", headers: new Headers({ host: "site.test", ...headers }) };
  return requestVars(req, url, "", undefined, "192.0.2.7", "HTTP/2.0");
}

const record = () => ({ ...newRecord("r1", "GET", "/p", "192.0.2.7"), status: 200, bytes_out: 1234, total_ms: 5.25, server: "127.0.0.1:9000", connect_ms: 0.4, first_byte_ms: 3.1 });

describe("a text line", () => {
  it("combined: nginx's fields in nginx's order, a missing one as -", () => {
    const line = textLine("combined", record(), request("/p?q=1", { "user-agent": "curl/8" }));
    expect(line).toMatch(/^192\.0\.2\.7 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/p\?q=1 HTTP\/2\.0" 200 1234 "-" "curl\/8"$/);
  });

  it("escapes as nginx: a quote, a backslash, control characters and bytes past ASCII as \\xHH", () => {
    const vars = request("/p", { "user-agent": 'a"b\\c\u00e9', "x-t": "tab\there" });
    expect(textLine('"$http_user_agent" $http_x_t', record(), vars)).toBe(String.raw`"a\x22b\x5Cc\xE9" tab\x09here`);
    // Where the platform decoded the fields from UTF-8 (workerd), the client's bytes are its UTF-8.
    expect(textLine("$http_user_agent", record(), vars, true)).toBe(String.raw`a\x22b\x5Cc\xC3\xA9`);
  });

  it("the line's own variables: $status, $body_bytes_sent, $request_time, $request_id, $upstream_*, $msec, $time_iso8601", () => {
    const line = textLine("$status $body_bytes_sent $request_time $request_id $upstream_addr $upstream_connect_time $upstream_header_time $server_protocol", record(), request("/p"));
    expect(line).toBe("200 1234 0.005 r1 127.0.0.1:9000 0.000 0.003 HTTP/2.0");
    expect(textLine("$msec", record(), request("/p"))).toMatch(/^\d{10}\.\d{3}$/);
    expect(textLine("$time_iso8601", record(), request("/p"))).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
    expect(textLine("$upstream_status $upstream_response_time", { ...record(), from: "origin" as const }, request("/p"))).toBe("200 0.005");
    // An answer read ahead of its client: the origin was done before the client was.
    expect(textLine("$request_time $upstream_response_time", { ...record(), from: "origin" as const, upstream_ms: 2.5 }, request("/p"))).toBe("0.005 0.003");
    // A request the gateway answered itself has no upstream.
    expect(textLine("$upstream_addr $upstream_connect_time $upstream_status $upstream_response_time", { ...newRecord("r2", "GET", "/"), status: 404, from: "gateway" as const }, request("/"))).toBe("- - - -");
  });

  it("a head that could not be read: its request is -, its address the record's", () => {
    const r = { ...newRecord("r3", "-", "-", "192.0.2.9"), status: 400 };
    expect(textLine("combined", r, undefined)).toMatch(/^192\.0\.2\.9 - - \[[^\]]+\] "-" 400 0 "-" "-"$/);
  });

  it("the setting decides: json writes the JSON line, off nothing, a format its text, each at info", () => {
    const lines: Array<[Level, string]> = [];
    const log = requestLogger("r1", (level, line) => lines.push([level, line]));
    writeRequestLine("json", log, record(), request("/p"));
    writeRequestLine("off", log, record(), request("/p"));
    writeRequestLine("$status", log, record(), request("/p"));
    expect(lines.map(([l]) => l)).toEqual(["info", "info"]);
    expect(JSON.parse(lines[0][1])).toMatchObject({ event: "request", status: 200 });
    expect(lines[1][1]).toBe("200");
  });
});

describe("the config", () => {
  const site = (log: string) => `[gateway]\nlog = ${JSON.stringify(log)}\n[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n[[routes]]\nmatch = "/"\nupstream = "php"\n`;
  it("takes json, off, combined and templates", () => {
    for (const v of ["json", "off", "combined", '$remote_addr "$request" $status $request_time $upstream_cache_status $cookie_s $arg_page']) {
      expect(loadConfig(site(v), "t.toml").gateway.log).toBe(v);
    }
  });

  it("a route may set its own (access_log off in a location), checked the same way", () => {
    const route = (log: string) => `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n[[routes]]\nmatch = "/"\nupstream = "php"\nlog = ${JSON.stringify(log)}\n`;
    expect(loadConfig(route("off"), "t.toml").routes[0].log).toBe("off");
    expect(messageOf(() => loadConfig(route("$nope"), "t.toml"))).toContain("routes[0].log");
    expect(messageOf(() => loadConfig(route("off").replace("log =", "access_log ="), "t.toml"))).toContain('edgepass calls this "log"');
  });

  it.each([
    ["main", "a template names at least one variable"],
    ["$status $bytes_sent", "unknown variable $bytes_sent"],
    ["$status\n$request", "control characters"],
  ])("refuses %j", (v, message) => {
    expect(messageOf(() => loadConfig(site(v), "t.toml"))).toContain(message);
  });
});
