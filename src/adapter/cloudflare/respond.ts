// Writes a client response in workerd, where two defaults would betray the origin: a body in
// a Response whose headers say Content-Encoding is compressed again unless the Response says
// encodeBody: "manual" (a gzip page arrived gzipped twice), and a Content-Length header is
// dropped for a streamed body (sent chunked, so a body cut short ended with a clean
// terminator: workerd issue 6818) unless the body comes through a FixedLengthStream, which
// also ends the connection instead of the message when fewer bytes arrive.
import { declaredPieces, piecesOf, type Pieces } from "../../core/pieces.js";
import { onBodyEnd } from "../../core/limit-check.js";
import type { BodyMeter, ClientResponse, Respond } from "../../core/respond.js";

export const respondWorkerd: Respond = (r: ClientResponse) => {
  let body = r.body;
  const meter = r.meter;
  if (body === null || body instanceof Uint8Array) {
    // A whole body is given as it is (workerd sends it with its length): it is counted now.
    if (body) meter?.count(body.byteLength);
    meter?.end();
  } else if (r.length !== null) {
    // Said in the headers too, so whoever reads this Response again (the gateway's log
    // meter) knows the length a FixedLengthStream body does not show.
    r.headers.set("content-length", String(r.length));
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
  return new Response(body, {
    status: r.status,
    statusText: r.statusText,
    headers: r.headers,
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

/** A response from another object of ours (the pool), as the Worker's gateway carries it on
 *  to the client: with the length and coding the object decided (fetched with
 *  encodeResponseBody: "manual", so an encoded body arrives as the origin sent it, not decoded
 *  on the way). A body the object had whole (WHOLE_HEADER) is read at once; any other goes
 *  through a pipe this Worker pumps itself (respondWorkerd's, or onBodyEnd's): handed to
 *  workerd as is, its native pipe sometimes neither read nor
 *  cancelled the object's body after the client left (measured: 6 of 12 client aborts never
 *  reached the object within 2 s; 60 of 60 with the pump), and the app never heard of it.
 *  `onEnd` is told when the body ends or the client leaves (limit_conn gives its place back). */
export async function relayed(res: Response, onEnd?: () => void): Promise<ClientResponse> {
  const headers = new Headers(res.headers);
  const declared = headers.get(LENGTH_HEADER);
  headers.delete(LENGTH_HEADER);
  // A HEAD answer has no body and keeps the length its GET would have.
  const stated = declared ?? headers.get("content-length");
  const length = stated !== null && /^\d{1,15}$/.test(stated) ? Number(stated) : null;
  const whole = headers.has(WHOLE_HEADER);
  if (whole) headers.delete(WHOLE_HEADER);
  let body: ClientResponse["body"] = res.body;
  if (body && whole) {
    // The object had all of it: it crosses in one read, and the place limit_conn holds goes
    // back now, as for any answer the gateway holds whole.
    body = new Uint8Array(await res.arrayBuffer());
    onEnd?.();
  } else if (body && onEnd) body = onBodyEnd(body, onEnd);
  return {
    status: res.status,
    statusText: res.statusText,
    headers,
    body,
    length,
    encoded: res.headers.has("content-encoding"),
  };
}

/** Copies the body to the FixedLengthStream, held to `length` (core/pieces.ts); a failure
 *  aborts it, which cuts the client's connection. Backpressure: one write in flight; a client
 *  that leaves cancels the source. `meter` hears what was written, and the end. */
function pumpExactly(src: ReadableStream<Uint8Array>, dst: WritableStream<Uint8Array>, length: number, overrun?: () => void, meter?: BodyMeter): Promise<void> {
  return pump(declaredPieces(piecesOf(src), length, overrun), dst, meter);
}

async function pump(pieces: Pieces, dst: WritableStream<Uint8Array>, meter?: BodyMeter): Promise<void> {
  const writer = dst.getWriter();
  try {
    for (let got = await pieces.next(); got !== null; got = await pieces.next()) {
      for (const p of got) {
        await writer.write(p);
        meter?.count(p.byteLength);
      }
    }
    await writer.close();
  } catch (e) {
    writer.abort(e).catch(() => {});
    pieces.cancel(e);
  } finally {
    meter?.end();
  }
}
