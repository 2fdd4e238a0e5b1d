// The request pipeline, free of any runtime: dispatch (route, access, return, try_files,
// static files; dispatch.ts) → check the path → frame the body → forward through the
// upstream's Exchange → stream the answer back → finish (X-Accel-Redirect, error pages, header
// policy; finish.ts). Every failure becomes a status, a body that says what was wrong, and one
// log line carrying the request id. Every request, answered by whoever, gets its X-Request-Id
// back and one request line (access-log.ts) once the client's body has ended.
import type { Codec } from "../codec/types.js";
import type { GatewayConfig, UpstreamConfig } from "../config/types.js";
import { excludeMatcher } from "../edge/exclude.js";
import type { FileStore } from "../edge/file-store.js";
import { normalizePath, splitScript, stripPrefix } from "../edge/script-path.js";
import { expandVariables, requestVars } from "../edge/variables.js";
import type { RequestUrl } from "../edge/request-url.js";
import { dispatch, handedOnRoute, type DispatchState, type Forward, type HandedOn, type Site } from "./dispatch.js";
import { finish, type FinishContext } from "./finish.js";
import { exchanges } from "../protocol/index.js";
import { prepareBody, type BodySpool } from "./body.js";
import type { AheadStore } from "./read-ahead.js";
import { cgiEnv, forwardedFields, type ClientInfo } from "./cgi-env.js";
import { dropUnread } from "./drain.js";
import type { ReplayHold } from "./replay.js";
import { errorAnswer } from "./error-response.js";
import { GatewayError, isGatewayError } from "./errors.js";
import { randomId } from "./random-id.js";
import type { ClientSignal, Connections, ForwardRequest } from "./exchange.js";
import { requestLogger, type LogSink } from "./log.js";
import { meteredBody, type StreamBody } from "./pieces.js";
import { dropExtensions, handshakeFor, type TunnelKind } from "./tunnel.js";
import { fromResponse, plainRespond, toClient, type BodyMeter, type ClientResponse, type Respond } from "./respond.js";
import { hopRecord, mergeHopRecord, newRecord, RECORD_HEADER, serverTiming, since, validRequestId, writeRequestLine } from "./access-log.js";
import { authorize } from "./authorizer.js";
import type { Dial } from "./transport.js";
import { encodePath } from "../edge/uri.js";
import { memoryLimitStore, type ConnLease, type LimitStore } from "../edge/limits.js";
import { applyLimits, hasLimits, holdingPlaces, onBodyEnd } from "./limit-check.js";
import { capBody, checkDeclaredLength, maxBodyFor, type BodyCap } from "./body-limit.js";
import { forwardBalanced } from "../balance/next-upstream.js";
import { hashKeyOf } from "../balance/hash.js";
import type { Peers } from "../balance/peers.js";
import { peersFor } from "../balance/registry.js";
import { CACHE_VALIDATORS, NEVER_ABORTED, throughCache, usesCache, withFields, type Answer, type CacheLocks, type CacheStore, type OriginAsk } from "./cache.js";
import { memoryCacheStore } from "./cache-memory.js";

export const SOFTWARE = "edgepass/0.1.0";

