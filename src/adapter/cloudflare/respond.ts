// Writes a client response in workerd, where two defaults would betray the origin: a body in
// a Response whose headers say Content-Encoding is compressed again unless the Response says
// encodeBody: "manual" (a gzip page arrived gzipped twice), and a Content-Length header is
// dropped for a streamed body (sent chunked, so a body cut short ended with a clean
// terminator: workerd issue 6818) unless the body comes through a FixedLengthStream, which
// also ends the connection instead of the message when fewer bytes arrive.
import { Joiner } from "../../core/bytes.js";
import { webSocketResponse } from "./websocket.js";
import { declaredPieces, piecesOf, type Pieces, type PiecesBody } from "../../core/pieces.js";
import { giveBack } from "../../core/read-slabs.js";
import { clientResponse, platformBody, type BodyMeter, type ClientResponse, type Respond } from "../../core/respond.js";
import { headersInit } from "../../core/response-fields.js";

export const respondWorkerd: Respond = (r: ClientResponse) => {
  if (r.tunnel) return webSocketResponse(r, r.tunnel);
  let body = r.body;
  const meter = r.meter;
  // A streamed body's length is said in the headers too, so whoever reads this Response again
  // (the gateway's log meter) knows the length a FixedLengthStream body does not show.
  if (r.length !== null && body !== null && !(body instanceof Uint8Array)) r.headers.set("content-length", String(r.length));
  if (r.relayed) {
    // A native pipe fills it already (relayed): its end is heard, not read.
    void r.relayed.then(({ at, bytes }) => {
      meter?.count(bytes);
      meter?.end(at);
    });
  } else if (body === null || body instanceof Uint8Array) {
    // A whole body is given as it is (workerd sends it with its length): it is counted now.
    // Its read memory is not given back (serve's writer does): workerd's Response keeps a
    // reference to the bytes, not a copy (workerd issue 4995), until it has sent them.
    if (body) meter?.count(body.byteLength);
    meter?.end();
  } else if (r.length !== null) {
    const fixed = new FixedLengthStream(r.length);
    void pumpExactly(body, fixed.writable, r.length, r.overrun, meter);
    body = fixed.readable;
  } else if (meter) {
    // The Response reads a native pipe, which this pump fills: workerd then moves the bytes
    // without calling into JavaScript for each read.
    const pipe = new IdentityTransformStream();
    void pump(piecesOf(body), pipe.writable, meter);
    body = pipe.readable;
  }
  return new Response(body && platformBody(body), {
    status: r.status,
    statusText: r.statusText,
    headers: headersInit(r.headers),
    encodeBody: r.encoded ? "manual" : "automatic",
  });
};

/** The hop from a pool object to the Worker drops Content-Length; the object states the
 *  length it promised the client here, and the Worker removes it again. */
export const LENGTH_HEADER = "x-edgepass-length";

/** Set by the pool object on a body it had whole (the answer arrived with its head, or is
 *  the gateway's own): the Worker reads it whole too, instead of pumping a stream for it. */
export const WHOLE_HEADER = "x-edgepass-whole";

/** The pool object's writer: as respondWorkerd, plus the length for the Worker to keep. */
export const respondToWorker: Respond = (r) => {
  if (r.length !== null) r.headers.set(LENGTH_HEADER, String(r.length));
  if (r.body instanceof Uint8Array) r.headers.set(WHOLE_HEADER, "1");
  return respondWorkerd(r);
};

export interface Relay {
  /** Told when the body ends or the client leaves (limit_conn gives its place back). */
  onEnd?: () => void;
  /** Asks the object what it handed on of a streamed body (PoolHost.sent). */
  sent?: () => Promise<number | null>;
  /** Keeps the Worker running until the request line is written (ctx.waitUntil). */
  waitUntil?: (p: Promise<unknown>) => void;
}

/** A response from another object of ours (the pool), as the Worker's gateway carries it on
 *  to the client: with the length and coding the object decided (fetched with
 *  encodeResponseBody: "manual", so an encoded body arrives as the origin sent it, not decoded
 *  on the way). A body the object had whole (WHOLE_HEADER) is read at once. Any other is
 *  piped by workerd itself, with pipeTo, into the stream the client's Response reads: no
 *  JavaScript runs per read in this Worker (a 4 MiB page cost 40% less CPU than pumping it
 *  here). The pipe keeps a declared length (FixedLengthStream), tells when the body ended
 *  (limit_conn, the request line); a client that leaves still reaches the object, which closes
 *  the origin's connection (tested on the wire, 4 MiB bodies and slow ones). It counts
 *  nothing: its bytes are the length it kept, or what the object says it sent. */
