// [[routes]]: one nginx-style location each, checked and compiled at load so that a typo in
// a regex or an upstream name is a startup error, never a 500 at request time.
import type { RouteConfig } from "./types.js";
import { checkLimitConn, checkLimitReq, checkZones } from "./limits.js";
import { deniesAll } from "../edge/access.js";
import { parseSize, SIZE_EXPECTED } from "./units.js";
import { DEFAULT_MAX_TEMP_FILE } from "../core/read-ahead.js";
import { checkAccess, checkStripPrefix, checkAddHeaders, checkRequestHeaders, checkBool, checkErrorPages, checkExpires, checkHideHeaders, checkAutoindex, checkIndexList, checkLogFormat, checkReturn, checkTryFiles } from "./route-rules.js";
import { parseLocationMatch } from "../edge/locations.js";
import { isOwnedParam } from "../edge/owned-params.js";
import { Checker, CONTROL_RE, isTable, type Table } from "./checker.js";
import { pcreOnlySyntax } from "./pcre.js";
import { checkAuthorizerShape } from "./authorizer.js";
import { checkNamedTargets, checkRewrites } from "./rewrite.js";

const ROUTE_KEYS = [
  "match", "upstream", "root", "index", "split", "script", "params",
  "try_files", "access", "return", "error_pages", "intercept_errors", "expires", "add_headers", "hide_headers", "gzip_static", "autoindex",
  "limit_req", "limit_conn", "limit_rate", "limit_rate_after", "buffering", "max_temp_file_size", "max_body", "strip_prefix",
  "authorizer", "require_client_cert", "auth_basic", "rewrite", "server_name", "request_headers", "cache", "log",
] as const;
/** params a route may set although the gateway has a value of its own: WordPress offers pretty
 *  permalinks only when SERVER_SOFTWARE names nginx or Apache (wp-includes/vars.php). */
const OVERRIDABLE_PARAMS = ["SERVER_SOFTWARE"];
const ROUTE_ALIASES: Record<string, string> = {
  location: "match",
  access_log: "log",
  pass: "upstream",
  fastcgi_pass: "upstream",
  backend: "upstream",
  document_root: "root",
  docroot: "root",
  fastcgi_index: "index",
  split_path: "split",
  fastcgi_split_path_info: "split",
  fastcgi_param: "params",
  env: "params",
  error_page: "error_pages",
  fastcgi_intercept_errors: "intercept_errors",
  proxy_intercept_errors: "intercept_errors",
  add_header: "add_headers",
  fastcgi_hide_header: "hide_headers",
  proxy_hide_header: "hide_headers",
  hide_header: "hide_headers",
  deny: "access",
  allow: "access",
  client_max_body_size: "max_body",
  auth_basic_user_file: "auth_basic",
  proxy_set_header: "request_headers",
  fastcgi_cache: "cache",
  proxy_cache: "cache",
  proxy_buffering: "buffering",
  fastcgi_buffering: "buffering",
  scgi_buffering: "buffering",
  uwsgi_buffering: "buffering",
  proxy_max_temp_file_size: "max_temp_file_size",
  fastcgi_max_temp_file_size: "max_temp_file_size",
  scgi_max_temp_file_size: "max_temp_file_size",
  uwsgi_max_temp_file_size: "max_temp_file_size",
};

const MATCH_EXPECTED =
  'an nginx location: "= /exact", "^~ /prefix", "~ regex", "~* regex" (case-insensitive) or "/prefix"';
const EXTENSION_RE = /^\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const PARAM_NAME_RE = /^[A-Za-z0-9_]+$/;

