// edgepass.toml → GatewayConfig. Everything is checked here, once: unknown keys (typos must
// not be silently ignored), types, units, addresses, route syntax and cross-references.
// The first problem found is thrown as a ConfigError whose message names the file, the line,
// the key and what was expected.
import { parse, TomlError } from "smol-toml";
import type { ConfigHost, GatewayConfig, GatewaySettings, HttpUpstreamOptions, Protocol, ServerAddress, UpstreamConfig, UpstreamServer } from "./types.js";
import { applyAuthBasic } from "./auth-basic.js";
import { checkRewrites } from "./rewrite.js";
import { Checker, CONTROL_RE, type Table } from "./checker.js";
import { ConfigError } from "./error.js";
import { checkPool, POOL_ALIASES, POOL_KEYS } from "./pool.js";
import { BALANCE_ALIASES, BALANCE_KEYS, checkBalance, serverOptions, splitServer, upstreamFailPolicy } from "./balance.js";
import { checkRoutes } from "./routes.js";
import { checkAuthorizers } from "./authorizer.js";
import { checkAssets } from "./assets.js";
import { checkErrorPages, checkLogFormat } from "./route-rules.js";
import { checkServe } from "./serve.js";
import { didYouMean } from "./suggest.js";
import { DURATION_EXPECTED, parseDuration, parseSize, SIZE_EXPECTED } from "./units.js";
import { applyCache } from "./cache.js";

export { ConfigError } from "./error.js";

const TOP_KEYS = ["gateway", "upstreams", "routes", "assets", "serve"] as const;
const TOP_ALIASES: Record<string, string> = { upstream: "upstreams", route: "routes", location: "routes", server: "gateway", static: "assets", files: "assets", listen: "serve" };
const GATEWAY_KEYS = ["max_body", "max_body_buffer", "response_head_limit", "underscores_in_headers", "server_name", "admin_path", "error_pages",
  "log", "server_timing", "auth_basic", "rewrite", "cache_size"] as const;
const GATEWAY_ALIASES: Record<string, string> = {
  error_page: "error_pages",
  client_max_body_size: "max_body",
  client_body_buffer_size: "max_body_buffer",
  fastcgi_buffer_size: "response_head_limit",
  fastcgi_cache_path: "cache_size",
  proxy_cache_path: "cache_size",
};
const UPSTREAM_KEYS = ["protocol", "servers", "connect_timeout", "send_timeout", "read_timeout", "modifier1", "modifier2", "host", "via", "url", "request_buffering", ...POOL_KEYS, ...BALANCE_KEYS] as const;
const PROTOCOLS = ["fastcgi", "scgi", "uwsgi", "http"] as const;
/** Keys that belong to one protocol only. */
const PROTOCOL_KEYS: Record<string, (typeof PROTOCOLS)[number]> = { modifier1: "uwsgi", modifier2: "uwsgi", host: "http", via: "http", url: "http" };
const UPSTREAM_ALIASES: Record<string, string> = {
  server: "servers",
  address: "servers",
  fastcgi_connect_timeout: "connect_timeout",
  fastcgi_send_timeout: "send_timeout",
  fastcgi_read_timeout: "read_timeout",
  proxy_connect_timeout: "connect_timeout",
  proxy_send_timeout: "send_timeout",
  proxy_read_timeout: "read_timeout",
  uwsgi_modifier1: "modifier1",
  uwsgi_modifier2: "modifier2",
  proxy_request_buffering: "request_buffering",
  fastcgi_request_buffering: "request_buffering",
  scgi_request_buffering: "request_buffering",
  uwsgi_request_buffering: "request_buffering",
  ...POOL_ALIASES,
  ...BALANCE_ALIASES,
};
const UPSTREAM_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

const DEFAULTS = {
  // nginx's 1m refuses ordinary photo uploads, its best-known surprise; Cloudflare refuses
  // bodies over 100 MB on its smaller plans anyway, so both hosts answer alike at 100m.
  maxBody: 100 * 1024 * 1024,
  maxBodyBuffer: 8 * 1024 * 1024,
  responseHeadLimit: 16 * 1024,
  connectTimeoutMs: 5_000,
  sendTimeoutMs: 60_000,
  readTimeoutMs: 60_000,
};

/** Parses and validates an edgepass.toml. `source` names the text in messages (a file path,
 *  or "EDGEPASS_CONFIG" for the Worker's variable). `baseDir`, the config file's folder,
 *  resolves a relative [assets] directory and [serve] tls files; `host` is where it will run (types.ts, ConfigHost).
 *  Throws ConfigError. */