export interface GatewayDeps<Out = Response> {
  config: GatewayConfig;
  codec: Codec;
  dial: Dial;
  sink?: LogSink;
  /** The kept connections a request to `upstream` leases (the host's pools, src/pool);
   *  absent, or undefined for an upstream: the exchange dials its own. */
  connections?: (upstream: UpstreamConfig, requestId: string) => Connections | undefined;
  /** Hands a routed request to wherever its upstream's connections live (in the Worker: the
   *  upstream's UpstreamPool Durable Object), or returns null to forward it from here. Called
   *  before the body is touched, so it streams through. `onEnd`, when given, is called once
   *  the response body ends or the client leaves. */
  handOff?: (request: Request, upstream: UpstreamConfig, info: HandOffInfo, onEnd?: () => void) => Promise<ClientResponse> | null;
  /** Where limit_req / limit_conn count (a Durable Object per count in the Worker); absent:
   *  in this isolate or process. */
  limits?: LimitStore;
  /** The files [assets] serves (static routes, try_files, X-Accel-Redirect, error pages). */
  files?: FileStore | null;
  /** Makes the client's response the host's way (lengths kept); absent: a plain Response. */
  respond?: Respond<Out>;
  /** The host's `respond` reports the body's bytes and end itself (ClientResponse.meter);
   *  otherwise the body is wrapped in a stream that counts them. */
  countsBytes?: boolean;
  /** Request fields come decoded as UTF-8 (workerd), else a character a byte (log-format.ts). */
  fieldsUtf8?: boolean;
  /** Room to hold request bodies over 64 KiB for a resend (core/replay.ts); absent: none. */
  replay?: ReplayHold;
  /** Where a held body goes past 64 KiB (core/body.ts); absent: memory, none held whole. */
  spool?: BodySpool;
  /** Where answers are read ahead of slow clients (read-ahead.ts); absent: the client's pace. */
  ahead?: AheadStore;
  /** The balancer state of an upstream (health, load); default: one per isolate. */
  peers?: (upstream: UpstreamConfig) => Peers;
  /** The host can join a switched origin connection to its client (core/tunnel.ts), and
   *  how; absent: a WebSocket handshake reaches the origin as a plain GET. */
  tunnels?: TunnelKind;
  /** Where cached answers are kept (the Worker: Cloudflare's cache); absent: memory. */
  cache?: CacheStore;
  /** Told each answer's $upstream_cache_status on a route with a cache (serve's metrics). */
  cacheCounted?: (status: string) => void;
  /** A pool object's count of a streamed body it hands back to the front gateway, which asks
   *  for it by `handOff` (RequestInfo.handOff) when its relay could not count (PoolHost.sent). */
  hopMeter?: (handOff: string, length: number | null) => BodyMeter;
}

export interface RequestInfo extends ClientInfo {
  requestId?: string;
  /** "HTTP/1.1", "HTTP/2"…; the platform's view of the client protocol. */
  protocol?: string;
  /** Set by a gateway that already dispatched the request and hands it on (to the pool
   *  object): forward this URI through its route, as is, with no file or policy step. */
  dispatched?: HandedOn;
  /** The client's own Accept-Encoding where the platform replaced the header (Cloudflare:
   *  request.cf.clientAcceptEncoding); absent: the request's header is the client's. */
  acceptEncoding?: string | null;
  /** Parameters a front gateway's authorizer granted (Variable-* headers), for the pool
   *  object to pass on. */
  authorized?: Array<[string, string]>;
  /** Keeps the host running for work that outlives the response (the Worker's ctx.waitUntil). */
  waitUntil?: (p: Promise<unknown>) => void;
  /** The request's URL, parsed, where the host already parsed it (read, never changed). */
  url?: RequestUrl;
  /** The front gateway's name for this hand-off, unique among the requests a pool object
   *  serves (unlike a request id, which a client may choose): GatewayDeps.hopMeter's key. */
  handOff?: string;
  /** The client sent "Expect: 100-continue" and waits to be asked for its body. The host that
   *  parsed the head says so (`edgepass serve`, which answers the expectation itself and
   *  keeps the field from the gateway); absent, the request's Expect field tells. */
  awaitsContinue?: boolean;
}

/** What a hand-off gets besides the request: `balanceKey` is the request's hash key for
 *  balance = "hash" (null when it has none or the upstream does not hash). */
export type HandOffInfo = RequestInfo & { requestId: string; balanceKey?: string | null };

/** What the pipeline reads of a request's fields: a fetch Headers is one; `edgepass serve`
 *  keeps the parsed head's fields in a map of its own (adapter/node/request.ts). Names are
 *  case-insensitive; a repeated field reads as its values joined by ", ". */
export interface RequestFields {
  get(name: string): string | null;
  has(name: string): boolean;
  /** Each field once, by its lower-case name. */
  forEach(fn: (value: string, name: string) => void): void;
}

/** What the pipeline reads of a request. The Worker passes its Request; `edgepass serve`
 *  builds a plain object from the parsed head (adapter/node/request.ts), so no undici Request,
 *  second Headers copy or follower AbortSignal is made per request. */
export interface GatewayRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: RequestFields;
  /** A platform Request's stream, or (serve) the pieces read from the client's connection. */
  readonly body: StreamBody | null;
  readonly signal: ClientSignal;
}

export type Gateway<Out = Response> = (request: GatewayRequest, info?: RequestInfo) => Promise<Out>;

