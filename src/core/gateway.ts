// The request pipeline, free of any runtime: dispatch (route, access, return, try_files,
// static files; dispatch.ts) → check the path → frame the body → forward through the
// upstream's Exchange → stream the answer back → finish (X-Accel-Redirect, error pages, header
// policy; finish.ts). Every failure becomes a status, a body that says what was wrong, and one
// log line carrying the request id.
import type { Codec } from "../codec/types.js";
import type { GatewayConfig, UpstreamConfig } from "../config/types.js";
import { excludeMatcher } from "../edge/exclude.js";
import type { FileStore } from "../edge/file-store.js";
import { matchRoute } from "../edge/locations.js";
import { normalizePath, splitScript } from "../edge/script-path.js";
import { requestVars } from "../edge/variables.js";
import { dispatch, type DispatchState, type Forward, type Site } from "./dispatch.js";
import { finish, type FinishContext } from "./finish.js";
import { exchanges } from "../protocol/index.js";
import { prepareBody } from "./body.js";
import { cgiEnv, type ClientInfo } from "./cgi-env.js";
import { drainUnread } from "./drain.js";
import { errorResponse } from "./error-response.js";
import { Codes, GatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import { requestLogger, type LogSink } from "./log.js";
import { plainRespond, toClient, type Respond } from "./respond.js";
import type { Dial } from "./transport.js";
import { encodePath } from "../edge/uri.js";
import { forwardBalanced } from "../balance/next-upstream.js";
import type { Peers } from "../balance/peers.js";
import { peersFor } from "../balance/registry.js";

export const SOFTWARE = "edgepass/0.1.0";

export interface GatewayDeps {
  config: GatewayConfig;
  codec: Codec;
  dial: Dial;
  sink?: LogSink;
  exchanges?: Partial<Record<string, Exchange>>;
  /** Hands a routed request to wherever its upstream's connections live (in the Worker: the
   *  upstream's UpstreamPool Durable Object), or returns null to forward it from here. Called
   *  before the body is touched, so it streams through. */
  handOff?: (request: Request, upstream: UpstreamConfig, info: RequestInfo & { requestId: string }) => Promise<Response> | null;
  /** The files [assets] serves (static routes, try_files, X-Accel-Redirect, error pages). */
  files?: FileStore | null;
  /** Writes the client's response the host's way (lengths kept, encoded bodies untouched). */
  respond?: Respond;
  /** The balancer state of an upstream (health, load); default: one per isolate. */
  peers?: (upstream: UpstreamConfig) => Peers;
}

export interface RequestInfo extends ClientInfo {
  requestId?: string;
  /** "HTTP/1.1", "HTTP/2"…; the platform's view of the client protocol. */
  protocol?: string;
  /** Set by a gateway that already dispatched the request and hands it on (to the pool
   *  object): forward this URI through its route, as is, with no file or policy step. */
  dispatched?: { path: string; query: string; rewritten: boolean };
  /** The client's own Accept-Encoding where the platform replaced the header (Cloudflare:
   *  request.cf.clientAcceptEncoding); absent: the request's header is the client's. */
  acceptEncoding?: string | null;
}

export type Gateway = (request: Request, info?: RequestInfo) => Promise<Response>;

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, codec, dial } = deps;
  const site: Site = { config, files: deps.files ?? null, exclude: excludeMatcher(config.assets?.exclude ?? []) };
  return async (request, info = {}) => {
    const requestId = info.requestId ?? randomId();
    const log = requestLogger(requestId, deps.sink);
    const url = new URL(request.url);
    const state: DispatchState = {
      acceptEncoding: info.acceptEncoding !== undefined ? info.acceptEncoding : request.headers.get("accept-encoding"),
      vars: requestVars(request, url, config.gateway.serverName),
    };
    const fin: FinishContext = { site, request, state, requestId, log };
    // A request a front gateway already dispatched is only forwarded; the front finishes it.
    const finished = info.dispatched ? (r: Response) => r : (r: Response, fromOrigin: boolean) => finish(fin, r, fromOrigin);
    try {
      const norm = normalizePath(url.pathname);
      if ("error" in norm) throw new GatewayError(norm.error, 400, norm.message);
      state.vars.uri = norm.path;
      let plan: Response | Forward;
      if (info.dispatched) {
        const d = info.dispatched;
        const route = matchRoute(config.routes, d.path);
        if (!route || route.upstream === undefined) throw new GatewayError(Codes.ROUTE_NOT_FOUND, 404, `No route matches ${d.path}.`);
        plan = { route, ...d };
      } else {
        plan = await dispatch(site, request, state);
      }
      if (plan instanceof Response) {
        log.log("info", "response", { method: request.method, path: state.vars.uri, route: state.route?.match, status: plan.status, from: "gateway" });
        return await finished(plan, false);
      }
      const route = plan.route;
      const split = splitScript(route, plan.path);
      if ("error" in split) throw new GatewayError(split.error, 400, split.message);
      const upstream = config.upstreams[route.upstream!];
      const dispatched = { path: plan.path, query: plan.query, rewritten: plan.rewritten };
      const handed = deps.handOff?.(request, upstream, { ...info, requestId, dispatched });
      if (handed) return await finished(await handed, true);
      const exchange = deps.exchanges?.[upstream.protocol] ?? exchanges[upstream.protocol];

      const body = await prepareBody(
        request.body,
        request.headers.get("content-length"),
        config.gateway.maxBodyBuffer,
        exchange.needsLength(upstream),
      );
      // The origin must see what the client accepts, not the platform's rewrite of it, or it
      // sends codings the client cannot read.
      const headers: Array<[string, string]> = [];
      request.headers.forEach((v, k) => {
        if (k !== "accept-encoding") headers.push([k, v]);
      });
      if (state.acceptEncoding) headers.push(["accept-encoding", state.acceptEncoding]);
      // HTTP/1.1 requests always carry Host; a Request built in code may not. Apps need it.
      if (!request.headers.has("host")) headers.push(["host", url.host]);
      const cgi = cgiEnv({
        method: request.method,
        url,
        path: plan.path,
        query: plan.query,
        split,
        route,
        contentType: request.headers.get("content-type"),
        contentLength: body ? body.length : null,
        protocol: info.protocol ?? "HTTP/1.1",
        serverName: config.gateway.serverName || url.hostname,
        client: info,
        software: SOFTWARE,
      });
      const res = await forwardBalanced(
        exchange,
        {
          requestId,
          log,
          method: request.method,
          // nginx passes the client's request line, or the URI try_files changed it to.
          target: plan.rewritten ? encodePath(plan.path) + (plan.query ? `?${plan.query}` : "") : url.pathname + url.search,
          scheme: url.protocol.slice(0, -1),
          clientAddr: info.remoteAddr,
          headers,
          body,
          cgi,
          signal: request.signal,
        },
        { upstream, settings: config.gateway, codec, dial },
        (deps.peers ?? peersFor)(upstream),
      );
      const client = toClient(res, state.acceptEncoding, upstream.name, log);
      log.log("info", "response", { method: request.method, path: plan.path, route: route.match, status: res.status });
      return await finished((deps.respond ?? plainRespond)(client), true);
    } catch (e) {
      // An unread body left behind would cost the client its connection (drain.ts).
      await drainUnread(request.body);
      return await finished(errorResponse(e, requestId, log), false);
    }
  };
}

/** A request id for hosts that have none from the platform (16 hex digits). */
export function randomId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