export function checkRoutes(c: Checker, raw: unknown, upstreamNames: readonly string[], hasAssets: boolean): RouteConfig[] {
  if (raw === undefined) {
    c.fail(["routes"], "at least one [[routes]] table", { problem: "no routes are defined" });
  }
  if (isTable(raw)) {
    c.fail(["routes"], "an array of tables: write each route under its own [[routes]] header", {
      problem: "routes is a single table ([routes])",
    });
  }
  if (!Array.isArray(raw)) c.fail(["routes"], "an array of tables ([[routes]])", { got: raw });
  if (raw.length === 0) c.fail(["routes"], "at least one route", { got: raw });

  const routes: RouteConfig[] = [];
  // nginx rejects two prefix locations (plain or ^~) with one path, and two exact ones.
  const seen = new Map<string, number>();
  raw.forEach((r, i) => {
    const route = checkRoute(c, r, i, upstreamNames, hasAssets);
    if (route.kind === "exact" || route.kind === "prefix" || route.kind === "prefix-stop" || route.kind === "named") {
      // Each server (a server_name list, or none) has its own locations.
      const key = `${(route.serverNames ?? []).join(",")} ${route.kind === "exact" ? "=" : ""}${route.pattern}`;
      const first = seen.get(key);
      if (first !== undefined) {
        c.fail(["routes", i, "match"], "each exact or prefix location to appear once", {
          problem: `duplicate location ${JSON.stringify(route.pattern)} (routes[${first}] has it already)`,
        });
      }
      seen.set(key, i);
    }
    routes.push(route);
  });
  checkZones(c, routes);
  checkNamedTargets(c, routes);
  return routes;
}

