// The last step of every proxied response, the same for every protocol and both paths (direct
// and pooled): the one header policy (edge/headers.ts), the origin's content coding kept or
// decoded for the client (encoding.ts), and the body's length known to the host, which writes
// the response so that a declared length stays on the wire (a short body is then detectable)
// and an encoded body is never encoded again. How a host does that is its own: `Respond`.
import { putClientFields } from "../edge/headers.js";
import { headersInit, ResponseFields, type Fields } from "./response-fields.js";
import { acceptsCoding, contentCoding, decoderFor } from "./encoding.js";
import { Codes, GatewayError } from "./errors.js";
import { PiecesBody } from "./pieces.js";
import type { Body, ForwardResponse } from "./exchange.js";
export type { Body } from "./exchange.js";
import type { Logger } from "./log.js";
import type { Switched } from "./tunnel.js";

export interface ClientResponse {
  status: number;
  statusText: string;
  headers: Fields;
  /** null: no body (HEAD, 204, 304…); the headers may still declare a length. */
  body: Body | null;
  /** The body's exact length when the origin declared one: the host must send it as
   *  Content-Length and end the connection, not the message, if fewer bytes arrive. */
  length: number | null;
  /** The body is in the origin's content coding: the host must pass it as is. */
  encoded: boolean;
  /** Called when the body runs past `length` (the host stops at the declared length). */
  overrun?: () => void;
  /** Given to a host that writes the body itself (GatewayDeps.countsBytes): it reports each
   *  chunk's bytes as it reads them and calls `end` once, however the body ends (whole,
   *  failed, cancelled, or never written), in place of a counting stream around the body. */
  meter?: BodyMeter;
  /** Set when `body` is a platform stream a native pipe already fills (the Worker's relay
   *  of a pool object's body): settles once that pipe ended, however it ended, with when
   *  (performance.now()) and how many bytes it handed on. The host passes the body as is. */
  relayed?: Promise<{ at: number; bytes: number }>;
  /** A 101: the origin's switched connection, which the host joins to the client's. */
  tunnel?: Switched;
}

export interface BodyMeter {
  count(n: number): void;
  /** `at`: when the body ended (performance.now()), for an end learned later; else now. */
  end(at?: number): void;
}

/** Writes a ClientResponse as what the host answers with: workerd's Response
 *  (cloudflare/respond.ts), or the response itself for a host that writes it on the socket
 *  (adapter/node/respond.ts). */
export type Respond<Out = Response> = (r: ClientResponse) => Out;

/** For hosts whose Response needs no special handling of lengths or codings. */
export const plainRespond: Respond = (r) => new Response(r.body && platformBody(r.body), { status: r.status, statusText: r.statusText, headers: headersInit(r.headers) });

/** `body` as a platform Response takes it: at hand as it is, anything else as a stream. */
export function platformBody(body: Body): Uint8Array | ReadableStream<Uint8Array> {
  return body instanceof PiecesBody ? body.toStream() : body;
}

const utf8 = new TextEncoder();

/** Every ClientResponse is made here, with every field from the start: one shape for all of
 *  them (an origin's, a file, the gateway's own), so the host's writer reads their fields
 *  without a lookup per shape, and setting `meter` later adds nothing. */
export function clientResponse(
  status: number,
  statusText: string,
  headers: Fields,
  body: Body | null,
  length: number | null,
  encoded: boolean,
  overrun?: () => void,
): ClientResponse {
  return { status, statusText, headers, body, length, encoded, overrun, meter: undefined, relayed: undefined, tunnel: undefined };
}

/** An answer of the gateway's own: its text (if any) as the whole body, with its length. */
export function ownAnswer(status: number, headers: Fields, text?: string): ClientResponse {
  const body = text === undefined ? null : utf8.encode(text);
  return clientResponse(status, "", headers, body, body ? body.byteLength : null, false);
}

/** `body` as a stream, for whatever must read or wrap it as one. */
export function streamOf(body: Body): ReadableStream<Uint8Array> {
  if (body instanceof PiecesBody) return body.toStream();
  if (!(body instanceof Uint8Array)) return body;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (body.byteLength) controller.enqueue(body);
      controller.close();
    },
  });
}