export async function relayed(res: Response, relay: Relay = {}): Promise<ClientResponse> {
  const headers = new Headers(res.headers);
  const declared = headers.get(LENGTH_HEADER);
  headers.delete(LENGTH_HEADER);
  // A HEAD answer has no body and keeps the length its GET would have.
  const stated = declared ?? headers.get("content-length");
  const length = stated !== null && /^\d{1,15}$/.test(stated) ? Number(stated) : null;
  const whole = headers.has(WHOLE_HEADER);
  if (whole) headers.delete(WHOLE_HEADER);
  const out = clientResponse(res.status, res.statusText, headers, res.body, length, res.headers.has("content-encoding"));
  if (!res.body) relay.onEnd?.();
  else if (whole) {
    // The object had all of it: it crosses in one read, and the place limit_conn holds goes
    // back now, as for any answer the gateway holds whole.
    out.body = new Uint8Array(await res.arrayBuffer());
    relay.onEnd?.();
  } else {
    // A FixedLengthStream ends the client's connection, not the message, if fewer arrive.
    const pipe = length !== null ? new FixedLengthStream(length) : new IdentityTransformStream();
    out.body = pipe.readable;
    out.relayed = res.body.pipeTo(pipe.writable).then(
      () => handedOn(true, length, relay),
      () => handedOn(false, length, relay),
    );
    relay.waitUntil?.(out.relayed);
  }
  return out;
}

/** When the relay ended and what it handed on: a length it kept, or the object's count. */
async function handedOn(complete: boolean, length: number | null, relay: Relay): Promise<{ at: number; bytes: number }> {
  const at = performance.now();
  relay.onEnd?.();
  if (complete && length !== null) return { at, bytes: length };
  // null: the object wrote the whole declared length (it keeps no count of those), and the
  // pipe failed on the client's side after that.
  const bytes = (await relay.sent?.().catch(() => null)) ?? length ?? 0;
  return { at, bytes };
}

/** Copies the body to the FixedLengthStream, held to `length` (core/pieces.ts); a failure
 *  aborts it, which cuts the client's connection. Backpressure: one write in flight; a client
 *  that leaves cancels the source. `meter` hears what was written, and the end. */
function pumpExactly(src: ReadableStream<Uint8Array> | PiecesBody, dst: WritableStream<Uint8Array>, length: number, overrun?: () => void, meter?: BodyMeter): Promise<void> {
  return pump(declaredPieces(piecesOf(src), length, overrun), dst, meter);
}

/** The join memory's first size: what one origin read brings at most (upstream-io.ts). */
const JOIN_BYTES = 64 * 1024;

/** Writes `pieces` into `dst` (workerd's native pipe for a Response), one write per origin
 *  read; `meter` hears each write's length and the end. */
export async function pump(pieces: Pieces, dst: WritableStream<Uint8Array>, meter?: BodyMeter): Promise<void> {
  const writer = dst.getWriter();
  // What one read brought goes out in one write: a write into workerd's pipe costs far more
  // than copying the pieces together (a FastCGI origin's 64 KiB flush comes as a record's end,
  // a second record and a few bytes of the next). They are joined in memory used again for
  // every read: workerd's write() copies the bytes before it returns
  // (WritableStreamInternalController::write), so a 4 MiB body allocates no 4 MiB of copies.
  // For the same reason pieces read straight from an origin's connection go back to its read
  // memory as soon as the write is made (core/read-slabs.ts). Nothing reads them after that:
  // the next read into that memory detaches every view of it (a BYOB read moves the buffer),
  // so even their lengths read 0 from then on.
  const joiner = new Joiner(JOIN_BYTES);
  try {
    for (let got = await pieces.next(); got !== null; got = await pieces.next()) {
      const chunk = joiner.join(got);
      const n = chunk.byteLength;
      const written = writer.write(chunk);
      if (pieces.own) giveBack(got);
      await written;
      meter?.count(n);
    }
    await writer.close();
  } catch (e) {
    writer.abort(e).catch(() => {});
    pieces.cancel(e);
  } finally {
    meter?.end();
  }
}
