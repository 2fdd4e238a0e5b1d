// nginx variables in try_files, return and add_headers values: "$name" or "${name}". Only the
// request's own facts are known; anything else is refused when the config loads, as nginx
// refuses an unknown variable at startup.
import type { RequestFields } from "../core/gateway.js";
import type { RequestUrl } from "./request-url.js";
import type { ClientTls } from "../core/client-tls.js";

export interface RequestVars {
  /** $uri / $document_uri: the normalized, decoded path (changed by try_files). */
  uri: string;
  /** $args / $query_string: the query without "?" (changed by try_files "…?$args"). */
  args: string;
  /** $request_uri: the original path and query as the client sent them. */
  requestUri: string;
  /** $host: the Host header's name, lower-case, without port (or server_name). */
  host: string;
  /** $scheme: "http" or "https". */
  scheme: string;
  /** $request_method. */
  method: string;
  /** $server_name: [gateway] server_name, else $host. */
  serverName: string;
  /** The client's TLS connection ($https, $ssl_*), where the host knows it. */
  tls?: ClientTls;
  /** $remote_addr: the client's address as access rules see it. */
  remoteAddr?: string;
  /** $remote_user: the user auth_basic accepted on the route. */
  remoteUser?: string;
  /** $1…$9: the groups of the regex route that matched, where its values name them. */
  captures?: ArrayLike<string | undefined>;
  /** The request's fields, for $http_NAME and $cookie_NAME. */
  headers?: RequestFields;
  /** $upstream_cache_status: HIT, MISS, BYPASS… once a route's cache decided (core/cache.ts). */
  cacheStatus?: string;
  /** $server_protocol: "HTTP/1.1", "HTTP/2.0". */
  protocol?: string;
}

const NAMES: Record<string, (v: RequestVars) => string> = {
  uri: (v) => v.uri,
  document_uri: (v) => v.uri,
  args: (v) => v.args,
  query_string: (v) => v.args,
  is_args: (v) => (v.args ? "?" : ""),
  request_uri: (v) => v.requestUri,
  host: (v) => v.host,
  scheme: (v) => v.scheme,
  request_method: (v) => v.method,
  server_name: (v) => v.serverName,
  remote_user: (v) => v.remoteUser ?? "",
  remote_addr: (v) => v.remoteAddr ?? "",
  https: (v) => (v.scheme === "https" ? "on" : ""),
  ssl_protocol: (v) => v.tls?.protocol ?? "",
  ssl_cipher: (v) => v.tls?.cipher ?? "",
  ssl_client_verify: (v) => v.tls?.verify ?? "",
  ssl_client_s_dn: (v) => v.tls?.cert?.subject ?? "",
  ssl_client_i_dn: (v) => v.tls?.cert?.issuer ?? "",
  ssl_client_serial: (v) => v.tls?.cert?.serial ?? "",
  ssl_client_fingerprint: (v) => v.tls?.cert?.fingerprint ?? "",
  ssl_client_v_start: (v) => v.tls?.cert?.notBefore ?? "",
  ssl_client_v_end: (v) => v.tls?.cert?.notAfter ?? "",
  upstream_cache_status: (v) => v.cacheStatus ?? "",
  server_protocol: (v) => v.protocol ?? "HTTP/1.1",
};

/** nginx's families of variables named by what follows their prefix: a request field
 *  ($http_x_api_key: X-Api-Key), a cookie ($cookie_sessionid), a query argument ($arg_page). */
const FAMILIES: Record<string, (v: RequestVars, rest: string) => string> = {
  http_: (v, rest) => v.headers?.get(rest.replace(/_/g, "-")) ?? "",
  cookie_: (v, rest) => cookieValue(v.headers?.get("cookie") ?? null, rest),
  arg_: (v, rest) => argValue(v.args, rest),
};

export const KNOWN_VARIABLES: readonly string[] = [...Object.keys(NAMES), ...Object.keys(FAMILIES).map((p) => p + "NAME")];

function familyOf(name: string): ((v: RequestVars) => string) | null {
  for (const prefix in FAMILIES) {
    if (name.length > prefix.length && name.startsWith(prefix)) {
      const rest = name.slice(prefix.length);
      return (v) => FAMILIES[prefix](v, rest);
    }
  }
  return null;
}

/** The value of the cookie named exactly `name` in a Cookie field, or "" (nginx's $cookie_). */
function cookieValue(cookie: string | null, name: string): string {
  for (const [n, v] of cookies(cookie)) if (n === name) return v;
  return "";
}