function checkRoute(c: Checker, raw: unknown, i: number, upstreamNames: readonly string[], hasAssets: boolean): RouteConfig {
  const at = ["routes", i];
  const t = c.table(at, raw, "a table ([[routes]])");
  c.onlyKeys(at, t, ROUTE_KEYS, ROUTE_ALIASES);

  if (t.match === undefined) c.fail([...at, "match"], MATCH_EXPECTED, { problem: "missing required key" });
  const match = c.string([...at, "match"], t.match, MATCH_EXPECTED);
  const { kind, pattern, regex } = checkMatch(c, [...at, "match"], match);

  const route: RouteConfig = {
    match,
    kind,
    pattern,
    split: [],
    indexFiles: ["index.html"],
    params: checkParams(c, [...at, "params"], t.params),
    index_in_file: i,
    access: t.access === undefined ? [] : checkAccess(c, [...at, "access"], t.access),
    interceptErrors: t.intercept_errors === undefined ? false : checkBool(c, [...at, "intercept_errors"], t.intercept_errors),
    addHeaders: t.add_headers === undefined ? [] : checkAddHeaders(c, [...at, "add_headers"], t.add_headers),
    hideHeaders: t.hide_headers === undefined ? [] : checkHideHeaders(c, [...at, "hide_headers"], t.hide_headers),
    gzipStatic: t.gzip_static === undefined ? true : checkBool(c, [...at, "gzip_static"], t.gzip_static),
  };
  if (regex) route.regex = regex;
  if (t.server_name !== undefined) route.serverNames = checkServerNames(c, [...at, "server_name"], t.server_name);
  if (t.log !== undefined) route.log = checkLogFormat(c, [...at, "log"], t.log);
  if (t.request_headers !== undefined) route.requestHeaders = checkRequestHeaders(c, [...at, "request_headers"], t.request_headers);
  if (t.limit_req !== undefined) route.limitReq = checkLimitReq(c, [...at, "limit_req"], t.limit_req);
  if (t.limit_conn !== undefined) route.limitConn = checkLimitConn(c, [...at, "limit_conn"], t.limit_conn);
  if (t.max_body !== undefined) {
    const r = parseSize(t.max_body);
    if (!r.ok) c.fail([...at, "max_body"], `${SIZE_EXPECTED}; 0 for no limit`, { got: t.max_body, problem: r.reason });
    route.maxBody = r.value;
  }
  if (t.limit_rate !== undefined || t.limit_rate_after !== undefined) {
    const size = (key: "limit_rate" | "limit_rate_after", expected: string): number => {
      const r = parseSize(t[key] ?? 0);
      if (!r.ok) c.fail([...at, key], expected, { got: t[key], problem: r.reason });
      return r.ok ? r.value : 0;
    };
    route.limitRate = {
      rate: size("limit_rate", 'bytes a second: an integer, or a string like "100k" or "1m"; 0 for no limit'),
      after: size("limit_rate_after", `${SIZE_EXPECTED}: how much goes at full speed first`),
    };
  }
  if (t.buffering !== undefined || t.max_temp_file_size !== undefined) {
    const max = parseSize(t.max_temp_file_size ?? DEFAULT_MAX_TEMP_FILE);
    if (!max.ok) c.fail([...at, "max_temp_file_size"], `${SIZE_EXPECTED}; 0 to keep an answer in memory only`, { got: t.max_temp_file_size, problem: max.reason });
    route.buffering = { on: t.buffering === undefined ? true : checkBool(c, [...at, "buffering"], t.buffering), maxTempFile: max.ok ? max.value : 0 };
  }
  if (t.strip_prefix !== undefined) route.stripPrefix = checkStripPrefix(c, [...at, "strip_prefix"], t.strip_prefix, route);
  if (t.authorizer !== undefined) route.authorizer = checkAuthorizerShape(c, [...at, "authorizer"], t.authorizer);
  if (t.rewrite !== undefined) route.rewrites = checkRewrites(c, [...at, "rewrite"], t.rewrite);
  if (t.require_client_cert !== undefined && checkBool(c, [...at, "require_client_cert"], t.require_client_cert)) route.requireClientCert = true;
  if (t.return !== undefined) route.return = checkReturn(c, [...at, "return"], t.return);
  if (t.error_pages !== undefined) route.errorPages = checkErrorPages(c, [...at, "error_pages"], t.error_pages);
  if (t.expires !== undefined) {
    const e = checkExpires(c, [...at, "expires"], t.expires);
    if (e !== undefined) route.expires = e;
  }
  const needsAssets = (key: string, why: string) => {
    if (!hasAssets) {
      c.fail([...at, key], "an [assets] table to serve files from", {
        problem: why,
        hint: 'add [assets] with directory = "public" (relative to this file), or give the route an upstream',
      });
    }
  };
  if (t.try_files !== undefined) {
    route.tryFiles = checkTryFiles(c, [...at, "try_files"], t.try_files);
    needsAssets("try_files", "try_files looks for files, and no [assets] are configured");
  }

  if (route.regex) checkCaptures(c, at, route);

  const defined = upstreamNames.length ? upstreamNames.map((n) => JSON.stringify(n)).join(", ") : "none are defined";
  const upstreamExpected = `the name of an upstream defined under [upstreams] (${defined})`;
  if (t.upstream === undefined) {
    for (const k of ["root", "split", "script"] as const) {
      if (t[k] !== undefined) {
        c.fail([...at, k], `no ${k} without upstream`, {
          problem: `${k} says how to run a script on an upstream; this route has none (it serves files from [assets])`,
          hint: `add upstream = "..." or remove ${k}`,
        });
      }
    }
    if (t.index !== undefined) route.indexFiles = checkIndexList(c, [...at, "index"], t.index);
    if (t.autoindex !== undefined) {
      route.autoindex = checkAutoindex(c, [...at, "autoindex"], t.autoindex);
      needsAssets("autoindex", "autoindex lists directories of [assets], and no [assets] are configured");
    }
    if (route.return === undefined && !deniesAll(route.access) && route.tryFiles === undefined && !hasAssets) {
      c.fail([...at, "upstream"], `${upstreamExpected}, or an [assets] table for the route to serve files from`, {
        problem: "missing: a route without an upstream serves files, and no [assets] are configured",
      });
    }
    return route;
  }

  if (t.autoindex !== undefined) {
    c.fail([...at, "autoindex"], "no autoindex on a route with an upstream", { problem: "autoindex lists directories of [assets]; this route forwards to an upstream", hint: "put it on a route without upstream" });
  }
  const upstream = c.string([...at, "upstream"], t.upstream, upstreamExpected);
  if (!upstreamNames.includes(upstream)) {
    c.fail([...at, "upstream"], upstreamExpected, { got: upstream });
  }
  route.upstream = upstream;

  if (t.root === undefined) {
    for (const k of ["index", "split", "script"] as const) {
      if (t[k] !== undefined) {
        c.fail([...at, k], `no ${k} without root`, {
          problem: `${k} only applies to routes with a root (this route is in app mode: the whole path goes to PATH_INFO)`,
          hint: "add root = \"/path/to/docroot\" or remove " + k,
        });
      }
    }
    return route;
  }
  route.root = checkRoot(c, [...at, "root"], t.root);
  if (t.script !== undefined) {
    route.script = checkScript(c, [...at, "script"], t.script);
    for (const k of ["index", "split"] as const) {
      if (t[k] !== undefined) {
        c.fail([...at, k], `no ${k} together with script`, {
          problem: `${k} has no effect when every request runs the script ${JSON.stringify(route.script)}`,
          hint: `remove ${k}`,
        });
      }
    }
  }
  route.index = t.index === undefined ? "index.php" : checkIndex(c, [...at, "index"], t.index);
  route.indexFiles = [route.index];
  route.split = t.split === undefined ? [".php"] : checkSplit(c, [...at, "split"], t.split);
  return route;
}

