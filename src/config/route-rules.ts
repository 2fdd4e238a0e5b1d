// The keys that make a route more than a pass-through: try_files, access, return, error
// pages, expires and the header policy. Each is parsed once at load, variables included, so a
// typo is a startup error with the line, never a 500 at request time.
import type { ErrorPages, ReturnRule, RouteConfig } from "./types.js";
import { parseAccessRule, type AccessRule } from "../edge/access.js";
import { KNOWN_VARIABLES, unknownVariable } from "../edge/variables.js";
import { LOG_VARIABLES } from "../core/log-format.js";
import { stringList } from "./assets.js";
import { Checker, CONTROL_RE, type Table } from "./checker.js";
import { parseDuration } from "./units.js";
import type { AutoindexOptions } from "../edge/autoindex.js";

type At = Array<string | number>;

const REDIRECTS = [301, 302, 303, 307, 308];
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function checkVariables(c: Checker, at: At, s: string): void {
  const unknown = unknownVariable(s);
  if (unknown !== null) {
    c.fail(at, `only the variables ${KNOWN_VARIABLES.map((v) => "$" + v).join(", ")}`, { problem: `unknown variable $${unknown}`, got: s });
  }
}

/** [gateway] log: "json", "off", "combined", or a template of variables (nginx's log_format),
 *  the request's and the line's own ($status, $request_time…). */
export function checkLogFormat(c: Checker, at: At, v: unknown): string {
  const expected = '"json" (one JSON line per request), "off", "combined" (nginx\'s), or a template such as "$remote_addr [$time_local] \\"$request\\" $status $request_time"';
  const s = c.string(at, v, expected);
  if (s === "json" || s === "off" || s === "combined") return s;
  if (!s.includes("$")) c.fail(at, expected, { got: v, problem: "a template names at least one variable" });
  if (CONTROL_RE.test(s)) c.fail(at, expected, { got: v, problem: "a line cannot hold control characters" });
  const unknown = unknownVariable(s, LOG_VARIABLES);
  if (unknown !== null) {
    const known = [...Object.keys(LOG_VARIABLES), ...KNOWN_VARIABLES].map((n) => "$" + n).join(", ");
    c.fail(at, `only the variables ${known}`, { problem: `unknown variable $${unknown}`, got: s });
  }
  return s;
}

export function checkTryFiles(c: Checker, at: At, v: unknown): string[] {
  const expected = 'an array of files to try and a last URI or "=CODE", e.g. ["$uri", "$uri/", "/index.php?$args"]';
  const list = stringList(c, at, v, expected, (s) => (s === "" || CONTROL_RE.test(s) ? "a non-empty entry without control characters" : null));
  if (list.length < 2) c.fail(at, expected, { got: v, problem: "try_files needs at least one file and a last URI or =CODE" });
  list.forEach((s, i) => {
    checkVariables(c, [...at, i], s);
    const last = i === list.length - 1;
    if (s.startsWith("@") && (!last || !/^@[A-Za-z0-9_-]+$/.test(s))) {
      c.fail([...at, i], 'a named route ("@name") only as the last entry', { got: s });
    }
    if (s.startsWith("=")) {
      if (!last) c.fail([...at, i], "=CODE only as the last entry", { got: s });
      const code = Number(s.slice(1));
      if (!/^=\d{3}$/.test(s) || code < 200 || code > 599) c.fail([...at, i], 'a status such as "=404"', { got: s });
    } else if (!s.startsWith("/") && !s.startsWith("$") && !s.startsWith("@")) {
      c.fail([...at, i], 'a path starting with "/" or a variable such as "$uri"', { got: s });
    }
  });
  return list;
}

/** access: only "deny all" and "allow all" for now; address rules need the client-address
 *  machinery of the firewall. Returns true when the route denies. */
export function checkAccess(c: Checker, at: At, v: unknown): AccessRule[] {
  const expected = 'an array of rules checked in order, e.g. ["allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all"]';
  const texts = stringList(c, at, v, expected, () => null);
  return texts.map((s, i) => {
    const r = parseAccessRule(s);
    if ("problem" in r) c.fail([...at, i], '"allow" or "deny", then an address, a CIDR block ("10.0.0.0/8", "2001:db8::/32") or "all"', { got: s, problem: r.problem, hint: r.hint });
    return r;
  });
}

/** strip_prefix: a path the route's requests start with. */
export function checkStripPrefix(c: Checker, at: At, v: unknown, route: Pick<RouteConfig, "kind" | "pattern">): string {
  const expected = 'a path prefix such as "/app" (starting with "/", not ending with one)';
  const p = c.string(at, v, expected);
  if (!/^\/[^/]/.test(p) || p.endsWith("/") || /\/\/|\/\.\.?(?:\/|$)/.test(p) || CONTROL_RE.test(p)) c.fail(at, expected, { got: v });
  if ((route.kind === "prefix" || route.kind === "prefix-stop" || route.kind === "exact") && !route.pattern.startsWith(p)) {
    c.fail(at, `a prefix of the route's match path ${JSON.stringify(route.pattern)}`, { got: v, problem: "no request on this route starts with it, so it would never be removed" });
  }
  return p;
}

