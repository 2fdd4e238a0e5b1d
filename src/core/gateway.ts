// The request pipeline, free of any runtime: route → check the path → frame the body →
// forward through the upstream's Exchange → stream the answer back. Every failure becomes a
// status, a body that says what was wrong, and one log line carrying the request id.
import type { Codec } from "../codec/types.js";
import type { GatewayConfig, UpstreamConfig } from "../config/types.js";
import { matchRoute } from "../edge/locations.js";
import { normalizePath, splitScript } from "../edge/script-path.js";
import { exchanges } from "../protocol/index.js";
import { prepareBody } from "./body.js";
import { cgiEnv, type ClientInfo } from "./cgi-env.js";
import { errorResponse } from "./error-response.js";
import { Codes, GatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import { requestLogger, type LogSink } from "./log.js";
import { plainRespond, toClient, type Respond } from "./respond.js";
import type { Dial } from "./transport.js";

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
  /** Writes the client's response the host's way (lengths kept, encoded bodies untouched). */
  respond?: Respond;
}

export interface RequestInfo extends ClientInfo {
  requestId?: string;
  /** "HTTP/1.1", "HTTP/2"…; the platform's view of the client protocol. */
  protocol?: string;
  /** The client's own Accept-Encoding where the platform rewrites the header (workerd hands a
   *  Worker "br, gzip" whatever the client sent, and keeps the original in
   *  cf.clientAcceptEncoding); "" = the client sent none. Undefined: the header is the client's. */
  acceptEncoding?: string;
}

export type Gateway = (request: Request, info?: RequestInfo) => Promise<Response>;

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, codec, dial } = deps;
  return async (request, info = {}) => {
    const requestId = info.requestId ?? randomId();
    const log = requestLogger(requestId, deps.sink);
    try {
      const url = new URL(request.url);
      const norm = normalizePath(url.pathname);
      if ("error" in norm) throw new GatewayError(norm.error, 400, norm.message);
      const route = matchRoute(config.routes, norm.path);
      if (!route) {
        throw new GatewayError(Codes.ROUTE_NOT_FOUND, 404, `No route matches ${norm.path}.`);
      }
      const split = splitScript(route, norm.path);
      if ("error" in split) throw new GatewayError(split.error, 400, split.message);
      const upstream = config.upstreams[route.upstream];
      const handed = deps.handOff?.(request, upstream, { ...info, requestId });
      if (handed) return await handed;
      const exchange = deps.exchanges?.[upstream.protocol] ?? exchanges[upstream.protocol];

      const body = await prepareBody(
        request.body,
        request.headers.get("content-length"),
        config.gateway.maxBodyBuffer,
        exchange.needsLength(upstream),
      );
      // The origin must see what the client accepts, not the platform's rewrite of it, or it
      // sends codings the client cannot read.
      const acceptEncoding = info.acceptEncoding ?? request.headers.get("accept-encoding");
      const headers: Array<[string, string]> = [];
      request.headers.forEach((v, k) => {
        if (k !== "accept-encoding") headers.push([k, v]);
      });
      if (acceptEncoding) headers.push(["accept-encoding", acceptEncoding]);
      // HTTP/1.1 requests always carry Host; a Request built in code may not. Apps need it.
      if (!request.headers.has("host")) headers.push(["host", url.host]);
      const cgi = cgiEnv({
        method: request.method,
        url,
        path: norm.path,
        split,
        route,
        contentType: request.headers.get("content-type"),
        contentLength: body ? body.length : null,
        protocol: info.protocol ?? "HTTP/1.1",
        serverName: config.gateway.serverName || url.hostname,
        client: info,
        software: SOFTWARE,
      });
      const res = await exchange.forward(
        {
          requestId,
          log,
          method: request.method,
          target: url.pathname + url.search,
          scheme: url.protocol.slice(0, -1),
          clientAddr: info.remoteAddr,
          headers,
          body,
          cgi,
          signal: request.signal,
        },
        { upstream, settings: config.gateway, codec, dial },
      );
      const client = toClient(res, acceptEncoding, upstream.name, log);
      log.log("info", "response", { method: request.method, path: norm.path, route: route.match, status: res.status });
      return (deps.respond ?? plainRespond)(client);
    } catch (e) {
      return errorResponse(e, requestId, log);
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