function checkMatch(c: Checker, at: Array<string | number>, match: string): Pick<RouteConfig, "kind" | "pattern" | "regex"> {
  const parsed = parseLocationMatch(match);
  if ("problem" in parsed) c.fail(at, MATCH_EXPECTED, { problem: parsed.problem, got: match });
  const { kind, pattern } = parsed;
  if (kind === "named") return { kind, pattern };

  if (kind === "regex" || kind === "regex-i") {
    const pcre = pcreOnlySyntax(pattern);
    if (pcre) c.fail(at, "a regex JavaScript reads the way PCRE does", { problem: pcre.problem, hint: pcre.hint, got: match });
    try {
      return { kind, pattern, regex: new RegExp(pattern, kind === "regex-i" ? "i" : "") };
    } catch (e) {
      c.fail(at, "a valid regular expression", { problem: (e as Error).message, got: match });
    }
  }

  if (!pattern.startsWith("/")) {
    c.fail(at, MATCH_EXPECTED, {
      problem: `the path ${JSON.stringify(pattern)} does not start with "/", so no request can match it`,
      hint: pattern.startsWith("\\") || /[$^*()|]/.test(pattern) ? 'for a regex, write "~ ' + pattern + '"' : undefined,
      got: match,
    });
  }
  if (CONTROL_RE.test(pattern)) c.fail(at, "a path without control characters", { got: match });
  if (/\/\/|\/\.\.?(?:\/|$)/.test(pattern)) {
    c.fail(at, 'a path without "//", "/./" or "/../"', {
      problem: "request paths are normalized before matching, so this location could never match",
      got: match,
    });
  }
  return { kind, pattern };
}

function checkRoot(c: Checker, at: Array<string | number>, v: unknown): string {
  const expected = 'an absolute directory path, e.g. "/srv/www"';
  const root = c.string(at, v, expected);
  if (!root.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(root)) c.fail(at, expected, { got: v });
  if (CONTROL_RE.test(root)) c.fail(at, `${expected} without control characters`, { got: v });
  // SCRIPT_FILENAME is root + SCRIPT_NAME, and SCRIPT_NAME starts with "/".
  let trimmed = root;
  while (trimmed.length > 1 && /[\\/]$/.test(trimmed) && !/^[A-Za-z]:[\\/]$/.test(trimmed)) trimmed = trimmed.slice(0, -1);
  return trimmed;
}

function checkScript(c: Checker, at: Array<string | number>, v: unknown): string {
  const expected = 'a script path under root starting with "/", e.g. "/index.php"';
  const script = c.string(at, v, expected);
  if (!script.startsWith("/") || script.endsWith("/") || /\/\/|\/\.\.?(?:\/|$)|\\/.test(script) || CONTROL_RE.test(script)) {
    c.fail(at, expected, { got: v });
  }
  return script;
}

function checkIndex(c: Checker, at: Array<string | number>, v: unknown): string {
  const expected = 'a file name such as "index.php" (no "/")';
  const index = c.string(at, v, expected);
  if (index === "" || index === "." || index === ".." || /[\\/]/.test(index) || CONTROL_RE.test(index)) {
    c.fail(at, expected, { got: v });
  }
  return index;
}

function checkSplit(c: Checker, at: Array<string | number>, v: unknown): string[] {
  const expected = 'an array of script extensions, each starting with "." (e.g. [".php"])';
  if (typeof v === "string") c.fail(at, expected, { got: v, hint: `write [${JSON.stringify(v)}]` });
  if (!Array.isArray(v)) c.fail(at, expected, { got: v });
  const out: string[] = [];
  v.forEach((ext, j) => {
    const e = c.string([...at, j], ext, 'an extension starting with "."');
    if (!EXTENSION_RE.test(e)) {
      c.fail([...at, j], 'an extension: "." followed by ASCII letters, digits, "_" or "-" (e.g. ".php")', {
        got: e,
        hint: /^[A-Za-z0-9_-]+$/.test(e) ? `write ".${e}"` : undefined,
      });
    }
    if (!out.includes(e)) out.push(e);
  });
  return out;
}

