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
import { memoryLimitStore, type ConnLease, type LimitStore } from "../edge/limits.js";
import { applyLimits, hasLimits, onBodyEnd } from "./limit-check.js";
import { capBody, checkDeclaredLength, maxBodyFor, type BodyCap } from "./body-limit.js";
import { forwardBalanced } from "../balance/next-upstream.js";
import { hashKeyOf } from "../balance/hash.js";
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
   *  before the body is touched, so it streams through. `onEnd`, when given, is called once
   *  the response body ends or the client leaves. */
  handOff?: (request: Request, upstream: UpstreamConfig, info: HandOffInfo, onEnd?: () => void) => Promise<Response> | null;
  /** Where limit_req / limit_conn count (a Durable Object per count in the Worker); absent:
   *  in this isolate or process. */
  limits?: LimitStore;
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
  /** Keeps the host running for work that outlives the response (the Worker's ctx.waitUntil). */
  waitUntil?: (p: Promise<unknown>) => void;
}

/** What a hand-off gets besides the request: `balanceKey` is the request's hash key for
 *  balance = "hash" (null when it has none or the upstream does not hash). */
export type HandOffInfo = RequestInfo & { requestId: string; balanceKey?: string | null };

export type Gateway = (request: Request, info?: RequestInfo) => Promise<Response>;

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, codec, dial } = deps;
  const site: Site = { config, files: deps.files ?? null, exclude: excludeMatcher(config.assets?.exclude ?? []) };
  const limits = config.routes.some(hasLimits) ? (deps.limits ?? memoryLimitStore()) : null;
  return async (request, info = {}) => {
    // limit_conn places this request holds: given back when its response body ends, or at
    // once for an answer of the gateway's own.
    const held: ConnLease[] = [];
    const release = () => {
      for (const l of held.splice(0)) l.release();
    };
    const hooked = { yes: false };
    // A client that leaves while the origin still works (no response body yet to cancel)
    // gives its place back at once.
    request.signal?.addEventListener("abort", release, { once: true });
    try {
      const res = await handle(request, info, held, release, hooked);
      if (!hooked.yes) release();
      return res;
    } catch (e) {
      release();
      throw e;
    }
  };

  async function handle(request: Request, info: RequestInfo, held: ConnLease[], release: () => void, hooked: { yes: boolean }): Promise<Response> {
    const requestId = info.requestId ?? randomId();
    const log = requestLogger(requestId, deps.sink);
    const url = new URL(request.url);
    const state: DispatchState = {
      acceptEncoding: info.acceptEncoding !== undefined ? info.acceptEncoding : request.headers.get("accept-encoding"),
      vars: requestVars(request, url, config.gateway.serverName),
      clientAddr: info.remoteAddr,
    };
    let limited = false;
    state.guard = async (route) => {
      checkDeclaredLength(request.headers.get("content-length"), maxBodyFor(route.maxBody, config.gateway.maxBody), route.match);
      // nginx counts a request once, on the first location with limits it reaches.
      if (limits && !limited && hasLimits(route)) {
        limited = true;
        await applyLimits(route, { store: limits, request, clientAddr: info.remoteAddr, log, held, waitUntil: info.waitUntil });
      }
    };
    let cap: BodyCap | null = null;
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
      const path = stripPrefix(route.stripPrefix, plan.path);
      const split = splitScript(route, path);
      if ("error" in split) throw new GatewayError(split.error, 400, split.message);
      const upstream = config.upstreams[route.upstream!];
      const dispatched = { path: plan.path, query: plan.query, rewritten: plan.rewritten };
      // nginx passes the client's request line, or the URI try_files changed it to.
      // strip_prefix sends the shortened URI, as proxy_pass with a URI part does.
      const target = plan.rewritten || path !== plan.path ? encodePath(path) + (plan.query ? `?${plan.query}` : "") : url.pathname + url.search;
      const hashKey = upstream.balance.hashKey;
      // The pool object reserves a place on the server this key picks (pool-client.ts).
      const balanceKey = hashKey ? hashKeyOf(hashKey, { clientAddr: info.remoteAddr, target, headers: [...request.headers] }) : null;
      const handed = deps.handOff?.(request, upstream, { ...info, requestId, dispatched, balanceKey }, held.length ? ((hooked.yes = true), release) : undefined);
      if (handed) return await finished(await handed, true);
      const exchange = deps.exchanges?.[upstream.protocol] ?? exchanges[upstream.protocol];
      // A body of unknown length is counted where it is buffered for its length (in the Worker
      // setup: the pool object, which sees a body the Worker cut short as one that ended, so
      // the Worker must not cut it). A streamed one is left as it is: wrapping it would cost a
      // body built in code its known length.
      const maxBody = maxBodyFor(route.maxBody, config.gateway.maxBody);
      if (maxBody > 0 && request.body && request.headers.get("content-length") === null && exchange.needsLength(upstream)) {
        cap = capBody(request.body, maxBody, route.match);
      }

      const body = await prepareBody(
        cap ? cap.stream : request.body,
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
        path,
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
          target,
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
      if (held.length) {
        hooked.yes = true;
        client.body = onBodyEnd(client.body, release);
      }
      log.log("info", "response", { method: request.method, path: plan.path, route: route.match, status: res.status });
      return await finished((deps.respond ?? plainRespond)(client), true);
    } catch (e) {
      // The answer is this error page, not a streamed body: limit_conn places come back now.
      hooked.yes = false;
      // An unread body left behind would cost the client its connection (drain.ts).
      await drainUnread(request.body);
      // A body cut at max_body fails the exchange in its own way; the client hears why.
      return await finished(errorResponse(cap?.tripped ?? e, requestId, log), false);
    }
  }
}

/** strip_prefix: "/app/x" → "/x", "/app" → "/"; a path without the prefix stays. */
export function stripPrefix(prefix: string | undefined, path: string): string {
  if (prefix === undefined) return path;
  if (path === prefix) return "/";
  return path.startsWith(prefix + "/") ? path.slice(prefix.length) : path;
}

/** A request id for hosts that have none from the platform (16 hex digits). */
export function randomId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
