// A switched connection in the Worker (core/tunnel.ts). workerd answers the client's
// handshake itself and hands the Worker messages, not bytes, so the Worker is the client of
// a second WebSocket, to the origin: each message from the client goes to the origin as one
// masked frame, each message the origin sends goes to the client whole, pings from the origin
// are answered here, and a close on either side is passed to the other with its code and
// reason. The origin was asked for no extension (the gateway drops the client's
// Sec-WebSocket-Extensions for this host), so its frames are plain ones. Through via = "fetch"
// the platform holds the origin's WebSocket too, and messages pass from one to the other.
import type { ClientResponse } from "../../core/respond.js";
import { headersInit } from "../../core/response-fields.js";
import { FetchedWebSocket, Tunnel, type Switched } from "../../core/tunnel.js";
import {
  clientFrame,
  closePayload,
  FrameError,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_TEXT,
  OP_PONG,
  readClose,
  sendableCode,
  ServerFrames,
} from "../../core/websocket-frames.js";

/** The longest message taken from the origin, held whole before it is passed on: what
 *  tornado takes by default (10 MiB) fits, and two such in flight stay far below an
 *  isolate's 128 MB. (What workerd takes from the client is the platform's limit.) */
export const ORIGIN_MESSAGE_MAX = 16 << 20;

/** Fields of the origin's 101 that workerd makes for the client itself. */
const OWN = new Set(["sec-websocket-accept", "sec-websocket-extensions", "content-length"]);

export function webSocketResponse(r: ClientResponse, origin: Switched): Response {
  const pair = new WebSocketPair();
  const client = pair[0];
  const server = pair[1];
  server.accept();
  if (origin instanceof Tunnel) relay(server, origin);
  else if (origin instanceof FetchedWebSocket) relayFetched(server, origin);
  const headers = new Headers(headersInit(r.headers));
  for (const name of OWN) headers.delete(name);
  return new Response(null, { status: 101, webSocket: client, headers });
}

const utf8 = new TextEncoder();

function relay(server: WebSocket, tunnel: Tunnel): void {
  let over = false;
  // Frames to the origin leave in order, each once the one before was taken.
  let sending: Promise<void> = Promise.resolve();
  const toOrigin = (opcode: number, payload: Uint8Array | ArrayBuffer | Blob): Promise<void> => {
    sending = sending
      .then(async () => {
        // A binary message is a Blob under the standard binaryType, read in its turn.
        const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(payload instanceof Blob ? await payload.arrayBuffer() : payload);
        await tunnel.write(clientFrame(opcode, bytes));
      })
      .catch(() => end(1011, "the origin connection failed"));
    return sending;
  };
  /** Ends both sides: the client's with `code` (where it may be sent), the origin's after
   *  `closeFrame` when one is owed to it. Nothing waits on a timer: once the client's side is
   *  closed the invocation may end, and a timer with it. */
  const end = (code: number, reason: string, closeFrame?: Uint8Array) => {
    if (over) return;
    over = true;
    // What waits for the end (a limit_conn place) hears of it now, in this event: work left
    // for later may not run once the client's side is closed.
    tunnel.end();
    if (closeFrame) void toOrigin(OP_CLOSE, closeFrame).finally(() => tunnel.close());
    else tunnel.close();
    try {
      if (sendableCode(code)) server.close(code, reason);
      else server.close();
    } catch {
      // Closed already.
    }
  };
  server.addEventListener("message", (e: MessageEvent) => {
    if (over) return;
    const d = e.data;
    if (typeof d === "string") void toOrigin(OP_TEXT, utf8.encode(d));
    else void toOrigin(OP_BINARY, d);
  });
  // The client closed: the origin is told with the same code.
  server.addEventListener("close", (e: CloseEvent) => end(e.code, e.reason, sendableCode(e.code) ? closePayload(e.code, e.reason) : new Uint8Array(0)));
  server.addEventListener("error", () => end(1011, "the client connection failed", closePayload(1001, "")));

  const frames = new ServerFrames(ORIGIN_MESSAGE_MAX);
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** Passes on what `bytes` completes; false once the origin closed. */
  const take = (bytes: Uint8Array): boolean => {
    for (const m of frames.push(bytes)) {
      if (m.opcode === OP_TEXT) {
        let s: string;
        try {
          s = text.decode(m.payload);
        } catch {
          throw new FrameError(1007, "a text message that is not UTF-8");
        }
        if (!over) server.send(s);
      } else if (m.opcode === OP_BINARY) {
        if (!over) server.send(m.payload);
      } else if (m.opcode === OP_PING) {
        void toOrigin(OP_PONG, m.payload);
      } else if (m.opcode === OP_CLOSE) {
        // Answered with the same code, as RFC 6455 5.5.1 asks; the client hears it too.
        const { code, reason } = readClose(m.payload);
        end(code, reason, m.payload);
        return false;
      }
    }
    return true;
  };
  void (async () => {
    try {
      let chunk: Uint8Array | null = tunnel.takeRest();
      while (chunk !== null && take(chunk)) chunk = await tunnel.read();
      // The origin ended its side without a close frame.
      if (chunk === null) end(1011, "the origin closed the connection");
    } catch (e) {
      if (e instanceof FrameError) {
        // The origin broke the protocol: it is told so; the client hears that it failed, or
        // (1009) that a message was too large here.
        end(e.status === 1009 ? 1009 : 1011, `the origin sent ${e.message}`, closePayload(e.status, e.message));
      } else {
        end(1011, "the origin connection failed");
      }
    }
  })();
}

/** Client to origin through the platform's own WebSocket to it (via = "fetch"): message for
 *  message, close for close. */
function relayFetched(server: WebSocket, fetched: FetchedWebSocket): void {
  const origin = fetched.socket;
  origin.accept();
  let over = false;
  const size = (d: string | ArrayBuffer | Blob) => (typeof d === "string" ? utf8.encode(d).byteLength : d instanceof Blob ? d.size : d.byteLength);
  /** Closes both with the code one of them closed with, and ends the conversation now, in
   *  this event (as end() does above). */
  const closeBoth = (code: number, reason: string) => {
    if (over) return;
    over = true;
    fetched.end();
    for (const ws of [server, origin]) {
      try {
        if (sendableCode(code)) ws.close(code, reason);
        else ws.close();
      } catch {
        // Closed already.
      }
    }
  };
  /** Passes each message on to `to` in order; a binary one that comes as a Blob (the
   *  standard binaryType) is read first, in its turn, as send() takes no Blob. */
  const passTo = (to: WebSocket, count: (n: number) => void) => {
    let turn: Promise<void> = Promise.resolve();
    return (e: MessageEvent) => {
      if (over) return;
      const d = e.data as string | ArrayBuffer | Blob;
      count(size(d));
      turn = turn
        .then(async () => {
          const m = d instanceof Blob ? await d.arrayBuffer() : d;
          if (!over) to.send(m);
        })
        .catch(() => closeBoth(1011, "a message could not be passed on"));
    };
  };
  server.addEventListener("message", passTo(origin, (n) => fetched.counts?.toOrigin(n)));
  origin.addEventListener("message", passTo(server, (n) => fetched.counts?.fromOrigin(n)));
  server.addEventListener("close", (e: CloseEvent) => closeBoth(e.code, e.reason));
  origin.addEventListener("close", (e: CloseEvent) => closeBoth(e.code, e.reason));
  server.addEventListener("error", () => closeBoth(1011, "the client connection failed"));
  origin.addEventListener("error", () => closeBoth(1011, "the origin connection failed"));
}