export function createGateway<Out = Response>(deps: GatewayDeps<Out>): Gateway<Out> {
  const { config, codec, dial } = deps;
  const respond = (deps.respond ?? plainRespond) as Respond<Out>;
  const site: Site = { config, files: deps.files ?? null, exclude: excludeMatcher(config.assets?.exclude ?? []) };
  const limits = config.routes.some(hasLimits) ? (deps.limits ?? memoryLimitStore()) : null;
  const cacheStore = config.routes.some((r) => r.cache) ? (deps.cache ?? memoryCacheStore(config.gateway.cacheSize)) : null;
  const cacheLocks: CacheLocks = new Map();
  const noop = () => {};
  // Without limits nothing is held: no promise around the pipeline's own.
  return (request, info = {}) => (limits ? holdingPlaces(request, (held, release, hooked) => handle(request, info, held, release, hooked)) : handle(request, info, [], noop, { yes: false }));

  async function handle(request: GatewayRequest, info: RequestInfo, held: ConnLease[], release: () => void, hooked: { yes: boolean }): Promise<Out> {
    const start = performance.now();
    // A pool object serves a request its front already named; the front keeps a valid id
    // the client sent, else the platform's (cf-ray, the Node connection's), else a new one.
    const requestId = info.dispatched ? (info.requestId ?? randomId()) : (validRequestId(request.headers.get("x-request-id")) ?? info.requestId ?? randomId());
    const log = requestLogger(requestId, deps.sink);
    const url = info.url ?? new URL(request.url);
    const record = newRecord(requestId, request.method, url.pathname, info.remoteAddr);
    const state: DispatchState = {
      acceptEncoding: info.acceptEncoding !== undefined ? info.acceptEncoding : request.headers.get("accept-encoding"),
      vars: requestVars(request, url, config.gateway.serverName, info.tls, info.remoteAddr, info.protocol),
      record,
      clientAddr: info.remoteAddr,
    };
    let limited = false;
    state.guard = (route) => {
      checkDeclaredLength(request.headers.get("content-length"), maxBodyFor(route.maxBody, config.gateway.maxBody), route.match);
      // nginx counts a request once, on the first location with limits it reaches.
      if (limits && !limited && hasLimits(route)) {
        limited = true;
        return applyLimits(route, {
          store: limits,
          request,
          clientAddr: info.remoteAddr,
          log,
          held,
          waitUntil: info.waitUntil,
          decided: (d) => (record.limit = d),
        });
      }
    };
    let cap: BodyCap | null = null;
    const fin: FinishContext = { site, request, state, requestId, log, ahead: deps.ahead, start };
    // Every answer ends here, as a ClientResponse: an origin's as toClient made it, the
    // gateway's own (a Response from dispatch, an error) with its length.
    // A promise only when something on the way waits (a platform Response read, a file or
    // an error page): the answer of most requests is made without one.
    const done = (r: Response | ClientResponse, fromOrigin: boolean): Out | Promise<Out> => {
      record.route ??= state.route?.match;
      if (r instanceof Response) return fromResponse(r, !fromOrigin).then((c) => doneWith(c, fromOrigin));
      return doneWith(r, fromOrigin);
    };
    const doneWith = (c: ClientResponse, fromOrigin: boolean): Out | Promise<Out> => {
      // A front gateway dispatched this request and writes its line; it hears what was
      // learned here (server, connect time, retries) in a header it removes.
      if (info.dispatched) {
        c.headers.set(RECORD_HEADER, hopRecord(record));
        if (deps.hopMeter && info.handOff && c.body && !(c.body instanceof Uint8Array)) c.meter = deps.hopMeter(info.handOff, c.length);
        return respond(c);
      }
      const f = finish(fin, c, fromOrigin);
      return f instanceof Promise ? f.then((x) => meter(x, fromOrigin)) : meter(f, fromOrigin);
    };
    const meter = (c: ClientResponse, fromOrigin: boolean): Out => {
      record.status = c.status;
      record.from ??= fromOrigin ? "origin" : "gateway";
      const cached = (record.cache = state.vars.cacheStatus);
      if (cached) deps.cacheCounted?.(cached);
      c.headers.set("x-request-id", requestId);
      if (config.gateway.serverTiming) c.headers.set("server-timing", serverTiming(record));
      let ended = false;
      const end = (at?: number) => {
        if (ended) return;
        ended = true;
        record.total_ms = since(start, at);
        writeRequestLine(state.route?.log ?? config.gateway.log, log, record, state.vars, deps.fieldsUtf8);
      };
      const count = (n: number) => (record.bytes_out += n);
      if (c.tunnel) {
        // A WebSocket's line is written when it ends, with its bytes each way and how long
        // it lasted, as nginx logs an upgraded connection when it closes.
        c.tunnel.counts = { fromOrigin: count, toOrigin: (n) => (record.bytes_in += n) };
        c.tunnel.onClose(() => end());
      } else if (!c.body) end();
      else if (deps.countsBytes) c.meter = { count, end };
      // Counted as it is read; `end` once, at its end, a failure or the client's leaving.
      else c.body = meteredBody(c.body, { count, end });
      return respond(c);
    };
    try {
      const norm = normalizePath(url.pathname);
      if ("error" in norm) throw new GatewayError(norm.error, 400, norm.message);
      state.vars.uri = norm.path;
      let plan: ClientResponse | Forward;
      if (info.dispatched) {
        const d = info.dispatched;
        const route = (state.route = handedOnRoute(config, d, state.vars));
        plan = { route, path: d.path, query: d.query, rewritten: d.rewritten };
      } else {
        const d = dispatch(site, request, state);
        plan = d instanceof Promise ? await d : d;
      }
      if ("status" in plan) {
        const d = done(plan, false);
        return d instanceof Promise ? await d : d;
      }
      const route = plan.route;
      const path = stripPrefix(route.stripPrefix, plan.path);
      const split = splitScript(route, path);
      if ("error" in split) throw new GatewayError(split.error, 400, split.message);
      const upstream = config.upstreams[route.upstream!];
      record.upstream = upstream.name;
      // A WebSocket handshake this host carries on (core/tunnel.ts), or null.
      const handshake = handshakeFor(deps.tunnels, upstream, request, info.protocol);
      const upgrade = handshake !== null;
      // A pool object forwards what its front gateway did not find in the cache.
      const cache = cacheStore && route.cache && !info.dispatched && !upgrade && usesCache(route.cache, request, state.vars) ? route.cache : null;
      // A hit answers validators and ranges itself: the origin is asked without them.
      const headers = forwardedFields(request, state.acceptEncoding, requestId, url.host, cache ? CACHE_VALIDATORS : undefined);
      if (handshake === "messages") dropExtensions(headers);
      const cgiFor = (contentLength: number | null) =>
        cgiEnv({
          method: request.method,
          url,
          path,
          query: plan.query,
          split,
          route,
          contentType: request.headers.get("content-type"),
          contentLength,
          protocol: info.protocol ?? "HTTP/1.1",
          serverName: state.vars.serverName,
          client: info,
          software: SOFTWARE,
          remoteUser: state.vars.remoteUser,
        });
      const forwardReq: ForwardRequest = {
        requestId,
        log,
        method: request.method,
        // nginx passes the client's request line, or the URI try_files changed it to.
        // strip_prefix sends the shortened URI, as proxy_pass with a URI part does.
        target: plan.rewritten || path !== plan.path ? encodePath(path) + (plan.query ? `?${plan.query}` : "") : url.pathname + url.search,
        scheme: url.protocol.slice(0, -1),
        clientAddr: info.remoteAddr,
        tls: info.tls,
        setHeaders: route.requestHeaders?.map(([n, v]) => [n, expandVariables(v, state.vars)]),
        headers,
        signal: request.signal,
        record,
        upgrade,
        // Set below, once the body is prepared.
        body: null,
        cgi: [],
      };
      let granted = info.authorized ?? [];
      if (route.authorizer && !info.dispatched) {
        const verdict = await authorize(route.authorizer, { ...forwardReq, cgi: cgiFor(null) }, { settings: config.gateway, codec, dial }, config);
        if ("deny" in verdict) {
          await dropUnread(request, info);
          record.from = "origin";
          return await done(toClient(verdict.deny, state.acceptEncoding, route.authorizer.upstream, log), true);
        }
        granted = verdict.allow;
      }
      const dispatched: HandedOn = { path: plan.path, query: plan.query, rewritten: plan.rewritten, route: config.routes.indexOf(route), match: route.match, remoteUser: state.vars.remoteUser };
      const hashKey = upstream.balance.hashKey;
      // The pool object reserves a place on the server this key picks (pool-client.ts).
      const balanceKey = hashKey ? hashKeyOf(hashKey, forwardReq) : null;
      // Only the Worker hands off, and the Worker's gateway is given the platform's Requests.
      // A handshake is forwarded from here: the switched connection is this request's own.
      // limit_conn's places then come back when the relayed body ends (not on a cache hit,
      // which never asks: they come back as the answer goes).
      const toOrigin = async (ask: OriginAsk = {}): Promise<Answer> => {
        // A background update (cache.ts) writes no line of its own and holds no place.
        const rec = (forwardReq.record = ask.background ? { ...record } : record);
        const holds = held.length > 0 && !ask.background;
        if (ask.background) forwardReq.signal = NEVER_ABORTED;
        if (ask.fields) forwardReq.headers = [...headers, ...ask.fields];
        const onEnd = holds ? ((hooked.yes = true), release) : undefined;
        // On a route with a cache the pool object gets no validators or ranges of the client's.
        const sent = cache && deps.handOff ? withFields(request as Request, CACHE_VALIDATORS, ask.fields) : request;
        const handed = upgrade ? null : deps.handOff?.(sent as Request, upstream, { ...info, requestId, dispatched, authorized: granted, balanceKey }, onEnd);
        if (handed) {
          const res = await handed;
          // The pool object's own error page is no answer from the origin.
          const failed = res.headers.get("x-edgepass-error");
          if (failed === null) rec.first_byte_ms = since(start);
          else Object.assign(rec, { error: failed, from: "gateway" });
          mergeHopRecord(rec, res.headers);
          return { res, fromOrigin: failed === null };
        }
        const exchange = exchanges[upstream.protocol];
        // A body of unknown length is counted here, by the gateway that forwards it: before it
        // is held, or as it streams to an HTTP origin, whose connection is then cut short of its
        // end. (The Worker's pool object counts a pooled one: it sees a cut body as ended.)
        const maxBody = maxBodyFor(route.maxBody, config.gateway.maxBody);
        if (maxBody > 0 && request.body && request.headers.get("content-length") === null) {
          cap = capBody(request.body, maxBody, route.match);
        }
        const hold = upstream.requestBuffering ?? deps.spool?.holds === true; // request_buffering
        const prepared = request.body
          ? await prepareBody(cap ? cap.stream : request.body, request.headers.get("content-length"), config.gateway.maxBodyBuffer, exchange.needsLength(upstream), deps.spool, hold)
          : null;
        // The platform's fetch() keeps a body's length only on the stream the platform made, so
        // a body to a via = "fetch" origin is counted as declared; every other one as it flows.
        const viaFetch = upstream.http?.via === "fetch";
        if (prepared && viaFetch) rec.bytes_in = prepared.length ?? 0;
        if (prepared && !viaFetch) prepared.count = (n: number) => (rec.bytes_in += n);
        forwardReq.body = prepared;
        // An HTTP origin reads the request's own head, not CGI variables.
        forwardReq.cgi = exchange.cgi ? cgiFor(prepared ? prepared.length : null) : [];
        if (granted.length) forwardReq.cgi.push(...granted);
        const res = await forwardBalanced(
          exchange,
          forwardReq,
          { upstream, settings: config.gateway, codec, dial, connections: deps.connections?.(upstream, requestId), plan: undefined, replay: deps.replay },
          (deps.peers ?? peersFor)(upstream),
        );
        rec.first_byte_ms = since(start);
        let client: ClientResponse;
        try {
          client = toClient(res, state.acceptEncoding, upstream.name, log);
        } catch (e) {
          res.tunnel?.close();
          throw e;
        }
        client.tunnel = res.tunnel;
        if (holds) {
          hooked.yes = true;
          // A limit_conn place is held as long as a switched connection is open, as nginx
          // counts a WebSocket for as long as it lasts.
          if (res.tunnel) res.tunnel.onClose(release);
          else client.body = onBodyEnd(client.body, release);
        }
        return { res: client, fromOrigin: true };
      };
      const answer = cache ? await throughCache({ rule: cache, store: cacheStore!, locks: cacheLocks, vars: state.vars, request, acceptEncoding: state.acceptEncoding, log, record, waitUntil: info.waitUntil }, toOrigin) : await toOrigin();
      // A cached answer leaves the client's body (if any) unread.
      if (record.from === "cache") await dropUnread(request, info);
      // Awaited only when it is a promise, and here, so its failure is this try's.
      const d = done(answer.res, answer.fromOrigin);
      return d instanceof Promise ? await d : d;
    } catch (e) {
      // The answer is this error page, not a streamed body: limit_conn places come back now.
      hooked.yes = false;
      // An unread body left behind would cost the client its connection (drain.ts).
      await dropUnread(request, info);
      // A body cut at max_body fails the exchange in its own way; the client hears why.
      const why = (cap as BodyCap | null)?.tripped ?? e;
      if (isGatewayError(why)) record.error = why.code;
      return await done(errorAnswer(why, requestId, log), false);
    }
  }
}
