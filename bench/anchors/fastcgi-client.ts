// Anchor: fastcgi-client (npm), the FastCGI client library for Node. Its framing lives in
// lib/connection.js behind a net socket; here the socket is a stand-in that collects what the
// library writes and hands it the response bytes as one 'data' event, so only the library's
// own record encoding and decoding is timed. It does not parse the CGI head (its callers do),
// so the plain anchor's head parser runs on its STDOUT, as a caller of the library would.
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { plainCgiHead, type CgiResponse } from "./fastcgi-plain.js";

const require = createRequire(import.meta.url);
const net = require("node:net");

class CollectingSocket extends EventEmitter {
  written: Uint8Array[] = [];
  write(b: Uint8Array, cb?: () => void): boolean {
    this.written.push(b);
    cb?.();
    return true;
  }
  setKeepAlive(): void {}
  end(): void {}
}

const MSG_STDOUT = 6;
const MSG_END_REQUEST = 3;
const BEGIN_KEEP_CONN = Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]);

/** One library connection over a stand-in socket. */
export function fastcgiClientConnection() {
  const createConnection = net.createConnection;
  const socket = new CollectingSocket();
  net.createConnection = (_opts: unknown, onConnect: () => void) => {
    queueMicrotask(onConnect);
    return socket;
  };
  let conn: any;
  try {
    conn = require("fastcgi-client/lib/connection.js")({ _host: "127.0.0.1", _port: 9 });
  } finally {
    net.createConnection = createConnection;
  }
  let stdout: Uint8Array[] = [];
  let ended = false;
  conn.on("message-" + MSG_STDOUT, (_id: number, data: Uint8Array) => stdout.push(data));
  conn.on("message-" + MSG_END_REQUEST, () => (ended = true));
  return {
    /** Resolves once the library saw its socket connect (it drops writes before that). */
    ready: new Promise<void>((resolve) => conn.once("connect", resolve)),
    /** BEGIN_REQUEST, PARAMS (the library takes an object), STDIN: the buffers it writes. */
    encodeRequest(id: number, params: Record<string, string>, stdin: Uint8Array): Uint8Array[] {
      socket.written = [];
      conn.send(1, id, BEGIN_KEEP_CONN);
      conn.send(4, id, params);
      conn.send(4, id, null);
      conn.send(5, id, Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength));
      conn.send(5, id, null);
      return socket.written;
    },
    decodeResponse(bytes: Uint8Array): CgiResponse {
      stdout = [];
      ended = false;
      socket.emit("data", bytes);
      if (!ended) throw new Error("fastcgi-client: no END_REQUEST");
      const head = plainCgiHead(stdout[0]);
      return { status: head.status, headers: head.headers, body: [stdout[0].subarray(head.bodyOffset), ...stdout.slice(1)] };
    },
  };
}
