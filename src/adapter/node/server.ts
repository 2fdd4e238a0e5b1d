// `edgepass serve`'s server: the one composition (core/compose.ts) with the Node pieces — the
// node:net dial, the socket response writer, and the pools (src/pool) held in this process,
// where connections outlive requests without a Durable Object to keep them.
import type http from "node:http";
import type http2 from "node:http2";
import net from "node:net";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { createCodec } from "../../codec/index.js";
import type { GatewayConfig, ServeSettings } from "../../config/types.js";
import { loadConfig } from "../../config/load.js";
import { gatewayBuilder } from "../../core/compose.js";
import { errorResponse } from "../../core/error-response.js";
import { adminRefusal } from "../../core/dispatch.js";
import { fromResponse } from "../../core/respond.js";
import type { GatewayRequest } from "../../core/gateway.js";
import { Codes, GatewayError } from "../../core/errors.js";
import { hostPort, listen } from "./listen-defaults.js";
import { requestLogger, type LogSink } from "../../core/log.js";
import { memoryLimitStore, type LimitStore } from "../../edge/limits.js";
import { replayHold } from "../../core/replay.js";
import { PoolRegistry } from "../../pool/registry.js";
import { adoptAll, checkedUpstreams, HealthChecks, healthTimer, type Verdicts } from "../../balance/health.js";
import { serveConnection } from "./connection.js";
import { h2OrH1, routeByFirstBytes, tlsOrPlain } from "./first-bytes.js";
import { takeProxyHeader } from "./proxy-protocol.js";
import { h2Server, serveH2 } from "./h2.js";
import { defaultSpoolDir, fileSpool, spooledBytes } from "./body-spool.js";
import { aheadBytes, aheadStore } from "./ahead-file.js";
import { dialNode } from "./dial.js";
import { diskStore } from "./disk-store.js";
import { Generations, type Generation } from "./generations.js";
import { listenMetrics } from "./metrics-listener.js";
import { renderMetrics, routeLabels, ServeMetrics, type Sample } from "./metrics.js";
import { respondNode } from "./respond.js";
import type { ServeRequest } from "./request.js";
import type { RequestInfo } from "../../core/gateway.js";
import type { ClientResponse } from "../../core/respond.js";
import { readStartFiles } from "./start-files.js";
import { redirectServer } from "./https-redirect.js";
import { loadWasmModuleFromDisk } from "./wasm.js";
import { memoryCacheStore } from "../../core/cache-memory.js";

export interface ServeOptions {
  configText: string;
  configSource: string;
  /** The config file's folder (a relative [assets] directory resolves against it). */
  configDir?: string;
  host: string;
  port: number;
  sink?: LogSink;
  /** Open [serve] metrics_listen here (false: a worker process, whose primary opens it). */
  metricsListener?: boolean;
  /** Where limit_req and limit_conn count (a worker's: its primary); default: this process. */
  limits?: LimitStore;
  /** A worker: its primary runs the active health checks and tells it what they find
   *  (adoptHealth); default: this process runs them. */
  healthFromPrimary?: boolean;
  /** --redirect-port: also listen here (on `host`) for plain HTTP, every request of which is
   *  sent to the same URL on the https:// port. Needs [serve] tls. */
  redirectPort?: number;
}

