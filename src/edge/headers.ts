// A route's response header policy: hide_headers removes what the origin should not reveal
// (X-Powered-By), add_headers sets what every answer of the route carries (HSTS, CSP), and
// expires sets Cache-Control max-age with Expires, as nginx's expires does.
import type { RouteConfig } from "../config/types.js";
import { expandVariables, type RequestVars } from "./variables.js";

/** nginx's expires applies to these statuses only. */
const EXPIRES_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);
const TEN_YEARS = 315_360_000;

export function applyHeaderPolicy(headers: Headers, status: number, route: RouteConfig, vars: RequestVars, now = Date.now()): void {
  for (const name of route.hideHeaders) headers.delete(name);
  for (const [name, value] of route.addHeaders) headers.set(name, expandVariables(value, vars));
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
