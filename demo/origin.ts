// A small FastCGI responder (the app-server side) built on the same Wasm codec as the gateway,
// so `npm start` works with no PHP installed. By default one request at a time per connection
// (FCGI_MPXS_CONNS=0): a second BEGIN_REQUEST while one is open is refused with
// CANT_MPX_CONN. With FCGI_KEEP_CONN the connection stays open for the next request, without
// it the responder closes after END_REQUEST (FastCGI 1.0, sections 5.1 and 6).
//
// With `multiplex` it is the test origin for multiplexing: it answers FCGI_MPXS_CONNS=1, takes
// up to FCGI_MAX_REQS requests at once on a connection, starts answering each after a random
// delay of a few milliseconds (so answers come out of order) and cuts every response into
// small STDOUT records written one at a time from a randomly chosen request, so the records
// of concurrent requests interleave on the wire. It counts ABORT_REQUESTs in `stats`.
//
//   tsx demo/origin.ts [--port N] [--host H] [--multiplex]    (standalone, e.g. for bench/)
import { createHash, type Hash } from "node:crypto";
import net from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadWasmModuleFromDisk } from "../src/adapter/node/wasm.js";
import { createCodec } from "../src/codec/index.js";
import { FcgiFlags, FcgiProtocolStatus, FcgiRole, FcgiType, type Codec, type FcgiEvent } from "../src/codec/types.js";
import { demoResponse } from "./responses.js";

/** Answers to FCGI_GET_VALUES (section 4.1). */
export const DEMO_VALUES: Record<string, string> = {
  FCGI_MAX_CONNS: "64",
  FCGI_MAX_REQS: "64",
  FCGI_MPXS_CONNS: "0",
};

/** Multiplexing: the default FCGI_MAX_REQS, and the largest STDOUT record written at once. */
const MPX_MAX_REQS = 256;
const MPX_PIECE = 512;

/** Bytes of request body kept for the echo; beyond this the body is only counted and hashed. */
const BODY_ECHO_LIMIT = 64 * 1024;
/** A PARAMS stream larger than this closes the connection (the demo has no use for more). */
const PARAMS_LIMIT = 1024 * 1024;

export interface DemoOriginOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** A codec to share; by default one is created from the built Wasm on disk. */
  codec?: Codec;
  /** Connection-level failures (protocol errors); default: one line on stderr. */
  onError?: (err: Error) => void;
  /** Answer FCGI_MPXS_CONNS=1 and multiplex (see the top of this file). */
  multiplex?: boolean | { maxReqs?: number };
}

export interface DemoStats {
  /** Connections accepted so far. */
  connections: number;
  /** Requests answered to the end (END_REQUEST with REQUEST_COMPLETE after the response). */
  completed: number;
  /** ABORT_REQUEST records received for open requests. */
  aborts: number;
  /** Most requests open at once on one connection. */
  maxOpenPerConn: number;
}

export interface DemoOrigin {
  host: string;
  port: number;
  /** Stops listening and closes open (kept-alive) connections. */
  close(): Promise<void>;
  readonly stats: DemoStats;
}

interface OpenRequest {
  id: number;
  keepConn: boolean;
  params: Uint8Array[];
  paramsLength: number;
  bodyLength: number;
  bodyHash: Hash;
  bodyKept: Uint8Array[] | null;
  /** STDOUT content waiting for the multiplexing scheduler. */
  out: Uint8Array[];
  /** Everything is queued; END_REQUEST follows the last piece. */
  complete: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

interface ServeOptions {
  codec: Codec;
  onError: (err: Error) => void;
  /** 0: one request at a time; else the most a connection takes at once. */
  mpxMaxReqs: number;
  stats: DemoStats;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Serves one connection: feeds bytes to a server-mode decoder and answers its events. */
function serveConnection(socket: net.Socket, o: ServeOptions): void {
  const { codec, stats } = o;
  const mpx = o.mpxMaxReqs > 0;
  const decoder = codec.fcgiDecoder("server");
  const open = new Map<number, OpenRequest>();
  const values: Record<string, string> = mpx
    ? { ...DEMO_VALUES, FCGI_MAX_REQS: String(o.mpxMaxReqs), FCGI_MPXS_CONNS: "1" }
    : DEMO_VALUES;
  stats.connections++;

  const write = (bytes: Uint8Array) => {
    if (!socket.destroyed && socket.writable) socket.write(bytes);
  };

  // Multiplexing: one record per turn, from a request picked at random among those with
  // output waiting, so records of concurrent requests interleave.
  const ready = new Set<OpenRequest>();
  let scheduled = false;
  const schedule = () => {
    if (scheduled || ready.size === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const list = [...ready];
      const req = list[Math.floor(Math.random() * list.length)];
      if (!req) return;
      const piece = req.out.shift();
      if (piece) write(codec.fcgiStream(FcgiType.STDOUT, req.id, piece));
      if (req.out.length === 0) {
        ready.delete(req);
        if (req.complete) finish(req);
      }
      schedule();
    });
  };

  const emit = (req: OpenRequest, bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    if (!mpx) return write(codec.fcgiStream(FcgiType.STDOUT, req.id, bytes));
    for (let at = 0; at < bytes.length; at += MPX_PIECE) req.out.push(bytes.subarray(at, at + MPX_PIECE));
    ready.add(req);
    schedule();
  };

  const finish = (req: OpenRequest) => {
    if (open.get(req.id) !== req) return;
    clearTimeout(req.timer);
    open.delete(req.id);
    ready.delete(req);
    decoder.untrack(req.id);
    write(concat([codec.fcgiStream(FcgiType.STDOUT, req.id, new Uint8Array(0)), codec.fcgiEndRequest(req.id, 0, FcgiProtocolStatus.REQUEST_COMPLETE)]));
    if (!req.keepConn && open.size === 0) socket.end();
  };