/** server_name: a host name, "*.example.com", or a list of them. */
function checkServerNames(c: Checker, at: Array<string | number>, raw: unknown): string[] {
  const expected = 'a host name such as "example.com", "*.example.com" for the names under it, or a list of them';
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) c.fail(at, expected, { got: raw });
  return list.map((v, i) => {
    const where = typeof raw === "string" ? at : [...at, i];
    if (typeof v !== "string" || !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(v)) {
      c.fail(where, expected, { got: v, hint: typeof v === "string" && v.includes(":") ? "without the port: routes see the Host's name ($host)" : undefined });
    }
    return v.toLowerCase();
  });
}

/** $1…$9 in a regex route's try_files, return, add_headers and request_headers are its
 *  regex's groups (nginx's location captures): the route keeps them for its values, and a
 *  group the regex does not have is refused (it could only ever be empty). */
function checkCaptures(c: Checker, at: Array<string | number>, route: RouteConfig): void {
  const groups = new RegExp(`${route.regex!.source}|`).exec("")!.length - 1;
  const values: Array<[Array<string | number>, string]> = [
    ...(route.tryFiles ?? []).map((v, i): [Array<string | number>, string] => [[...at, "try_files", i], v]),
    ...(route.return?.text !== undefined ? [[[...at, "return"], route.return.text] as [Array<string | number>, string]] : []),
    ...route.addHeaders.map(([name, v]): [Array<string | number>, string] => [[...at, "add_headers", name], v]),
    ...(route.requestHeaders ?? []).map(([name, v]): [Array<string | number>, string] => [[...at, "request_headers", name], v]),
  ];
  for (const [where, text] of values) {
    for (const m of text.matchAll(/\$(?:\{(\d)\}|(\d))/g)) {
      const n = Number(m[1] ?? m[2]);
      if (n > groups) c.fail(where, `captures $1 to $${groups || 1} of the route's regex`, { got: text, problem: `$${n}: the regex ${route.match} has ${groups} capture group${groups === 1 ? "" : "s"}` });
      route.usesCaptures = true;
    }
  }
}

function checkParams(c: Checker, at: Array<string | number>, v: unknown): Record<string, string> {
  // Null prototype: "__proto__" is a legal param name and must stay an ordinary key.
  const params = Object.create(null) as Record<string, string>;
  if (v === undefined) return params;
  const t: Table = c.table(at, v, 'a table of CGI params, e.g. { APP_ENV = "prod" }');
  for (const [name, value] of Object.entries(t)) {
    const p = [...at, name];
    if (!PARAM_NAME_RE.test(name)) {
      c.fail(p, "a param name made of A-Z, a-z, 0-9 and _", { problem: `invalid param name ${JSON.stringify(name)}` });
    }
    if (isOwnedParam(name) && !OVERRIDABLE_PARAMS.includes(name)) {
      const upper = name.toUpperCase();
      c.fail(p, "a name the gateway does not set itself", {
        problem: upper.startsWith("HTTP_")
          ? `${name} is in the HTTP_* namespace, which carries the client's request headers`
          : upper.startsWith("SSL_")
            ? `${name} is in the SSL_* namespace, which carries the client's TLS connection and certificate (the gateway passes SSL_PROTOCOL, SSL_CIPHER and, with client_ca, SSL_CLIENT_VERIFY, SSL_CLIENT_S_DN… itself)`
            : `${name} is set by the gateway from the request and cannot be overridden`,
        hint: upper === name ? undefined : `names are compared ignoring case, ${name} would shadow ${upper}`,
      });
    }
    if (typeof value !== "string") {
      c.fail(p, "a string value", {
        got: value,
        hint:
          typeof value === "number" || typeof value === "boolean"
            ? `quote it: ${name} = ${JSON.stringify(String(value))}`
            : undefined,
      });
    }
    if (CONTROL_RE.test(value.replace(/\t/g, ""))) {
      c.fail(p, "a value without control characters (CR, LF, NUL…)", { got: value });
    }
    params[name] = value;
  }
  return params;
}