export interface RunningServer {
  /** "http://host:port", or "https://host:port" with [serve] tls */
  origin: string;
  /** "http://host:port" of the --redirect-port listener, when there is one. */
  redirectOrigin: string | null;
  /** The config new requests are served with. */
  readonly config: GatewayConfig;
  /** Serves new requests with `configText` if it validates; requests in flight finish on the
   *  gateway they started on, whose pools close after them. Returns the validation error
   *  (the running config is kept) or null. */
  reload(configText: string, configSource: string): GatewayError | null;
  /** This process's metrics (for a primary that renders its workers'). */
  metricsSamples(): Sample[];
  /** What the primary's health checks found, for the peers of every config from now on. */
  adoptHealth(verdicts: Verdicts): void;
  /** "http://host:port/metrics" when this process opened the metrics listener. */
  metricsUrl: string | null;
  /** Stops accepting, lets requests in flight finish within drain_timeout, then closes the
   *  rest and the pools. */
  stop(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const codec = createCodec(loadWasmModuleFromDisk());
  // One store for the process's life: a reload keeps the counts (a client refused a moment ago
  // is not given a fresh burst), as nginx keeps its zones across a reload.
  const limits = o.limits ?? memoryLimitStore();
  // Request bodies up to 1 MiB are held for a resend, within 64 MiB for all requests of this
  // process (with --workers, of each worker): such an upload rides a kept connection as a short
  // one does instead of costing a new one, and may move on to another server. nginx holds a
  // whole body (client_body_buffer_size in memory, the rest in a temporary file) for this.
  const replay = replayHold(REPLAY_HOLD_LIMIT, REPLAY_HOLD_BUDGET);
  // The routes' cached answers outlive a reload too, as nginx's cache does (a new cache_size
  // starts a new store).
  let cache: { size: number; store: ReturnType<typeof memoryCacheStore> } | null = null;
  const cacheFor = (size: number) => (cache?.size === size ? cache : (cache = { size, store: memoryCacheStore(size) })).store;
  const spoolDir = defaultSpoolDir();
  // One builder (and so one set of pools) per generation: a reload never shares a pool with
  // the gateway it replaces.
  let lastHealth: Verdicts | null = null;
  const build = (text: string, source: string) => {
    const pools = new PoolRegistry(o.sink);
    const built = gatewayBuilder(
      (config) => ({
        codec,
        // [assets] from its directory on disk, looked at afresh on every request.
        files: config.assets ? diskStore(config.assets.absoluteDirectory ?? config.assets.directory) : null,
        dial: dialNode,
        respond: respondNode,
        countsBytes: true,
        // A WebSocket's bytes pass through as they are (adapter/node/tunnel.ts).
        tunnels: "bytes",
        replay,
        spool: fileSpool(config.serve.bodyTemp ?? spoolDir),
        ahead: aheadStore(config.serve.responseTemp ?? spoolDir),
        sink: o.sink,
        limits,
        cache: config.routes.some((r) => r.cache) ? cacheFor(config.gateway.cacheSize) : undefined,
        cacheCounted: (status) => metrics.cacheCounted(status),
        connections: (upstream, requestId) => pools.connections({ upstream, codec, dial: dialNode }, requestId),
        peers: (u) => pools.peers.get(u),
      }),
      (t, src) => loadConfig(t, src, o.configDir, "server", (p) => readFileSync(p, "utf8")),
    )(text, source);
    if (built instanceof GatewayError) return built;
    const files = readStartFiles(built.config.serve, source);
    if (files instanceof GatewayError) return files;
    // Active health checks on a timer; the pools of this generation and its direct upstreams
    // share the same balancer state (pools.peers), so what the checks find is what requests see.
    // A worker's checks are its primary's: it adopts what they found, now and when told.
    if (lastHealth) adoptInto(lastHealth, built.config, pools);
    const checked = checkedUpstreams(built.config);
    if (checked.length && !o.healthFromPrimary) {
      const timer = healthTimer(new HealthChecks(codec, dialNode, requestLogger("-", o.sink)), () => checked.map((u) => pools.peers.get(u)));
      pools.onDispose.push(() => timer.stop());
    }
    return { gen: { ...built, pools }, tls: files };
  };
  const first = build(o.configText, o.configSource);
  if (first instanceof GatewayError) throw first;
  if (o.redirectPort !== undefined && !first.tls) {
    first.gen.pools.dispose();
    throw new GatewayError(Codes.CONFIG_INVALID, 500, `${o.configSource}: --redirect-port sends plain HTTP to this server's https:// port: it needs [serve] tls`);
  }
  const gens = new Generations(first.gen);
  const scheme = first.tls ? "https" : "http";

  const metrics = new ServeMetrics();
  // Requests are counted only where the numbers can be read: a metrics listener is opened at
  // start (by this process, or by the primary of these workers, which share its config) or
  // never. Counting costs each request two reads of its socket's byte counts and the route's
  // label, a few percent of a small one.
  const counting = first.gen.config.serve.metricsListen !== undefined;
  const observe = counting
    ? {
        started: () => metrics.inFlight++,
        answered: (request: ServeRequest | null, status: number, bytesIn: number, bytesOut: number) => {
          metrics.inFlight--;
          metrics.answered(routeOf(request), status, bytesIn, bytesOut);
        },
      }
    : undefined;
  const routeOf = routeLabels(() => gens.current.config);
  let draining = false;
  /** [gateway] log is on in the config of the moment. */
  const requestLog = () => gens.current.config.gateway.log;
  /** A request answered on `gen`: the admin path's statistics, or the gateway's answer. */
  const answer = (gen: Generation, request: ServeRequest, info: RequestInfo & { requestId: string }): Promise<ClientResponse> => {
    const admin = gen.config.gateway.adminPath;
    if (admin && request.parsed.pathname === admin) {
      const refused = adminRefusal(gen.config.gateway, request.headers.get("authorization"), info.tls);
      return refused ? Promise.reject(refused) : fromResponse(adminResponse(request, gen.pools, info.requestId, o.sink), true);
    }
    return gen.gateway(request, info);
  };
  // Each open connection, and whether it waits for a request (a stop ends those at once; an
  // HTTP/2 one is told to finish its streams and take no more): a flag of the connection's,
  // set and cleared per request without a set of them.
  const sockets = new Map<net.Socket, { idle: boolean; drain?: () => void }>();
  const ended = (sock: net.Socket) => {
    metrics.connectionsOpen--;
    sock.destroy();
    sockets.delete(sock);
  };
  const failed = (e: unknown) => requestLogger("-", o.sink).log("error", "connection_failed", { detail: e instanceof Error ? e.stack : String(e) });
  // The http2 server whose settings (max_header) connections accepted now get.
  let h2: { settings: ServeSettings; server: http2.Http2Server } | null = null;
  const onH2 = (sock: net.Socket) => {
    const settings = gens.current.config.serve;
    if (h2?.settings !== settings) h2 = { settings, server: h2Server(settings) };
    const state: { idle: boolean; drain?: () => void } = { idle: false };
    sockets.set(sock, state);
    metrics.connectionsOpen++;
    metrics.connectionsTotal++;
    const conn = serveH2(sock, h2.server, {
      codec,
      settings,
      scheme,
      observe,
      sink: o.sink,
      requestLog,
      idle: (yes) => (state.idle = yes),
      // Each stream holds the config it started on until its answer is written.
      handle: (request, info) => {
        const { gen, release } = gens.take();
        try {
          return { answer: answer(gen, request, info), release };
        } catch (e) {
          return { answer: Promise.reject(e), release };
        }
      },
    });
    state.drain = conn.drain;
    if (draining) conn.drain();
    void conn.done.catch(failed).finally(() => ended(sock));
  };
  const onConnection = (sock: net.Socket, refuse?: GatewayError) => {
    if ((sock as tls.TLSSocket).alpnProtocol === "h2") return onH2(sock);
    // The generation this connection's request in flight holds, released once it is answered
    // (a variable of the connection's, not an entry per request in a map of all of them).
    let lease: (() => void) | null = null;
    const release = () => {
      lease?.();
      lease = null;
    };
    const state = { idle: false };
    sockets.set(sock, state);
    metrics.connectionsOpen++;
    metrics.connectionsTotal++;
    void serveConnection(sock, {
      observe,
      codec,
      scheme,
      settings: gens.current.config.serve,
      draining: () => draining,
      idle: (yes) => {
        if (yes) {
          state.idle = true;
          release();
        } else state.idle = false;
      },
      // A WebSocket may last for hours: it does not hold its config's pools open that long.
      switched: release,
      sink: o.sink,
      refuse,
      requestLog,
      // No async layer of its own: the gateway's promise is the answer's.
      handle: (request, info) => {
        // A pipelined request follows its predecessor without an idle wait between them.
        release();
        const { gen, release: done } = gens.take();
        lease = done;
        return answer(gen, request, info);
      },
    })
      .catch(failed)
      .finally(() => {
        ended(sock);
        release();
      });
  };
  // allowHalfOpen: a client that sends its request and then shuts down its side still gets
  // the answer (curl -T, and any client that ends its writes early). A TLS connection is
  // served once its handshake is done, which must end within header_timeout.
  const headerTimeoutMs = first.gen.config.serve.headerTimeoutMs;
  // ALPN offers HTTP/2 first (as nginx with http2 on, and Caddy); a client that asks for
  // neither gets HTTP/1.1.
  const ALPNProtocols = first.gen.config.serve.http2 ? ["h2", "http/1.1"] : ["http/1.1"];
  // The certificates of the config of the moment (a reload reads them again).
  let certificates = first.tls;
  const SNICallback = (name: string, cb: (e: Error | null, ctx?: tls.SecureContext) => void) => cb(null, certificates?.forName(name));
  // client_ca: the gateway judges the certificate (a bad one gets an HTTP answer, as in nginx).
  const askCerts = first.gen.config.serve.clientCerts ? { requestCert: true, rejectUnauthorized: false } : {};
  const secure = first.tls ? tls.createServer({ ...first.tls.first, ...askCerts, SNICallback, ALPNProtocols, allowHalfOpen: true, handshakeTimeout: headerTimeoutMs }, onConnection) : null;
  // [serve] h2c: a plain connection that opens with HTTP/2's preface is served HTTP/2.
  const plain = first.gen.config.serve.h2c ? (s: net.Socket) => routeByFirstBytes(s, headerTimeoutMs, h2OrH1(onH2, onConnection)) : onConnection;
  const take = secure ? (s: net.Socket) => routeByFirstBytes(s, headerTimeoutMs, tlsOrPlain(secure, (p) => onConnection(p, PLAIN_TO_TLS))) : plain;
  // [serve] proxy_protocol: a balancer's header comes first, before TLS (proxy-protocol.ts).
  const accept = first.gen.config.serve.proxyProtocol ? (s: net.Socket, next: (s: net.Socket) => void) => takeProxyHeader(s, headerTimeoutMs, gens.current.config.serve.realIpFrom, next, (detail) => requestLogger("-", o.sink).log("warn", "proxy_header_refused", { detail })) : undefined;
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, accept ? (s) => accept(s, take) : take);
  // Every TCP connection, a TLS one still in its handshake too, so a stop can end them all.
  const raw = new Set<net.Socket>();
  const tracked = (l: net.Server) =>
    l.on("connection", (s: net.Socket) => {
      raw.add(s);
      s.once("close", () => raw.delete(s));
    });
  const addr = await listen(tracked(server), o.host, o.port);
  const origin = `${scheme}://${hostPort(addr)}`;
  // --redirect-port: plain HTTP, each request answered with the same URL on the https:// port.
  const redirect =
    o.redirectPort === undefined
      ? null
      : tracked(redirectServer(addr.port, { codec, settings: () => gens.current.config.serve, draining: () => draining, sink: o.sink, requestLog, sockets, failed, accept }));
  let redirectOrigin: string | null = null;
  if (redirect) {
    try {
      redirectOrigin = `http://${hostPort(await listen(redirect, o.host, o.redirectPort!, "--redirect-port"))}`;
    } catch (e) {
      server.close();
      for (const s of raw) s.destroy();
      gens.dispose();
      throw e;
    }
  }
  const metricsSamples = () => metrics.samples(gens.current.pools.stats(), cache?.store, { answers: aheadBytes(), bodies: spooledBytes() });
  const metricsAt = o.metricsListener === false ? undefined : first.gen.config.serve.metricsListen;
  let metricsServer: http.Server | null = null;
  try {
    if (metricsAt) metricsServer = await listenMetrics(metricsAt, () => renderMetrics(metricsSamples()));
  } catch (e) {
    server.close();
    gens.dispose();
    throw e;
  }

