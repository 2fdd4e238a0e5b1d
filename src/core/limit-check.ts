// A route's limits applied to one request (nginx's preaccess phase): limit_conn takes a place
// that the caller gives back when the response ends, limit_req passes, holds or refuses. A
// refusal is a GatewayError with the route's status, Retry-After, and a message naming the
// limit, its key and the route; dry_run only logs what would have happened. A route without
// limits never reaches the store.
import type { LimitConnConfig, LimitReqConfig, RouteConfig } from "../config/types.js";
import { counterName, limitKeyValue, type ConnLease, type LimitStore } from "../edge/limits.js";
import { Codes, GatewayError } from "./errors.js";
import type { GatewayRequest } from "./gateway.js";
import type { Logger } from "./log.js";
import { meteredBody, type PiecesBody, type StreamBody } from "./pieces.js";

export const hasLimits = (route: RouteConfig): boolean => route.limitReq !== undefined || route.limitConn !== undefined;

export interface LimitContext {
  store: LimitStore;
  request: GatewayRequest;
  clientAddr: string | undefined;
  log: Logger;
  /** Places taken by limit_conn, released by the caller once the response is over. */
  held: ConnLease[];
  waitUntil?: (p: Promise<unknown>) => void;
  /** Told what a limit decided about this request (the request's log line carries it). */
  decided?: (d: { limit: string; key: string; route: string; outcome: "refused" | "would_refuse" | "delayed"; delay_ms?: number }) => void;
}

export async function applyLimits(route: RouteConfig, cx: LimitContext): Promise<void> {
  const conn = route.limitConn;
  if (conn) {
    const value = limitKeyValue(conn, cx.request, cx.clientAddr);
    if (value !== null) {
      const lease = await cx.store.acquire(counterName("conn", route, conn, value), conn.max, cx.waitUntil);
      if (lease) cx.held.push(lease);
      else refuse(cx, route, conn, "limit_conn", value, `more than ${conn.max} request${conn.max === 1 ? "" : "s"} in flight`, 1);
    }
  }
  const req = route.limitReq;
  if (req) {
    const value = limitKeyValue(req, cx.request, cx.clientAddr);
    if (value === null) return;
    const out = await cx.store.request(counterName("req", route, req, value), req.rate, req.burst, req.nodelay);
    if (!out.ok) {
      refuse(cx, route, req, "limit_req", value, `more than ${req.rateText}${req.burst ? ` with a burst of ${req.burst}` : ""}`, out.retryAfter);
      return;
    }
    if (out.delayMs > 0) {
      cx.decided?.({ limit: "limit_req", key: req.keyText, route: route.match, outcome: "delayed", delay_ms: out.delayMs });
      if (req.dryRun) {
        cx.log.log("info", "limit_delay", { limit: "limit_req", dry_run: true, key: req.keyText, route: route.match, delay_ms: out.delayMs });
        return;
      }
      cx.log.log("info", "limit_delay", { limit: "limit_req", key: req.keyText, route: route.match, delay_ms: out.delayMs });
      await new Promise((r) => setTimeout(r, out.delayMs));
    }
  }
}

/** Throws the refusal, or (dry_run) logs it and lets the request on. */
function refuse(cx: LimitContext, route: RouteConfig, l: LimitReqConfig | LimitConnConfig, name: "limit_req" | "limit_conn", value: string, what: string, retryAfter: number): void {
  const fields = { limit: name, key: l.keyText, value: value || undefined, zone: l.zone, route: route.match, retry_after: retryAfter };
  cx.decided?.({ limit: name, key: l.keyText, route: route.match, outcome: l.dryRun ? "would_refuse" : "refused" });
  if (l.dryRun) {
    cx.log.log("warn", "limit_would_refuse", { ...fields, dry_run: true });
    return;
  }
  const zone = l.zone !== undefined ? ` (zone ${JSON.stringify(l.zone)})` : "";
  const e = new GatewayError(
    name === "limit_req" ? Codes.LIMIT_REQ : Codes.LIMIT_CONN,
    l.status,
    `Refused by the ${name} limit on key ${l.keyText}${zone} of route ${route.match}: ${what}. Retry after ${retryAfter} s.`,
    `limit=${name} key=${l.keyText} route=${route.match}`,
  );
  e.retryAfter = retryAfter;
  throw e;
}

/** The body with `done` called once when it ends, fails or is cancelled (the client left);
 *  null (no body): `done` at once. Read as pieces (core/pieces.ts): straight from the origin's
 *  connection when it came from one, a whole body as it is, else through a stream's reader. */
export function onBodyEnd(body: StreamBody | Uint8Array | null, done: () => void): PiecesBody | null {
  if (!body) {
    done();
    return null;
  }
  return meteredBody(body, { count: () => {}, end: done });
}

/** Runs a request that may take limit_conn places (`held`): they are given back when its
 *  response body ends (`release`, hooked there when `hooked.yes`), else once `run` settles,
 *  or at once when the client leaves while the origin still works (no body yet to cancel).
 *  Only limit_conn holds places, and a listener costs a native call per request in workerd:
 *  requests without limits never come here. */
export async function holdingPlaces<T>(request: GatewayRequest, run: (held: ConnLease[], release: () => void, hooked: { yes: boolean }) => Promise<T>): Promise<T> {
  const held: ConnLease[] = [];
  const release = () => {
    for (const l of held.splice(0)) l.release();
  };
  const hooked = { yes: false };
  request.signal?.addEventListener("abort", release, { once: true });
  try {
    const res = await run(held, release, hooked);
    if (!hooked.yes) release();
    return res;
  } catch (e) {
    release();
    throw e;
  }
}
