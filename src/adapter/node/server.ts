// `edgepass serve`'s server: the one composition (core/compose.ts) with the Node pieces — the
// node:net dial, the socket response writer, and the pools (src/pool) held in this process,
// where connections outlive requests without a Durable Object to keep them.
import net from "node:net";
import { createCodec } from "../../codec/index.js";
import type { GatewayConfig } from "../../config/types.js";
import { loadConfig } from "../../config/load.js";
import { gatewayBuilder } from "../../core/compose.js";
import { errorResponse } from "../../core/error-response.js";
import { GatewayError } from "../../core/errors.js";
import { requestLogger, type LogSink } from "../../core/log.js";
import { PoolRegistry } from "../../pool/registry.js";
import { pooledFastcgiExchange } from "../../protocol/fastcgi/pooled-exchange.js";
import { pooledHttpExchange } from "../../protocol/http/exchange.js";
import { serveConnection } from "./connection.js";
import { dialNode } from "./dial.js";
import { Generations } from "./generations.js";
import { respondNode } from "./respond.js";
import { loadWasmModuleFromDisk } from "./wasm.js";

export interface ServeOptions {
  configText: string;
  configSource: string;
  /** The config file's folder (a relative [assets] directory resolves against it). */
  configDir?: string;
  host: string;
  port: number;
  sink?: LogSink;
}

export interface RunningServer {
  /** "http://host:port" */
  origin: string;
  /** The config new requests are served with. */
  readonly config: GatewayConfig;
  /** Serves new requests with `configText` if it validates; requests in flight finish on the
   *  gateway they started on, whose pools close after them. Returns the validation error
   *  (the running config is kept) or null. */
  reload(configText: string, configSource: string): GatewayError | null;
  /** Stops accepting, lets requests in flight finish within drain_timeout, then closes the
   *  rest and the pools. */
  stop(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const codec = createCodec(loadWasmModuleFromDisk());
  // One builder (and so one set of pools) per generation: a reload never shares a pool with
  // the gateway it replaces.
  const build = (text: string, source: string) => {
    const pools = new PoolRegistry(o.sink);
    const built = gatewayBuilder(
      () => ({
        codec,
        dial: dialNode,
        respond: respondNode,
        sink: o.sink,
        exchanges: { fastcgi: pooledFastcgiExchange(pools), http: pooledHttpExchange(pools) },
      }),
      (t, src) => loadConfig(t, src, o.configDir, "server"),
    )(text, source);
    return built instanceof GatewayError ? built : { ...built, pools };
  };
  const first = build(o.configText, o.configSource);
  if (first instanceof GatewayError) throw first;
  const gens = new Generations(first);

  let draining = false;
  const sockets = new Set<net.Socket>();
  const idle = new Set<net.Socket>();
  // The generation each connection's request in flight holds, released once it is answered.
  const leases = new Map<net.Socket, () => void>();
  const release = (sock: net.Socket) => {
    leases.get(sock)?.();
    leases.delete(sock);
  };
  // allowHalfOpen: a client that sends its request and then shuts down its side still gets
  // the answer (curl -T, and any client that ends its writes early).
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    void serveConnection(sock, {
      codec,
      settings: gens.current.config.serve,
      draining: () => draining,
      idle: (yes) => {
        if (yes) {
          idle.add(sock);
          release(sock);
        } else idle.delete(sock);
      },
      sink: o.sink,
      handle: async (request, info) => {
        // A pipelined request follows its predecessor without an idle wait between them.
        release(sock);
        const { gen, release: done } = gens.take();
        leases.set(sock, done);
        const admin = gen.config.gateway.adminPath;
        if (admin && new URL(request.url).pathname === admin) return adminResponse(request, gen.pools, info.requestId, o.sink);
        return gen.gateway(request, info);
      },
    })
      .catch((e) => requestLogger("-", o.sink).log("error", "connection_failed", { detail: e instanceof Error ? e.stack : String(e) }))
      .finally(() => {
        sock.destroy();
        release(sock);
        sockets.delete(sock);
        idle.delete(sock);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  const origin = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;

  return {
    origin,
    get config() {
      return gens.current.config;
    },
    reload: (text, source) => {
      const next = build(text, source);
      if (next instanceof GatewayError) return next;
      gens.replace(next);
      return null;
    },
    stop: async () => {
      draining = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Idle kept-alive connections are waiting for a request that should go elsewhere now;
      // the others close after the answer they are reading or writing.
      for (const s of idle) s.end();
      const deadline = Date.now() + gens.current.config.serve.drainTimeoutMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      await closed;
      gens.dispose();
    },
  };
}

function adminResponse(request: Request, pools: PoolRegistry, requestId: string, sink?: LogSink): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("405 Method Not Allowed\n\nThe pool statistics answer GET only.\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  try {
    return new Response(JSON.stringify({ upstreams: pools.stats() }), { headers: { "content-type": "application/json" } });
  } catch (e) {
    return errorResponse(e, requestId, requestLogger(requestId, sink));
  }
}
