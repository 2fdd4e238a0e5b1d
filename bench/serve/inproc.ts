// `edgepass serve`'s pipeline in one process, without its sockets: the real config loader,
// gateway, pools, codec and response writer, with a scripted php-fpm behind the dial (it
// answers each request's records with a small page at the next turn of the loop) and a
// scripted client socket that takes every write at once. What it measures is edgepass's own
// JavaScript per request, apart from the kernel and Node's socket layer, steadily enough to
// compare two builds of a change side by side (bench/serve/ab.ts measures the whole server).
// With --origin tcp the records go over a real loopback connection to a scripted responder
// in another process, which adds the origin's socket back.
//
//   npx tsx bench/serve/inproc.ts [--path /status.php?code=200 | /ret | /cached/status.php] [--requests 100000]
//                                  [--concurrency 32] [--rounds 4] [--origin inproc|tcp]
//                                  [--max-connections 32] [--cpu-prof DIR] [--heap FILE]
//                                  [--log json|combined|off|TEMPLATE]   ([gateway] log)
//
// --heap writes a sampled allocation profile (young collections included) of 20,000 requests.
// The pipeline runs bundled (esbuild, as the edgepass command does), not through a TypeScript
// loader, whose per-function naming costs 5-10% of a small request. Not part of `npm test`.
import { spawn, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createCodec } from "../../src/codec/index.js";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { gatewayBuilder } from "../../src/core/compose.js";
import { loadConfig } from "../../src/config/load.js";
import { PoolRegistry } from "../../src/pool/registry.js";
import { respondNode, writeResponse } from "../../src/adapter/node/respond.js";
import { ClientGone, FieldMap, ServeRequest } from "../../src/adapter/node/request.js";
import { dialNode } from "../../src/adapter/node/dial.js";
import { ConnectionTimers } from "../../src/core/deadline.js";
import { randomId } from "../../src/core/random-id.js";
import { requestUrl } from "../../src/edge/request-url.js";
import { bufferedStdioSink } from "../../src/adapter/node/log-sink.js";
import type { Dial, DirectIO, Outgoing } from "../../src/core/transport.js";

const { values: o } = parseArgs({
  options: {
    path: { type: "string", default: "/status.php?code=200" },
    requests: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "4" },
    origin: { type: "string", default: "inproc" },
    "cpu-prof": { type: "string" },
    heap: { type: "string" },
    responder: { type: "string" },
    "max-connections": { type: "string", default: "32" },
    log: { type: "string", default: "json" },
  },
});

const here = path.dirname(fileURLToPath(import.meta.url));
const BUNDLED = process.env.EDGEPASS_INPROC_BUNDLED === "1";

// --- the scripted php-fpm: one small page per request, as status.php answers ---
const PAGE = new TextEncoder().encode("X-Powered-By: PHP/8.2\r\nContent-type: text/html; charset=UTF-8\r\n\r\nstatus 200\n");
function record(type: number, id: number, content: Uint8Array): Uint8Array {
  const pad = (8 - (content.length % 8)) % 8;
  const out = new Uint8Array(8 + content.length + pad);
  out.set([1, type, id >> 8, id & 255, content.length >> 8, content.length & 255, pad, 0]);
  out.set(content, 8);
  return out;
}
/** The answer's records for request `id`, made once per id: the scripted origin's own work
 *  stays out of what is measured (nothing writes into them; a body handed on is a view). */
const answers = new Map<number, Uint8Array>();
function answer(id: number): Uint8Array {
  let out = answers.get(id);
  if (out) return out;
  const parts = [record(6, id, PAGE), record(6, id, new Uint8Array(0)), record(3, id, new Uint8Array(8))];
  out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  answers.set(id, out);
  return out;
}

if (o.responder) {
  // The scripted responder over TCP (--origin tcp): answers every request its empty STDIN ends.
  net
    .createServer((s) => {
      s.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        let at = 0;
        while (buf.length - at >= 8) {
          const len = buf.readUInt16BE(at + 4);
          const end = at + 8 + len + buf[at + 6];
          if (buf.length < end) break;
          if (buf[at + 1] === 5 && len === 0) s.write(answer(buf.readUInt16BE(at + 2)));
          at = end;
        }
        buf = buf.subarray(at);
      });
      s.on("error", () => {});
    })
    .listen(Number(o.responder), "127.0.0.1");
} else if (!BUNDLED) {
  // Bundle this file as the edgepass command is bundled (three directories below the
  // repository, so the Wasm module is found where src/adapter/node finds it), and run that.
  const { build } = await import("esbuild");
  const out = path.join(here, "../../dist/bench/serve/inproc.mjs");
  await build({ entryPoints: [fileURLToPath(import.meta.url)], outfile: out, bundle: true, format: "esm", platform: "node", target: "node20", packages: "external", logLevel: "error" });
  // The V8 flag `edgepass serve` sets for itself at start (cli/serve.ts): without it, a busy
  // process tenures ordinary per-request objects, and what this measures is not serve.
  const args = ["--no-allocation-site-pretenuring", ...(o["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", o["cpu-prof"]] : []), out, ...process.argv.slice(2)];
  const r = spawnSync(process.execPath, args, { stdio: "inherit", env: { ...process.env, EDGEPASS_INPROC_BUNDLED: "1" } });
  process.exit(r.status ?? 1);
} else {
  await main();
}

