// The last step for every answer, whoever made it: an origin's answer is read ahead of a slow
// client, its X-Accel-Redirect / X-Sendfile becomes the file, errors get their error page, the
// route's header policy applies, and the body goes out no faster than limit_rate says.
import { accelTarget, KEPT_ON_REDIRECT, type AccelTarget } from "../edge/accel.js";
import { errorPagePath, withErrorPage } from "../edge/error-pages.js";
import { applyHeaderPolicy } from "../edge/headers.js";
import { respondWithFile } from "../edge/static.js";
import type { DispatchState, Site } from "./dispatch.js";
import { needFiles } from "./dispatch.js";
import { errorAnswer } from "./error-response.js";
import { Codes, GatewayError } from "./errors.js";
import type { GatewayRequest } from "./gateway.js";
import { cancelBody, type ClientResponse } from "./respond.js";
import { paced, takeRateLimit, type RateLimit } from "./limit-rate.js";
import type { Logger } from "./log.js";
import { since } from "./access-log.js";
import type { StreamBody } from "./pieces.js";
import { buffersAnswer, DEFAULT_MAX_TEMP_FILE, readAhead, type AheadStore } from "./read-ahead.js";

export interface FinishContext {
  site: Site;
  request: GatewayRequest;
  state: DispatchState;
  requestId: string;
  log: Logger;
  /** GatewayDeps.ahead. */
  ahead?: AheadStore;
  /** When the request arrived (performance.now()). */
  start: number;
}

/** `fromOrigin`: the answer came from the upstream (X-Accel-Redirect and intercept_errors
 *  apply); otherwise the gateway made it. */
export function finish(ctx: FinishContext, res: ClientResponse, fromOrigin: boolean): ClientResponse | Promise<ClientResponse> {
  // The headers are the pipeline's own (toClient, fromResponse, respondWithFile): changed in
  // place. The origin's rate is read before an X-Accel-Redirect replaces its answer: it is
  // nginx's way to slow a download a script allowed (both fields on one answer). Only a route
  // with an upstream has an origin's fields to take, or a limit of its own.
  const route = ctx.state.route;
  // An origin's answer that streams is read ahead of its client (read-ahead.ts) unless it or
  // its route says not to (X-Accel-Buffering, read before the X-Accel fields go). A whole one
  // is in hand already, and a cache hit holds no origin.
  const ahead =
    fromOrigin && ctx.ahead && res.body !== null && !(res.body instanceof Uint8Array) && ctx.state.record?.from !== "cache" && buffersAnswer(route, res.headers.get("x-accel-buffering"))
      ? ctx.ahead
      : undefined;
  const limit = route && (route.upstream !== undefined || route.limitRate) ? takeRateLimit(res.headers, route.limitRate) : undefined;
  // Most answers need neither a file nor an error page: those are finished without a wait
  // (a promise and a turn per step, on every request, were a share of its cost).
  const target = fromOrigin ? accelTarget(res.headers, ctx.site.config.assets) : null;
  if (ahead && target === null) {
    const read = () => {
      if (ctx.state.record) ctx.state.record.upstream_ms = since(ctx.start);
    };
    res.body = readAhead(res.body as StreamBody, ahead, route?.buffering?.maxTempFile ?? DEFAULT_MAX_TEMP_FILE, ctx.log, read);
  }
  if (target === null && !mayGetErrorPage(ctx, res, fromOrigin)) return policy(ctx, res, limit);
  return finishSlowly(ctx, res, fromOrigin, target, limit);
}

async function finishSlowly(ctx: FinishContext, res: ClientResponse, fromOrigin: boolean, target: AccelTarget, limit: RateLimit | undefined): Promise<ClientResponse> {
  let out = res;
  if (target !== null) out = await accel(ctx, out, target);
  out = await errorPage(ctx, out, fromOrigin);
  return policy(ctx, out, limit);
}

function policy(ctx: FinishContext, out: ClientResponse, limit: RateLimit | undefined): ClientResponse {
  const route = ctx.state.route;
  if (route && (route.addHeaders.length || route.hideHeaders.length || route.expires !== undefined)) applyHeaderPolicy(out.headers, out.status, route, ctx.state.vars);
  if (limit && out.body !== null) out.body = paced(out.body, limit);
  return out;
}

async function accel(ctx: FinishContext, res: ClientResponse, target: NonNullable<AccelTarget>): Promise<ClientResponse> {
  const { site, request } = ctx;
  cancelBody(res.body);
  try {
    if ("refused" in target) throw new GatewayError(Codes.ACCEL_REFUSED, 404, "The file the application named cannot be served.", target.refused);
    const files = needFiles(site);
    const hit = site.exclude(target.path) ? null : await files.open(target.path, { fileOnly: true });
    if (hit === null || hit === "dir") {
      throw new GatewayError(Codes.ACCEL_REFUSED, 404, "The file the application named does not exist.", `${target.header}: ${target.path}`);
    }
    const method = request.method === "HEAD" ? "HEAD" : "GET";
    const out = await respondWithFile(null, hit, target.path, { method, headers: request.headers, path: target.path, search: "", acceptEncoding: null }, false);
    for (const name of KEPT_ON_REDIRECT) {
      const values = name === "set-cookie" ? (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie() : [res.headers.get(name)].filter((v): v is string => v !== null);
      if (values.length === 0) continue;
      out.headers.delete(name);
      for (const v of values) out.headers.append(name, v);
    }
    ctx.log.log("info", "accel", { header: target.header, path: target.path, status: out.status });
    return out;
  } catch (e) {
    return errorAnswer(e, ctx.requestId, ctx.log);
  }
}

/** Only an error the gateway made, or one an origin made on a route that intercepts errors,
 *  may get an error page. */
function mayGetErrorPage(ctx: FinishContext, res: ClientResponse, fromOrigin: boolean): boolean {
  if (res.status < 300) return false;
  return res.headers.has("x-edgepass-error") || (fromOrigin && ctx.state.route?.interceptErrors === true);
}

async function errorPage(ctx: FinishContext, res: ClientResponse, fromOrigin: boolean): Promise<ClientResponse> {
  if (!mayGetErrorPage(ctx, res, fromOrigin)) return res;
  const page = errorPagePath(res.status, ctx.state.route, ctx.site.config.gateway);
  if (page === undefined || !ctx.site.files) return res;
  try {
    return (await withErrorPage(res, page, ctx.site.files, ctx.request.method)) ?? res;
  } catch (e) {
    ctx.log.log("warn", "error_page_failed", { page, error: e });
    return res;
  }
}
