// WebSocket through an HTTP/1.1 origin, as nginx's proxy_pass with the Upgrade headers set and
// Caddy's reverse_proxy do it. A client's GET that asks to switch to "websocket" reaches the
// origin on a connection of its own (never a pooled one: once switched it carries one
// conversation until either side ends it) with Upgrade and Connection: upgrade kept. An
// origin that answers 101 hands its side over, and the host joins it to the client: over a
// socket as a Tunnel (bytes both ways on a plain server, WebSocket messages as frames in the
// Worker); through the Worker's fetch() (via = "fetch") as the platform's own WebSocket to
// the origin (FetchedWebSocket), message for message. Any other answer is an ordinary response.
import type { UpstreamIO } from "./upstream-io.js";
import type { UpstreamConfig } from "../config/types.js";

/** What a host that can hold a switched connection joins to its client. */
export type TunnelKind =
  /** The client's own bytes pass both ways untouched (edgepass serve). */
  | "bytes"
  /** The host speaks WebSocket to the client itself and relays messages (the Worker):
   *  extensions such as permessage-deflate are the host's to negotiate, not the origin's. */
  | "messages";

/** The origin's side of a conversation after its 101, whatever carries it. */
export abstract class Switched {
  private ended = false;
  private readonly ends: Array<() => void> = [];
  /** Told the bytes each way as they pass (the request line's bytes_in and bytes_out). */
  counts: { fromOrigin(n: number): void; toOrigin(n: number): void } | null = null;

  /** Ends the origin's side, and the conversation (end()). */
  abstract close(): void;

  /** The conversation is over, though the origin's side may still be closing: what waits
   *  for its end (a limit_conn place, the request line) runs now, once. A host whose work may
   *  stop with the client's close (the Worker's) says so at once, not after a last write to
   *  the origin. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const f of this.ends.splice(0)) f();
  }

  /** `f` runs once the conversation is over (at once if it is). */
  onClose(f: () => void): void {
    if (this.ended) f();
    else this.ends.push(f);
  }
}

/** An origin's socket switched to WebSocket. Reads wait as long as the conversation lasts
 *  (no read_timeout: a quiet WebSocket is not a stalled response); a write still fails after
 *  send_timeout, so an origin that stops reading cannot hold the relay forever. */
export class Tunnel extends Switched {
  constructor(
    /** Bytes the origin sent right behind its 101 head. */
    private rest: Uint8Array,
    private readonly io: UpstreamIO,
    readonly origin: string,
  ) {
    super();
  }

  /** The origin's bytes that came with its 101 head (empty after the first call). */
  takeRest(): Uint8Array {
    const rest = this.rest;
    this.rest = new Uint8Array(0);
    this.counts?.fromOrigin(rest.byteLength);
    return rest;
  }

  read(): Promise<Uint8Array | null> {
    return this.io.read().then(this.counted);
  }

  write(bytes: Uint8Array): Promise<void> {
    this.counts?.toOrigin(bytes.byteLength);
    return this.io.write(bytes);
  }

  close(): void {
    void this.io.close();
    this.end();
  }

  private readonly counted = (chunk: Uint8Array | null): Uint8Array | null => {
    if (chunk) this.counts?.fromOrigin(chunk.byteLength);
    return chunk;
  };
}

/** The WebSocket the platform's fetch() opened to the origin (the Worker, via = "fetch"). */
export class FetchedWebSocket extends Switched {
  constructor(readonly socket: WebSocket) {
    super();
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // Closed already.
    }
    this.end();
  }
}

/** How a host of `kind` carries this request's WebSocket handshake on, or null when it goes
 *  as any request: a GET with no body from an HTTP/1.1 client that asks for websocket, to an
 *  HTTP upstream over a socket, or through fetch() where the platform's opens a WebSocket
 *  (the Worker's). */
export function handshakeFor(
  kind: TunnelKind | undefined,
  upstream: UpstreamConfig,
  request: { method: string; body: unknown; headers: { get(name: string): string | null } },
  protocol: string | undefined,
): TunnelKind | null {
  if (kind === undefined || upstream.protocol !== "http" || request.body !== null || protocol === "HTTP/1.0") return null;
  if (upstream.http?.via === "fetch" && kind !== "messages") return null;
  return asksWebSocket(request.method, (n) => request.headers.get(n)) ? kind : null;
}

/** A host that speaks WebSocket to the client itself agrees the extensions there; the frames
 *  it sends the origin are plain ones, so the origin is offered none. */
export function dropExtensions(headers: Array<[string, string]>): void {
  const i = headers.findIndex(([k]) => k === "sec-websocket-extensions");
  if (i >= 0) headers.splice(i, 1);
}

/** A GET that asks to switch to WebSocket (RFC 6455 4.1: Upgrade names "websocket", and
 *  Connection names "upgrade"; the tokens are case-insensitive). */
function asksWebSocket(method: string, get: (name: string) => string | null): boolean {
  if (method !== "GET") return false;
  const upgrade = get("upgrade");
  if (upgrade === null || !hasToken(upgrade, "websocket")) return false;
  const connection = get("connection");
  return connection !== null && hasToken(connection, "upgrade");
}

function hasToken(list: string, token: string): boolean {
  for (const t of list.split(",")) if (t.trim().toLowerCase() === token) return true;
  return false;
}