/** A Cookie field's name=value pairs, trimmed, in order (a part without "=" is none). */
export function* cookies(cookie: string | null): Generator<[string, string]> {
  if (!cookie) return;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) yield [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  }
}

/** The first argument named `name` (case-insensitive, as nginx's $arg_), as sent, or "". */
function argValue(args: string, name: string): string {
  const want = name.toLowerCase();
  for (const part of args.split("&")) {
    const eq = part.indexOf("=");
    if ((eq < 0 ? part : part.slice(0, eq)).toLowerCase() === want) return eq < 0 ? "" : part.slice(eq + 1);
  }
  return "";
}

const VAR_RE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** The first variable `template` names that edgepass does not know, or null; `also`: names
 *  known where the template is used (the request line's $status…). */
export function unknownVariable(template: string, also?: Readonly<Record<string, unknown>>): string | null {
  for (const m of template.matchAll(VAR_RE)) {
    const name = m[1] ?? m[2];
    if (!(also && Object.hasOwn(also, name)) && !variableReader(name)) return name;
  }
  return null;
}

/** What a request's variable reads, or null for a name edgepass does not know. */
export function variableReader(name: string): ((v: RequestVars) => string) | null {
  return Object.hasOwn(NAMES, name) ? NAMES[name] : familyOf(name);
}

/** A variable or a capture ($1 to $9, ${1}), read in one pass so that no value put in is
 *  read again (a URI holding "$host" stays that text). */
const TOKEN_RE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*|\d)\}|([A-Za-z_][A-Za-z0-9_]*|\d))/g;

/** A template read once into its pieces: text, and what each variable or capture reads. */
type Piece = string | ((v: RequestVars, capture?: (text: string) => string) => string);
const compiled = new Map<string, Piece[]>();

/** A template's pieces: its text, and for each variable or capture what `read` makes of its
 *  name (null: the token stays text). Also the request line's formats (core/log-format.ts). */
export function templatePieces<R>(template: string, read: (name: string, whole: string) => R | null): Array<string | R> {
  const pieces: Array<string | R> = [];
  let last = 0;
  for (const m of template.matchAll(TOKEN_RE)) {
    if (m.index > last) pieces.push(template.slice(last, m.index));
    last = m.index + m[0].length;
    pieces.push(read(m[1] ?? m[2], m[0]) ?? m[0]);
  }
  if (last < template.length) pieces.push(template.slice(last));
  return pieces;
}

function compile(template: string): Piece[] {
  return templatePieces<Piece>(template, (name, whole) => {
    if (!(name.length === 1 && name >= "0" && name <= "9")) return variableReader(name);
    const n = Number(name);
    // Without a regex's groups, "$5" stays text, as it always has here.
    return (v, capture) => {
      if (!v.captures) return whole;
      const text = v.captures[n] ?? "";
      return capture ? capture(text) : text;
    };
  });
}

/** `capture` shapes a capture's text where it goes out in URL form (rewrite's escaping). The
 *  templates are the config's, so few: each is read into pieces once. */
export function expandVariables(template: string, vars: RequestVars, capture?: (text: string) => string): string {
  if (!template.includes("$")) return template;
  let pieces = compiled.get(template);
  if (pieces === undefined) {
    if (compiled.size >= 4096) compiled.clear();
    compiled.set(template, (pieces = compile(template)));
  }
  let out = "";
  for (const p of pieces) out += typeof p === "string" ? p : p(vars, capture);
  return out;
}

/** nginx's $host: the Host header's name part, lower-cased, without the port. */
export function hostVariable(hostHeader: string | null, fallback: string): string {
  const h = (hostHeader ?? "").trim();
  if (!h) return fallback.toLowerCase();
  const name = h.startsWith("[") ? h.slice(0, h.indexOf("]") + 1) : h.replace(/:\d*$/, "");
  return name.toLowerCase();
}

/** The variables of a request as it arrived; $uri is set once the path is normalized. */
export function requestVars(request: { method: string; headers: RequestFields }, url: RequestUrl, serverNameSetting: string, tls?: ClientTls, remoteAddr?: string, protocol?: string): RequestVars {
  const host = hostVariable(request.headers.get("host") ?? url.host, serverNameSetting || url.hostname);
  return {
    uri: "",
    args: url.search.slice(1),
    requestUri: url.pathname + url.search,
    host,
    scheme: url.protocol.slice(0, -1),
    method: request.method,
    serverName: serverNameSetting || host,
    tls,
    remoteAddr,
    headers: request.headers,
    protocol,
  };
}