export function loadConfig(text: string, source: string, baseDir?: string, host: ConfigHost = "edge", read?: (path: string) => string): GatewayConfig {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const reason = e.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
    throw new ConfigError({
      source,
      line: e.line,
      key: "",
      problem: `TOML syntax error at column ${e.column}: ${reason}`,
      expected: "valid TOML (https://toml.io)",
      detail: e.codeblock.trimEnd(),
    });
  }

  const c = new Checker(text, source);
  c.onlyKeys([], doc, TOP_KEYS, TOP_ALIASES);
  const gateway = checkGateway(c, doc.gateway);
  const upstreams = checkUpstreams(c, doc.upstreams, host);
  const assets = checkAssets(c, doc.assets, baseDir, host);
  const routes = checkRoutes(c, doc.routes, Object.keys(upstreams), assets !== undefined);
  checkAuthorizers(c, routes, upstreams);
  routes.forEach((r, i) => {
    if (r.requestHeaders && r.upstream !== undefined && upstreams[r.upstream].protocol !== "http") {
      c.fail(["routes", i, "request_headers"], "a route to an HTTP upstream", { problem: `${r.upstream} speaks ${upstreams[r.upstream].protocol}`, hint: "FastCGI, SCGI and uwsgi apps read params = { NAME = \"value\" }" });
    }
  });
  applyAuthBasic(c, doc, gateway, routes, { baseDir, host, read });
  applyCache(c, doc, routes);
  const serve = checkServe(c, doc.serve, baseDir);
  const config: GatewayConfig = { source, gateway, serve, upstreams, routes };
  if (assets) config.assets = assets;
  return config;
}

function checkGateway(c: Checker, raw: unknown): GatewaySettings {
  const settings: GatewaySettings = {
    maxBody: DEFAULTS.maxBody,
    maxBodyBuffer: DEFAULTS.maxBodyBuffer,
    responseHeadLimit: DEFAULTS.responseHeadLimit,
    underscoresInHeaders: false,
    serverName: "",
    adminPath: "",
    errorPages: Object.create(null) as GatewaySettings["errorPages"],
    log: "json",
    serverTiming: false,
    cacheSize: 64 * 1024 * 1024,
  };
  if (raw === undefined) return settings;
  const at = ["gateway"];
  const t = c.table(at, raw, "a table ([gateway])");
  c.onlyKeys(at, t, GATEWAY_KEYS, GATEWAY_ALIASES);

  if (t.rewrite !== undefined) settings.rewrites = checkRewrites(c, [...at, "rewrite"], t.rewrite);
  if (t.max_body !== undefined) settings.maxBody = size(c, [...at, "max_body"], t.max_body, 0);
  if (t.max_body_buffer !== undefined) settings.maxBodyBuffer = size(c, [...at, "max_body_buffer"], t.max_body_buffer, 0);
  if (t.response_head_limit !== undefined) {
    settings.responseHeadLimit = size(c, [...at, "response_head_limit"], t.response_head_limit, 1);
  }
  if (t.underscores_in_headers !== undefined) {
    if (typeof t.underscores_in_headers !== "boolean") {
      c.fail([...at, "underscores_in_headers"], "true or false", { got: t.underscores_in_headers });
    }
    settings.underscoresInHeaders = t.underscores_in_headers;
  }
  if (t.server_name !== undefined) {
    const expected = 'a host name such as "example.com", or "" for the request\'s Host';
    const name = c.string([...at, "server_name"], t.server_name, expected);
    if (/\s/.test(name) || CONTROL_RE.test(name) || name.includes("/")) {
      c.fail([...at, "server_name"], expected, { got: name });
    }
    settings.serverName = name;
  }
  if (t.admin_path !== undefined) {
    const expected = 'a path such as "/_edgepass/pools", or "" for no admin route';
    const p = c.string([...at, "admin_path"], t.admin_path, expected);
    if (p !== "" && (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/-]*$/.test(p) || p.split("/").some((s) => s === "." || s === ".."))) {
      c.fail([...at, "admin_path"], expected, {
        got: p,
        hint: p.startsWith("/") ? "no query, spaces or dot-segments" : `start it with "/": "/${p}"`,
      });
    }
    settings.adminPath = p;
  }
  if (t.error_pages !== undefined) settings.errorPages = checkErrorPages(c, [...at, "error_pages"], t.error_pages);
  if (t.log !== undefined) settings.log = checkLogFormat(c, [...at, "log"], t.log);
  if (t.server_timing !== undefined) {
    if (typeof t.server_timing !== "boolean") c.fail([...at, "server_timing"], "true or false", { got: t.server_timing });
    settings.serverTiming = t.server_timing;
  }
  if (t.cache_size !== undefined) settings.cacheSize = size(c, [...at, "cache_size"], t.cache_size, 0);
  return settings;
}

