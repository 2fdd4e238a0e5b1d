// What a route's cache may keep of an origin's answer, and for how long: nginx's order of the
// fields that say so (X-Accel-Expires, Cache-Control, Expires), then the route's `valid`.
import type { CacheRule } from "../config/types.js";
import type { ClientResponse } from "./respond.js";

/** The request fields a Vary value names, lower-case, each once, in one order. */
export function varyNames(vary: string | null): string[] {
  const names = new Set<string>();
  for (const t of (vary ?? "").split(",")) if (t.trim()) names.add(t.trim().toLowerCase());
  return [...names].sort();
}

/** How long (ms) the origin's answer may be kept, or null for not at all. nginx's order:
 *  X-Accel-Expires, then Cache-Control, then Expires, then the route's `valid` for the
 *  status; Set-Cookie and Vary: * keep it out, as does any X-Accel-Redirect (the answer is a
 *  file, served fresh each time). */
export function lifetimeOf(rule: CacheRule, res: Pick<ClientResponse, "status" | "headers" | "tunnel">, now: number): number | null {
  const h = res.headers;
  const ignored = (n: string) => rule.ignore.has(n);
  if (res.status === 206 || res.status < 200 || res.tunnel) return null;
  if (h.has("x-accel-redirect") || h.has("x-sendfile")) return null;
  if (!ignored("set-cookie") && h.has("set-cookie")) return null;
  if (!ignored("vary") && varyNames(h.get("vary")).includes("*")) return null;
  const accel = ignored("x-accel-expires") ? null : h.get("x-accel-expires");
  if (accel !== null) {
    const v = accel.trim();
    if (/^@\d+$/.test(v)) return positive(Number(v.slice(1)) * 1000 - now);
    if (/^\d+$/.test(v)) return positive(Number(v) * 1000);
  }
  const cc = ignored("cache-control") ? null : h.get("cache-control");
  if (cc !== null) {
    const d = directives(cc);
    if (d.has("no-store") || d.has("no-cache") || d.has("private")) return null;
    const age = d.get("s-maxage") ?? d.get("max-age");
    if (age !== undefined) return /^\d+$/.test(age) ? positive(Number(age) * 1000) : null;
  }
  const expires = ignored("expires") ? null : h.get("expires");
  if (expires !== null) {
    const at = Date.parse(expires);
    return Number.isNaN(at) ? null : positive(at - now);
  }
  const valid = rule.valid.get(res.status) ?? rule.valid.get("any");
  return valid === undefined ? null : positive(valid * 1000);
}

/** How long (ms) past its lifetime the origin lets an answer stand in: while it is updated
 *  (Cache-Control's stale-while-revalidate) and when the origin cannot be reached
 *  (stale-if-error); nginx takes both, unless Cache-Control is ignored. */
export function staleWindows(rule: CacheRule, res: Pick<ClientResponse, "headers">): { updating: number; error: number } {
  const cc = rule.ignore.has("cache-control") ? null : res.headers.get("cache-control");
  if (cc === null) return { updating: 0, error: 0 };
  const d = directives(cc);
  const seconds = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) * 1000 : 0);
  return { updating: seconds(d.get("stale-while-revalidate")), error: seconds(d.get("stale-if-error")) };
}

function positive(ms: number): number | null {
  return ms > 0 ? ms : null;
}

function directives(cc: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of cc.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name) out.set(name, eq < 0 ? "" : part.slice(eq + 1).trim().replace(/^"|"$/g, ""));
  }
  return out;
}