  const complete = (req: OpenRequest) => {
    req.complete = true;
    stats.completed++;
    // With pieces still queued, the scheduler calls finish() after the last one.
    if (req.out.length === 0) finish(req);
  };

  const respond = (req: OpenRequest) => {
    const params = codec.fcgiDecodePairs(concat(req.params));
    const kept = req.bodyKept ? concat(req.bodyKept) : null;
    const r = demoResponse({ params, body: { length: req.bodyLength, sha256: req.bodyHash.digest("hex"), bytes: kept } });
    const start = () => {
      emit(req, r.head);
      for (const p of r.pieces) emit(req, p);
      if (!r.drip) return complete(req);
      const drip = r.drip;
      let left = drip.count;
      const step = () => {
        if (open.get(req.id) !== req) return;
        if (left-- <= 0) return complete(req);
        emit(req, drip.piece());
        req.timer = setTimeout(step, drip.everyMs);
      };
      step();
    };
    if (mpx) req.timer = setTimeout(start, Math.floor(Math.random() * 4));
    else start();
  };

  const refuse = (id: number, protocolStatus: number) => {
    decoder.untrack(id);
    write(codec.fcgiEndRequest(id, 0, protocolStatus));
  };

  const handle = (ev: FcgiEvent) => {
    switch (ev.kind) {
      case "begin-request":
        if (open.has(ev.requestId)) throw new Error(`BEGIN_REQUEST for request ${ev.requestId}, which is open`);
        if (!mpx && open.size > 0) return refuse(ev.requestId, FcgiProtocolStatus.CANT_MPX_CONN);
        if (mpx && open.size >= o.mpxMaxReqs) return refuse(ev.requestId, FcgiProtocolStatus.OVERLOADED);
        if (ev.role !== FcgiRole.RESPONDER) return refuse(ev.requestId, FcgiProtocolStatus.UNKNOWN_ROLE);
        open.set(ev.requestId, {
          id: ev.requestId,
          keepConn: (ev.flags & FcgiFlags.KEEP_CONN) !== 0,
          params: [],
          paramsLength: 0,
          bodyLength: 0,
          bodyHash: createHash("sha256"),
          bodyKept: [],
          out: [],
          complete: false,
        });
        stats.maxOpenPerConn = Math.max(stats.maxOpenPerConn, open.size);
        return;
      case "abort-request": {
        // Section 5.4: the application answers an abort with END_REQUEST.
        const req = open.get(ev.requestId);
        if (!req) return;
        stats.aborts++;
        req.out.length = 0;
        finish(req);
        return;
      }
      case "values":
        if (ev.type !== FcgiType.GET_VALUES) return;
        write(codec.fcgiGetValuesResult(ev.pairs.filter(([n]) => n in values).map(([n]) => [n, values[n]!])));
        return;
      case "stream": {
        const req = open.get(ev.requestId);
        if (!req) return;
        if (ev.type === FcgiType.PARAMS) {
          req.paramsLength += ev.data.length;
          if (req.paramsLength > PARAMS_LIMIT) throw new Error(`PARAMS larger than ${PARAMS_LIMIT} bytes`);
          req.params.push(ev.data.slice());
        } else if (ev.type === FcgiType.STDIN) {
          req.bodyLength += ev.data.length;
          req.bodyHash.update(ev.data);
          if (req.bodyKept && req.bodyLength <= BODY_ECHO_LIMIT) req.bodyKept.push(ev.data.slice());
          else req.bodyKept = null;
          if (ev.end) respond(req);
        }
        return;
      }
      default:
        return; // DATA (filter role only) and anything else a responder has no use for
    }
  };

  socket.on("data", (chunk: Buffer) => {
    try {
      for (const ev of decoder.push(chunk)) handle(ev);
    } catch (err) {
      o.onError(err as Error);
      socket.destroy();
    }
  });
  socket.on("error", () => {}); // a peer reset is not the demo's problem; "close" follows
  socket.on("close", () => {
    for (const req of open.values()) clearTimeout(req.timer);
    open.clear();
    ready.clear();
    decoder.free();
  });
}

export async function startDemoOrigin(opts: DemoOriginOptions = {}): Promise<DemoOrigin> {
  const codec = opts.codec ?? (await createCodec(await loadWasmModuleFromDisk()));
  const onError = opts.onError ?? ((err: Error) => process.stderr.write(`demo origin: ${err.message}\n`));
  const host = opts.host ?? "127.0.0.1";
  const sockets = new Set<net.Socket>();
  const stats: DemoStats = { connections: 0, completed: 0, aborts: 0, maxOpenPerConn: 0 };
  const m = opts.multiplex;
  const mpxMaxReqs = !m ? 0 : m === true ? MPX_MAX_REQS : Math.max(1, m.maxReqs ?? MPX_MAX_REQS);
  const server = net.createServer((socket) => {
    // A response is several writes (STDOUT records, then END_REQUEST): without this, Nagle
    // holds the last one until the gateway acknowledges the first, one round trip later.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, { codec, onError, mpxMaxReqs, stats });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string" }, multiplex: { type: "boolean" } } });
  const origin = await startDemoOrigin({ port: Number(values.port ?? 9000), host: values.host, multiplex: values.multiplex });
  process.stdout.write(`demo origin: FastCGI on ${origin.host}:${origin.port}${values.multiplex ? " (multiplexing)" : ""}\n`);
  const stop = () => void origin.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