function size(c: Checker, at: string[], v: unknown, min: number): number {
  const r = parseSize(v);
  if (!r.ok) c.fail(at, SIZE_EXPECTED, { got: v, problem: r.reason });
  if (r.value < min) c.fail(at, `${SIZE_EXPECTED}, at least ${min}`, { got: v });
  return r.value;
}

function duration(c: Checker, at: string[], v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const r = parseDuration(v);
  if (!r.ok) {
    c.fail(at, DURATION_EXPECTED, {
      got: v,
      problem: r.reason,
      hint: typeof v === "string" && /^\d+\s*(sec|secs|seconds?|msec|mins?|minutes?)$/i.test(v.trim()) ? "units are ms, s, m, h, d" : undefined,
    });
  }
  return r.value;
}

function checkUpstreams(c: Checker, raw: unknown, host: ConfigHost): Record<string, UpstreamConfig> {
  // Null prototype: a route naming "constructor" must find nothing, not Object's.
  const out = Object.create(null) as Record<string, UpstreamConfig>;
  if (raw === undefined) return out;
  const t = c.table(["upstreams"], raw, "a table of named upstreams ([upstreams.NAME])");
  for (const [name, value] of Object.entries(t)) {
    const at = ["upstreams", name];
    if (!UPSTREAM_NAME_RE.test(name)) {
      c.fail(at, "an upstream name of 1 to 64 letters, digits, _ or -", { problem: `invalid upstream name ${JSON.stringify(name)}` });
    }
    const u = c.table(at, value, `a table ([upstreams.${name}])`);
    c.onlyKeys(at, u, UPSTREAM_KEYS, UPSTREAM_ALIASES);
    const proto = protocol(c, [...at, "protocol"], u.protocol);
    for (const [key, owner] of Object.entries(PROTOCOL_KEYS)) {
      if (u[key] !== undefined && owner !== proto) {
        c.fail([...at, key], `no ${key} for protocol "${proto}"`, { problem: `${key} applies to protocol "${owner}" only` });
      }
    }
    const via = u.via === undefined ? "socket" : c.string([...at, "via"], u.via, '"socket" or "fetch"');
    if (via !== "socket" && via !== "fetch") c.fail([...at, "via"], '"socket" or "fetch"', { got: via });
    const fails = upstreamFailPolicy(c, at, u);
    const list = via === "fetch" && u.servers === undefined ? [] : servers(c, [...at, "servers"], u.servers, host, fails);
    out[name] = {
      name,
      protocol: proto,
      servers: list,
      balance: checkBalance(c, at, u, proto, list),
      connectTimeoutMs: duration(c, [...at, "connect_timeout"], u.connect_timeout, DEFAULTS.connectTimeoutMs),
      sendTimeoutMs: duration(c, [...at, "send_timeout"], u.send_timeout, DEFAULTS.sendTimeoutMs),
      readTimeoutMs: duration(c, [...at, "read_timeout"], u.read_timeout, DEFAULTS.readTimeoutMs),
      pool: checkPool(c, at, u, proto, via, Math.max(1, list.length), host),
    };
    if (proto === "uwsgi") {
      out[name].uwsgi = {
        modifier1: byte(c, [...at, "modifier1"], u.modifier1, 0),
        modifier2: byte(c, [...at, "modifier2"], u.modifier2, 0),
      };
    }
    if (proto === "http") out[name].http = httpOptions(c, at, u, via);
    if (u.request_buffering !== undefined) {
      if (typeof u.request_buffering !== "boolean") c.fail([...at, "request_buffering"], "true or false", { got: u.request_buffering });
      out[name].requestBuffering = u.request_buffering;
    }
  }
  return out;
}

function byte(c: Checker, at: string[], v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) c.fail(at, "an integer from 0 to 255", { got: v });
  return v;
}

function httpOptions(c: Checker, at: string[], u: Table, via: "socket" | "fetch"): HttpUpstreamOptions {
  const opts: HttpUpstreamOptions = { via };
  if (u.host !== undefined) {
    const expected = 'the Host header to send, e.g. "app.internal" or "app.internal:8080"';
    const host = c.string([...at, "host"], u.host, expected);
    if (!/^[A-Za-z0-9._-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) c.fail([...at, "host"], expected, { got: host });
    opts.host = host;
  }
  if (via === "fetch") {
    const expected = 'the origin\'s base URL, e.g. "https://app.example.com"';
    if (u.url === undefined) c.fail([...at, "url"], expected, { problem: 'missing: via = "fetch" needs a url' });
    const raw = c.string([...at, "url"], u.url, expected);
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      c.fail([...at, "url"], expected, { got: raw });
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) c.fail([...at, "url"], expected, { got: raw });
    opts.url = url.origin + url.pathname.replace(/\/$/, "");
  } else if (u.url !== undefined) {
    c.fail([...at, "url"], 'no url unless via = "fetch"', { hint: 'set via = "fetch", or list the origin under servers' });
  }
  return opts;
}

