// The one header policy for what an origin's response head becomes on the client's side,
// whatever the protocol (FastCGI, SCGI, uwsgi, HTTP over a socket or fetch()) and whether
// the request went direct or through a pool: hop-by-hop fields and the ones the origin's
// Connection header names are dropped (RFC 9110 7.6.1), a Date is added when the origin sent
// none (RFC 9110 6.6.1: an origin server with a clock must send one; nginx adds it too), and
// a bodiless status or a HEAD carries no body. Then a route's own policy: hide_headers removes
// what the origin should not reveal (X-Powered-By), add_headers sets what every answer of the
// route carries (HSTS, CSP), and expires sets Cache-Control max-age with Expires, as nginx's
// expires does.
import type { RouteConfig } from "../config/types.js";
import { expandVariables, type RequestVars } from "./variables.js";
import { perUnit } from "../core/time-text.js";
import { fieldName, type Fields, type ResponseFields } from "../core/response-fields.js";

/** Response fields that describe one hop and must not be copied to the client. */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/** Statuses whose responses never carry a body (RFC 9110 6.4.1, 15.3.5, 15.3.6, 15.4.5). */
export const bodilessStatus = (status: number): boolean => status === 204 || status === 205 || status === 304;

/** Does a response to `method` with `status` carry no body? */
export const noBodyFor = (method: string, status: number): boolean => method === "HEAD" || bodilessStatus(status);

/** The names an origin's Connection header lists (lower case), or null when it sent none. */
function connectionNamed(headers: Array<[string, string]>): Set<string> | null {
  let named: Set<string> | null = null;
  for (const [n, v] of headers) {
    if (n.length === 10 && n.toLowerCase() === "connection") for (const t of v.split(",")) (named ??= new Set()).add(t.trim().toLowerCase());
  }
  return named;
}

/** An IMF-fixdate (RFC 9110 5.6.7), the only form a sender may generate; made once a second. */
export const httpDate = perUnit(1000, (ms) => new Date(ms).toUTCString());

/** What the client gets in place of the origin's head fields, appended to `out` in one pass
 *  (a forwarded answer's every field goes through here). */
export function putClientFields(out: ResponseFields, origin: Array<[string, string]>, now: number): void {
  const named = connectionNamed(origin);
  for (const [n, v] of origin) {
    const l = fieldName(n);
    if (!HOP_BY_HOP.has(l) && !named?.has(l)) out.append(l, v);
  }
  if (!out.has("date")) out.set("date", httpDate(now));
}

/** nginx's expires applies to these statuses only. */
const EXPIRES_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);
const TEN_YEARS = 315_360_000;

export function applyHeaderPolicy(headers: Fields, status: number, route: RouteConfig, vars: RequestVars, now = Date.now()): void {
  for (const name of route.hideHeaders) headers.delete(name);
  for (const [name, value] of route.addHeaders) {
    // As nginx's add_header: a value that comes out empty ($upstream_cache_status where
    // nothing was cached) adds no field.
    const v = expandVariables(value, vars);
    if (v !== "") headers.set(name, v);
  }
  if (route.expires !== undefined && EXPIRES_STATUSES.has(status)) {
    if (route.expires === "epoch") {
      headers.set("expires", new Date(0).toUTCString());
      headers.set("cache-control", "no-cache");
    } else {
      const secs = route.expires === "max" ? TEN_YEARS : route.expires;
      headers.set("expires", new Date(now + secs * 1000).toUTCString());
      headers.set("cache-control", secs > 0 ? `max-age=${secs}` : "no-cache");
    }
  }
}