  return {
    origin,
    redirectOrigin,
    get config() {
      return gens.current.config;
    },
    metricsSamples,
    adoptHealth: (verdicts) => {
      lastHealth = verdicts;
      adoptInto(verdicts, gens.current.config, gens.current.pools);
    },
    metricsUrl: metricsAt ? `http://${metricsAt.host.includes(":") ? `[${metricsAt.host}]` : metricsAt.host}:${metricsAt.port}/metrics` : null,
    reload: (text, source) => {
      const next = build(text, source);
      if (next instanceof GatewayError) return next;
      // What a listener or file opened at start holds changes only with a restart: what the
      // listener offers among them (http2 matters only with tls).
      const [was, is] = [first.gen.config.serve, next.gen.config.serve];
      const offers = next.tls ? "http2" : "h2c";
      const fixed = is.accessLog !== was.accessLog ? "access_log" : !is.proxyProtocol !== !was.proxyProtocol ? "proxy_protocol" : JSON.stringify(is.metricsListen) !== JSON.stringify(was.metricsListen) ? "metrics_listen" : is[offers] !== was[offers] ? offers : null;
      if (fixed) {
        next.gen.pools.dispose();
        return new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] ${fixed} cannot be changed by a reload; restart edgepass serve for that`);
      }
      // Whether the listener asks for client certificates is set when it starts, too.
      const turned = !next.tls !== !first.tls ? ["tls", next.tls] : !was.clientCerts !== !is.clientCerts ? ["client_ca", is.clientCerts] : null;
      if (turned) {
        next.gen.pools.dispose();
        return new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] ${turned[0]} cannot be turned ${turned[1] ? "on" : "off"} by a reload; restart edgepass serve for that`);
      }
      if (next.tls) {
        secure!.setSecureContext(next.tls.first);
        certificates = next.tls;
      }
      gens.replace(next.gen);
      return null;
    },
    stop: async () => {
      draining = true;
      const closed = Promise.all([server, redirect].map((l) => new Promise<void>((r) => (l ? l.close(() => r()) : r()))));
      // Idle kept-alive connections are waiting for a request that should go elsewhere now;
      // the others close after the answer they are reading or writing.
      for (const [s, c] of sockets) {
        if (c.drain) c.drain();
        else if (c.idle) s.end();
      }
      const deadline = Date.now() + gens.current.config.serve.drainTimeoutMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets.keys()) s.destroy();
      for (const s of raw) s.destroy();
      await closed;
      await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
      gens.dispose();
    },
  };
}

/** The primary's verdicts, in the balancer state of one generation's upstreams. */
function adoptInto(verdicts: Verdicts, config: GatewayConfig, pools: PoolRegistry): void {
  adoptAll(verdicts, (name) => config.upstreams[name] && pools.peers.get(config.upstreams[name]));
}

function adminResponse(request: GatewayRequest, pools: PoolRegistry, requestId: string, sink?: LogSink): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("405 Method Not Allowed\n\nThe pool statistics answer GET only.\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  try {
    return new Response(JSON.stringify({ upstreams: pools.stats(), balance: pools.peers.stats() }), { headers: { "content-type": "application/json" } });
  } catch (e) {
    return errorResponse(e, requestId, requestLogger(requestId, sink));
  }
}

/** The longest request body held for a resend, and the most held at once (see startServer). */
const REPLAY_HOLD_LIMIT = 1024 * 1024;
const REPLAY_HOLD_BUDGET = 64 * 1024 * 1024;

const PLAIN_TO_TLS = new GatewayError(Codes.PLAIN_HTTP_TO_HTTPS_PORT, 400, "This port speaks HTTPS, and the request came as plain HTTP: use an https:// URL.");