function protocol(c: Checker, at: string[], v: unknown): Protocol {
  const expected = '"fastcgi", "scgi", "uwsgi" or "http"';
  if (v === undefined) c.fail(at, expected, { problem: "missing required key" });
  const p = c.string(at, v, expected);
  if ((PROTOCOLS as readonly string[]).includes(p)) return p as Protocol;
  const lower = p.toLowerCase();
  const hint =
    (PROTOCOLS as readonly string[]).includes(lower) ? `write it in lower case: "${lower}"`
    : lower === "https" ? 'use protocol = "http" with via = "fetch" and url = "https://…"'
    : didYouMean(p, [...PROTOCOLS]);
  c.fail(at, expected, { got: p, hint });
}

const SERVER_EXPECTED = 'a server address "host:port" or "[IPv6]:port" with a port from 1 to 65535';

function servers(c: Checker, at: string[], v: unknown, host: ConfigHost, fails: { maxFails: number; failTimeoutMs: number }): UpstreamServer[] {
  const expected = `an array of at least one server, e.g. ["127.0.0.1:9000"]`;
  if (v === undefined) c.fail(at, expected, { problem: "missing required key" });
  if (typeof v === "string") c.fail(at, expected, { got: v, hint: `write [${JSON.stringify(v)}]` });
  if (!Array.isArray(v) || v.length === 0) c.fail(at, expected, { got: v });
  return v.map((s, i) => {
    const { address, options } = splitServer(c.string([...at, i], s, SERVER_EXPECTED));
    // "bad host:9000" is a bad address, not an address with an option "host:9000".
    if (!/:\d+$/.test(address) && !address.startsWith("unix:") && options.length) server(c, [...at, i], s, host);
    return serverOptions(c, [...at, i], server(c, [...at, i], address, host), options, fails);
  });
}

function server(c: Checker, at: Array<string | number>, v: unknown, where: ConfigHost): ServerAddress {
  const s = c.string(at, v, SERVER_EXPECTED).trim();
  if (where === "server" && s.startsWith("unix:/") && !CONTROL_RE.test(s) && s.length <= 5 + 107) {
    // 107: the longest path a sockaddr_un holds on Linux (108 bytes with the NUL).
    return { host: "", port: 0, path: s.slice(5) };
  }
  if (s.startsWith("unix:") || s.startsWith("/")) {
    if (where === "server") {
      c.fail(at, '"unix:" followed by an absolute socket path of at most 107 bytes', {
        got: v,
        hint: s.startsWith("/") ? `write "unix:${s}"` : undefined,
      });
    }
    c.fail(at, SERVER_EXPECTED, {
      got: v,
      problem: "Unix sockets cannot be reached from the edge (edgepass serve can use them)",
      hint: "make the app server listen on TCP, e.g. listen = 127.0.0.1:9000 in a PHP-FPM pool",
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    c.fail(at, SERVER_EXPECTED, { got: v, hint: "leave out the scheme; the upstream's protocol says how to talk to it" });
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(s);
  if (v6) {
    host = v6[1];
    portText = v6[2];
    if (!isIPv6(host)) c.fail(at, SERVER_EXPECTED, { got: v, problem: `${JSON.stringify(host)} is not an IPv6 address` });
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) c.fail(at, SERVER_EXPECTED, { got: v, problem: "the port is missing", hint: `e.g. "${s}:9000"` });
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(":")) {
      c.fail(at, SERVER_EXPECTED, { got: v, hint: isIPv6(host) || isIPv6(s) ? "put an IPv6 address in brackets: [::1]:9000" : undefined });
    }
    if (!isHostName(host)) c.fail(at, SERVER_EXPECTED, { got: v, problem: `${JSON.stringify(host)} is not a host name or IPv4 address` });
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    c.fail(at, SERVER_EXPECTED, { got: v, problem: `${JSON.stringify(portText)} is not a port from 1 to 65535` });
  }
  return { host, port: Number(portText) };
}

function isHostName(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  if (/^[\d.]+$/.test(h)) {
    const parts = h.split(".");
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  }
  // Docker and similar name services hand out names with "_", so it is allowed in labels.
  return h.split(".").every((l) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

function isIPv6(h: string): boolean {
  if (!h.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(h)) return false;
  try {
    // The WHATWG URL parser implements the full IPv6 grammar and exists in every host.
    new URL(`http://[${h}]/`);
    return true;
  } catch {
    return false;
  }
}
