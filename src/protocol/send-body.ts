// Streams the client's body to the origin, framed the way the protocol wants (FastCGI STDIN
// records, chunked encoding, or raw bytes). A client that sends more or less than it declared
// ends the exchange: the origin must never see a body that disagrees with its length.
import { readBody } from "../core/body.js";
import { Codes, GatewayError, isGatewayError } from "../core/errors.js";
import type { ForwardRequest, RequestBody } from "../core/exchange.js";
import type { Logger } from "../core/log.js";
import type { UpstreamIO } from "../core/upstream-io.js";
import type { Outgoing } from "../core/transport.js";

/** Frames a piece of the body for the wire: FastCGI STDIN records, an HTTP chunk, or the bytes
 *  as they are. `frame(empty)` yields the protocol's end-of-body marker (may be empty). */
export type Frame = (d: Uint8Array) => Outgoing;

/** The frame holds at least one byte to write. */
export const hasBytes = (o: Outgoing): boolean => (o instanceof Uint8Array ? o.byteLength > 0 : o.length > 0);

export async function sendBody(body: RequestBody, io: UpstreamIO, frame: Frame): Promise<void> {
  // Each piece is written before the next is read, and a host whose reads can reuse memory
  // (workerd's) copies at the write.
  const reader = readBody(body, () => true);
  let sent = 0;
  for (;;) {
    let got: Uint8Array[] | null;
    try {
      got = await reader.next();
    } catch (e) {
      throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The client stopped sending the request body.", String(e));
    }
    if (got === null) break;
    for (const p of got) {
      sent += p.byteLength;
      if (body.length !== null && sent > body.length) {
        throw new GatewayError(Codes.REQUEST_INVALID, 400, "The request body is longer than its Content-Length.");
      }
      await io.write(frame(p));
    }
  }
  if (body.length !== null && sent !== body.length) {
    throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The request body is shorter than its Content-Length.");
  }
  const end = frame(new Uint8Array(0));
  if (hasBytes(end)) await io.write(end);
}

export const raw = (d: Uint8Array): Uint8Array => d;

/** On a connection of the request's own: writes `first` (the request head, or FastCGI's
 *  opening records), then the body, while the caller reads the response, because an origin
 *  may answer (an error, a redirect) before it has read the whole upload and must not
 *  deadlock against us. A failure is logged unless the exchange is `over()` already, ends the
 *  connection (`stop`), and is kept for the reader: returns what it was, or null. */
export function sendWhileReading(
  req: ForwardRequest,
  io: UpstreamIO,
  origin: string,
  first: Uint8Array,
  frame: Frame,
  over: () => boolean,
  stop: () => void,
): () => unknown {
  let error: unknown = null;
  void (async () => {
    await io.write(first);
    if (req.body) await sendBody(req.body, io, frame);
  })().catch((e) => {
    error = e;
    if (!over()) logSendFailed(req.log, origin, e);
    stop();
  });
  return () => error;
}

/** The connection ended before the response did. When sending the request failed (a
 *  send_timeout, the client's body), that closed it, and that is the error. */
export function endedEarly(origin: string, when: string, sendError?: () => unknown): GatewayError {
  const sent = sendError?.();
  if (sent instanceof GatewayError) return sent;
  return new GatewayError(Codes.UPSTREAM_CLOSED_EARLY, 502, `The origin ${origin} closed the connection ${when}.`);
}

/** The request could not be sent whole (its body failed, or the connection did). */
export function logSendFailed(log: Logger, origin: string, e: unknown): void {
  log.log("warn", "upstream_send_failed", { origin, error: isGatewayError(e) ? e.code : String(e) });
}
