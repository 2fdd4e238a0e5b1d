// A small FastCGI responder (the app-server side) built on the same Wasm codec as the gateway,
// so `npm start` works with no PHP installed. One request at a time per connection
// (FCGI_MPXS_CONNS=0): a second BEGIN_REQUEST while one is open is refused with
// CANT_MPX_CONN. With FCGI_KEEP_CONN the connection stays open for the next request, without
// it the responder closes after END_REQUEST (FastCGI 1.0, sections 5.1 and 6).
//
//   tsx demo/origin.ts [--port N] [--host H]    (standalone, e.g. for bench/)
import { createHash, type Hash } from "node:crypto";
import net from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadWasmModuleFromDisk } from "../src/adapter/node/wasm.js";
import { createCodec } from "../src/codec/index.js";
import { FcgiFlags, FcgiProtocolStatus, FcgiRole, FcgiType, type Codec, type FcgiEvent } from "../src/codec/types.js";
import { renderPage } from "./page.js";

/** Answers to FCGI_GET_VALUES (section 4.1). */
export const DEMO_VALUES: Record<string, string> = {
  FCGI_MAX_CONNS: "64",
  FCGI_MAX_REQS: "64",
  FCGI_MPXS_CONNS: "0",
};

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
}

export interface DemoOrigin {
  host: string;
  port: number;
  /** Stops listening and closes open (kept-alive) connections. */
  close(): Promise<void>;
}

interface OpenRequest {
  id: number;
  keepConn: boolean;
  params: Uint8Array[];
  paramsLength: number;
  bodyLength: number;
  bodyHash: Hash;
  bodyKept: Uint8Array[] | null;
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
function serveConnection(socket: net.Socket, codec: Codec, onError: (err: Error) => void): void {
  const decoder = codec.fcgiDecoder("server");
  let open: OpenRequest | null = null;

  const finish = (req: OpenRequest, out: Uint8Array[]) => {
    out.push(codec.fcgiEndRequest(req.id, 0, FcgiProtocolStatus.REQUEST_COMPLETE));
    decoder.untrack(req.id);
    open = null;
    socket.write(concat(out));
    if (!req.keepConn) socket.end();
  };

  const respond = (req: OpenRequest) => {
    const params = codec.fcgiDecodePairs(concat(req.params));
    const kept = req.bodyKept ? concat(req.bodyKept) : null;
    const page = renderPage({ params, body: { length: req.bodyLength, sha256: req.bodyHash.digest("hex"), bytes: kept } });
    finish(req, [codec.fcgiStream(FcgiType.STDOUT, req.id, page), codec.fcgiStream(FcgiType.STDOUT, req.id, new Uint8Array(0))]);
  };

  const refuse = (id: number, protocolStatus: number) => {
    decoder.untrack(id);
    socket.write(codec.fcgiEndRequest(id, 0, protocolStatus));
  };

  const handle = (ev: FcgiEvent) => {
    switch (ev.kind) {
      case "begin-request":
        if (open?.id === ev.requestId) throw new Error(`BEGIN_REQUEST for request ${ev.requestId}, which is open`);
        if (open) return refuse(ev.requestId, FcgiProtocolStatus.CANT_MPX_CONN);
        if (ev.role !== FcgiRole.RESPONDER) return refuse(ev.requestId, FcgiProtocolStatus.UNKNOWN_ROLE);
        open = {
          id: ev.requestId,
          keepConn: (ev.flags & FcgiFlags.KEEP_CONN) !== 0,
          params: [],
          paramsLength: 0,
          bodyLength: 0,
          bodyHash: createHash("sha256"),
          bodyKept: [],
        };
        return;
      case "abort-request":
        // Section 5.4: the application answers an abort with END_REQUEST.
        if (open?.id === ev.requestId) finish(open, []);
        return;
      case "values":
        if (ev.type !== FcgiType.GET_VALUES) return;
        socket.write(codec.fcgiGetValuesResult(ev.pairs.filter(([n]) => n in DEMO_VALUES).map(([n]) => [n, DEMO_VALUES[n]!])));
        return;
      case "stream": {
        const req = open;
        if (!req || ev.requestId !== req.id) return;
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
      onError(err as Error);
      socket.destroy();
    }
  });
  socket.on("error", () => {}); // a peer reset is not the demo's problem; "close" follows
  socket.on("close", () => decoder.free());
}

export async function startDemoOrigin(opts: DemoOriginOptions = {}): Promise<DemoOrigin> {
  const codec = opts.codec ?? (await createCodec(await loadWasmModuleFromDisk()));
  const onError = opts.onError ?? ((err: Error) => process.stderr.write(`demo origin: ${err.message}\n`));
  const host = opts.host ?? "127.0.0.1";
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, codec, onError);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string" } } });
  const origin = await startDemoOrigin({ port: Number(values.port ?? 9000), host: values.host });
  process.stdout.write(`demo origin: FastCGI on ${origin.host}:${origin.port}\n`);
  const stop = () => void origin.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