async function main(): Promise<void> {
  class ScriptedFpm implements DirectIO {
    private readonly queue: Uint8Array[] = [];
    private waiting: ((c: Uint8Array | null) => void) | null = null;
    read(): Promise<Uint8Array | null> {
      const c = this.queue.shift();
      if (c) return Promise.resolve(c);
      return new Promise((r) => (this.waiting = r));
    }
    write(bytes: Outgoing): Promise<void> | null {
      const first = bytes instanceof Uint8Array ? bytes : bytes[0];
      const id = (first[2] << 8) | first[3];
      // Answered on a later turn of the loop, as a socket's read would be.
      setImmediate(() => {
        const a = answer(id);
        const w = this.waiting;
        this.waiting = null;
        if (w) w(a);
        else this.queue.push(a);
      });
      return null;
    }
  }
  const scripted: Dial = async () => ({
    get readable(): ReadableStream<Uint8Array> {
      throw new Error("the scripted origin has only plain calls");
    },
    get writable(): WritableStream<Uint8Array> {
      throw new Error("the scripted origin has only plain calls");
    },
    direct: new ScriptedFpm(),
    close: async () => {},
    timers: new ConnectionTimers(),
  });

  let port = 9000;
  let responder: ReturnType<typeof spawn> | null = null;
  if (o.origin === "tcp") {
    const srv = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => srv.once("listening", r));
    port = (srv.address() as net.AddressInfo).port;
    srv.close();
    responder = spawn(process.execPath, [process.argv[1], "--responder", String(port)], { stdio: "inherit", env: { ...process.env, EDGEPASS_INPROC_BUNDLED: "" } });
    await new Promise((r) => setTimeout(r, 500));
  } else if (o.origin !== "inproc") throw new Error(`--origin: inproc or tcp, not ${o.origin}`);
  const dial = o.origin === "tcp" ? dialNode : scripted;

  const codec = createCodec(loadWasmModuleFromDisk());
  const config =
    `[gateway]\nlog = ${JSON.stringify(o.log)}\n\n` +
    `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${port}"]\nmax_connections = ${Number(o["max-connections"])}\nidle_timeout = "1s"\n\n` +
    `[[routes]]\nmatch = "= /ret"\nreturn = "200 ok"\n\n` +
    `[[routes]]\nmatch = "^~ /cached/"\nupstream = "php"\nroot = "/srv/www"\ncache = { valid = "1h" }\n\n` +
    `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "/srv/www"\n`;
  const pools = new PoolRegistry(() => {});
  // The request lines go to serve's own sink, which gathers them in bytes and writes them out
  // together, here to a stream that drops them.
  const dropped = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const sink = bufferedStdioSink(dropped, dropped);
  const built = gatewayBuilder(
    () => ({ codec, files: null, dial, respond: respondNode, countsBytes: true, sink, connections: (upstream, requestId) => pools.connections({ upstream, codec, dial }, requestId), peers: (u) => pools.peers.get(u) }),
    (t, s) => loadConfig(t, s, undefined, "server"),
  )(config, "inproc.toml");
  if (!("gateway" in built)) throw built;
  const { gateway, config: { serve: settings } } = built;

  /** A client socket that takes every write at once. */
  class ScriptedClient extends EventEmitter {
    destroyed = false;
    writableLength = 0;
    bytes = 0;
    write(b: Uint8Array | string, cb?: () => void): boolean {
      this.bytes += b.length;
      if (typeof cb === "function") cb();
      return true;
    }
    cork(): void {}
    uncork(): void {}
    destroy(): void {
      this.destroyed = true;
    }
  }
  const raw = new TextEncoder().encode(`GET ${o.path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: inproc\r\n\r\n`);
  const hopOnly = new Set(["transfer-encoding", "expect"]);
  const silent = { log() {}, line() {} };
  // What serveConnection does for each request, less the socket: parse, the request object,
  // the gateway, the answer written.
  async function one(client: ScriptedClient): Promise<void> {
    const requestId = randomId();
    const head = codec.parseHttpRequestHead(raw, settings.maxHeader)!;
    const fields = new FieldMap(head.headers, hopOnly);
    const url = requestUrl("http", fields.get("host")!, head.target);
    const request = new ServeRequest(head.method, url, fields, null, new ClientGone());
    const res = await gateway(request, { requestId, remoteAddr: "127.0.0.1", remotePort: "50000", serverAddr: "127.0.0.1", protocol: "HTTP/1.1", url });
    const w = writeResponse(client as unknown as net.Socket, res, { method: head.method, version: head.version, keepAlive: true, sendTimeoutMs: settings.sendTimeoutMs, log: silent, compress: { settings, acceptEncoding: fields.get("accept-encoding") } });
    if (typeof w !== "boolean") await w;
  }
  async function run(n: number): Promise<number> {
    const clients = Array.from({ length: Number(o.concurrency) }, () => new ScriptedClient());
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < n / clients.length; i++) await one(c);
    }));
    return clients.reduce((sum, c) => sum + c.bytes, 0);
  }

  await run(20_000); // warm-up: JIT, the pool's connections
  if (o.heap) {
    const { Session } = await import("node:inspector/promises");
    const session = new Session();
    session.connect();
    await session.post("HeapProfiler.startSampling", { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await run(20_000);
    const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: unknown };
    writeFileSync(o.heap, JSON.stringify(profile));
    console.log(`allocation profile of 20000 requests: ${o.heap}`);
  } else {
    const n = Number(o.requests);
    for (let r = 0; r < Number(o.rounds); r++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const bytes = await run(n);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      console.log(`${o.path} (${o.origin}): ${((wall * 1000) / n).toFixed(2)} µs wall and ${((cpu.user + cpu.system) / n).toFixed(2)} µs CPU per request (${(cpu.system / n).toFixed(2)} system), ${(bytes / n).toFixed(0)} B per answer`);
    }
  }
  responder?.kill();
  process.exit(0);
}