/** Drops a body that will not be read. */
export function cancelBody(body: Body | null | undefined, reason?: unknown): void {
  if (body instanceof PiecesBody) body.cancel(reason);
  else if (body && !(body instanceof Uint8Array)) void body.cancel(reason).catch(() => {});
}

/** A Response as the pipeline carries it: its declared length kept; a body of the gateway's
 *  own without one (`whole`) is read to the end, so it goes out with its length. Headers that
 *  cannot change (a fetch's) are copied, so every later step may set them in place. */
export async function fromResponse(res: Response, whole: boolean): Promise<ClientResponse> {
  const declared = res.headers.get("content-length");
  // A HEAD answer has no body and keeps the length its GET would have.
  let length = declared !== null && /^\d{1,15}$/.test(declared) ? Number(declared) : null;
  let body: Body | null = res.body;
  if (body && length === null && whole) {
    body = new Uint8Array(await res.arrayBuffer());
    length = body.byteLength;
  }
  const headers = mutable(res.headers) ? res.headers : new Headers(res.headers);
  return clientResponse(res.status, res.statusText, headers, body, length, headers.has("content-encoding"));
}

/** Immutable Headers (a fetch's) throw on any change, even deleting a name they lack. */
function mutable(h: Headers): boolean {
  try {
    h.delete("x-edgepass-probe");
    return true;
  } catch {
    return false;
  }
}

export function toClient(res: ForwardResponse, acceptEncoding: string | null | undefined, origin: string, log: Logger, now = Date.now()): ClientResponse {
  const headers = new ResponseFields();
  putClientFields(headers, res.headers, now);
  let body = res.body;
  let length = declaredLength(headers, origin, body);
  // A whole body that is not the length its head declared goes the way of a stream, which the
  // hosts hold to the declared length (cut short, or cut off where it runs past).
  // A whole body the origin gave no length for has one now.
  if (body instanceof Uint8Array && length !== null && body.byteLength !== length) body = streamOf(body);
  else if (body instanceof Uint8Array) length = body.byteLength;
  const overrun = () => log.log("warn", "response_longer_than_declared", { origin, length });
  return inClientCoding(clientResponse(res.status, res.statusText, headers, body, length, false, overrun), acceptEncoding, log);
}

/** `r` (its body not read yet) in a coding the client reads: an origin's content coding is
 *  kept (`encoded`), or decoded for a client that cannot read it. */
export function inClientCoding(r: ClientResponse, acceptEncoding: string | null | undefined, log: Logger): ClientResponse {
  const headers = r.headers;
  const coding = contentCoding(headers.get("content-encoding"));
  if (coding === "") return r;
  const format = coding === null ? null : decoderFor(coding);
  if (coding === null || !format || acceptsCoding(acceptEncoding, coding)) {
    r.encoded = true;
    return r;
  }
  // nginx's gunzip: the client cannot read this coding, so it gets the decoded body. Its
  // length is unknown until the end; a strong validator no longer matches the bytes.
  headers.delete("content-encoding");
  headers.delete("content-length");
  const etag = headers.get("etag");
  if (etag && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
  if (r.body) r.body = streamOf(r.body).pipeThrough(new DecompressionStream(format));
  r.length = null;
  r.encoded = false;
  log.log("debug", "response_decoded", { coding });
  return r;
}

const DECIMAL_LENGTH = /^\d{1,15}$/;

/** The Content-Length the origin declared, or null. Several different values, or one that
 *  is not a plain decimal number, cannot delimit anything: 502 (for HTTP origins the codec
 *  refused these already; CGI heads arrive here unchecked). */
function declaredLength(headers: Fields, origin: string, body: Body | null): number | null {
  const v = headers.get("content-length");
  if (v === null) return null;
  // One plain number, as nearly every origin sends it.
  if (DECIMAL_LENGTH.test(v)) return Number(v);
  const values = new Set(v.split(",").map((s) => s.trim()));
  const [only] = values;
  if (values.size !== 1 || !DECIMAL_LENGTH.test(only)) {
    cancelBody(body);
    throw new GatewayError(Codes.UPSTREAM_BAD_RESPONSE, 502, `The origin ${origin} sent an invalid Content-Length (${v}).`);
  }
  headers.set("content-length", only);
  return Number(only);
}