export function checkReturn(c: Checker, at: At, v: unknown): ReturnRule {
  const expected = 'nginx\'s return: "404", "301 https://$host$request_uri", "200 text", or a URL (302)';
  if (typeof v === "number") v = String(v);
  const s = c.string(at, v, expected).trim();
  if (CONTROL_RE.test(s)) c.fail(at, expected, { got: s });
  checkVariables(c, at, s);
  const m = /^(\d{3})(?:\s+([\s\S]*))?$/.exec(s);
  if (!m) {
    if (/^(https?:\/\/|\$scheme)/.test(s)) return { status: 302, text: s };
    c.fail(at, expected, { got: s });
  }
  const status = Number(m[1]);
  if (status < 200 || status > 599 || status === 204 && m[2]) c.fail(at, expected, { got: s, problem: `${status} is not a status return can send` + (status === 204 ? " with a body" : "") });
  const rule: ReturnRule = { status };
  if (m[2] !== undefined && m[2] !== "") rule.text = m[2];
  if (REDIRECTS.includes(status) && rule.text === undefined) c.fail(at, expected, { got: s, problem: `a ${status} needs the URL to redirect to` });
  return rule;
}

export function checkErrorPages(c: Checker, at: At, v: unknown): ErrorPages {
  const expected = 'a table of status = page, e.g. { 404 = "/errors/404.html", 502 = "/errors/50x.html" }';
  const t: Table = c.table(at, v, expected);
  const pages = Object.create(null) as ErrorPages;
  for (const [k, page] of Object.entries(t)) {
    const code = Number(k);
    if (!/^\d{3}$/.test(k) || code < 300 || code > 599) c.fail([...at, k], "a status from 300 to 599", { got: k });
    const p = c.string([...at, k], page, 'a path in the assets, e.g. "/errors/404.html"');
    if (!p.startsWith("/") || CONTROL_RE.test(p) || p.includes("?") || /\/\.\.?(\/|$)/.test(p)) {
      c.fail([...at, k], 'a path in the assets starting with "/", e.g. "/errors/404.html"', { got: p });
    }
    pages[code] = p;
  }
  return pages;
}

export function checkExpires(c: Checker, at: At, v: unknown): RouteConfig["expires"] {
  const expected = 'a duration such as "30d" or "12h", or "epoch" (no-cache), "max" or "off"';
  if (v === "off") return undefined;
  if (v === "epoch" || v === "max") return v;
  const r = parseDuration(v, Number.MAX_SAFE_INTEGER);
  if (!r.ok) c.fail(at, expected, { got: v, problem: r.reason });
  return Math.floor(r.value / 1000);
}

export function checkAddHeaders(c: Checker, at: At, v: unknown): Array<[string, string]> {
  const t: Table = c.table(at, v, 'a table of header = value, e.g. { "Strict-Transport-Security" = "max-age=63072000" }');
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(t)) {
    if (!HEADER_NAME_RE.test(name)) c.fail([...at, name], "a header name (letters, digits, -)", { got: name });
    const s = c.string([...at, name], value, "a string value");
    if (/[\r\n\0]/.test(s)) c.fail([...at, name], "a value without CR, LF or NUL", { got: s });
    checkVariables(c, [...at, name], s);
    out.push([name, s]);
  }
  return out;
}

/** Request fields edgepass frames or routes by itself, which request_headers may not set. */
const FRAMED = ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "expect", "proxy-connection"];

/** request_headers (nginx's proxy_set_header): fields set on the request to an HTTP origin,
 *  replacing the client's; "" sends none. */
export function checkRequestHeaders(c: Checker, at: At, v: unknown): Array<[string, string]> {
  const headers = checkAddHeaders(c, at, v);
  for (const [name] of headers) {
    const l = name.toLowerCase();
    if (FRAMED.includes(l)) {
      c.fail([...at, name], "a field edgepass does not frame or route by", {
        got: name,
        hint: l === "host" ? "the client's Host passes by default; the upstream's host = \"…\" sets another" : undefined,
      });
    }
  }
  return headers;
}

export function checkHideHeaders(c: Checker, at: At, v: unknown): string[] {
  return stringList(c, at, v, 'an array of header names, e.g. ["X-Powered-By"]', (s) => (HEADER_NAME_RE.test(s) ? null : "a header name (letters, digits, -)")).map((s) =>
    s.toLowerCase(),
  );
}

export function checkBool(c: Checker, at: At, v: unknown): boolean {
  if (typeof v !== "boolean") c.fail(at, "true or false", { got: v });
  return v;
}

/** index: one name or a list; each a file name without "/". */
export function checkIndexList(c: Checker, at: At, v: unknown): string[] {
  const expected = 'a file name such as "index.php", or a list of them (no "/")';
  const names = typeof v === "string" ? [v] : stringList(c, at, v, expected, () => null);
  if (names.length === 0) c.fail(at, expected, { got: v });
  names.forEach((n, i) => {
    if (n === "" || n === "." || n === ".." || /[\\/]/.test(n) || CONTROL_RE.test(n)) c.fail(typeof v === "string" ? at : [...at, i], expected, { got: n });
  });
  return names;
}

/** autoindex: true (nginx's `autoindex on`, HTML), false, or a table with format ("html",
 *  "json", "xml"), exact_size and localtime (nginx's autoindex_format, _exact_size, _localtime). */
export function checkAutoindex(c: Checker, at: At, v: unknown): AutoindexOptions | undefined {
  const on: AutoindexOptions = { format: "html", exactSize: true, localtime: false };
  if (typeof v === "boolean") return v ? on : undefined;
  const t = c.table(at, v, 'true, or a table such as { format = "json" }');
  c.onlyKeys(at, t, ["format", "exact_size", "localtime"], { autoindex_format: "format", autoindex_exact_size: "exact_size", autoindex_localtime: "localtime" });
  if (t.format !== undefined) {
    if (t.format !== "html" && t.format !== "json" && t.format !== "xml") c.fail([...at, "format"], '"html", "json" or "xml"', { got: t.format });
    on.format = t.format;
  }
  if (t.exact_size !== undefined) on.exactSize = checkBool(c, [...at, "exact_size"], t.exact_size);
  if (t.localtime !== undefined) on.localtime = checkBool(c, [...at, "localtime"], t.localtime);
  return on;
}
