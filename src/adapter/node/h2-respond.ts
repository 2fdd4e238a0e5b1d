// Writes an answer on an HTTP/2 stream of `edgepass serve` (h2.ts), the counterpart of
// respond.ts's HTTP/1.1 writer: the same ClientResponse and compression, the fields HTTP/2 does
// not carry left out, a length when known, backpressure from the stream's flow control, and a
// cut body shown as the stream reset.
import type http2 from "node:http2";
import type { ServeSettings } from "../../config/types.js";
import type { Logger } from "../../core/log.js";
import { declaredPieces, piecesOf } from "../../core/pieces.js";
import { giveBack } from "../../core/read-slabs.js";
import { cancelBody, type ClientResponse } from "../../core/respond.js";
import { compressed } from "./compress.js";

/** Fields HTTP/2 does not carry (RFC 9113 8.2.2; Node refuses them) and the length, which is
 *  set here from what the body is. */
const NOT_H2 = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "http2-settings", "te"]);

export interface H2WriteOptions {
  method: string;
  sendTimeoutMs: number;
  log: Logger;
  compress?: { settings: ServeSettings; acceptEncoding: string | null };
}

/** Writes `res` on the stream; `whole` false when it was cut, which the client sees as the
 *  stream reset (RST_STREAM INTERNAL_ERROR) instead of its end: HTTP/2's way of saying a body
 *  is short, where HTTP/1.1 closes the connection. */
export async function writeH2Response(stream: http2.ServerHttp2Stream, res: ClientResponse, o: H2WriteOptions): Promise<{ whole: boolean; sent: number }> {
  const r = o.compress ? compressed(res, o.method, o.compress.acceptEncoding, o.compress.settings) : res;
  const noBody = o.method === "HEAD" || r.status === 204 || r.status === 205 || r.status === 304 || r.status < 200;
  const headers: http2.OutgoingHttpHeaders = { ":status": r.status };
  for (const [k, v] of r.headers) {
    if (NOT_H2.has(k)) continue;
    const had = headers[k];
    headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [String(had), v];
  }
  // Node's respond() adds a Date when the origin sent none, as nginx does.
  if (r.length !== null && r.status !== 204 && r.status !== 304 && r.status >= 200) headers["content-length"] = r.length;
  else if (r.length === null && r.body === null && !noBody) headers["content-length"] = 0;
  const meter = r.meter;
  const body = noBody ? null : r.body;
  if (stream.closed || stream.destroyed) {
    cancelBody(r.body);
    meter?.end();
    return { whole: false, sent: 0 };
  }
  if (body === null) {
    cancelBody(r.body);
    meter?.end();
    stream.respond(headers, { endStream: true });
    return { whole: true, sent: 0 };
  }
  stream.respond(headers);
  const cut = (e: unknown, sent: number) => {
    if (!stream.closed || e instanceof SendTimeout) o.log.log("warn", "response_cut", { sent, length: r.length, framing: "h2", reason: e instanceof Error ? e.message : String(e) });
    if (!stream.destroyed) stream.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  if (body instanceof Uint8Array) {
    meter?.count(body.byteLength);
    meter?.end();
    try {
      await written(stream, [body], o.sendTimeoutMs, () => giveBack([body]));
      stream.end();
      return { whole: true, sent: body.byteLength };
    } catch (e) {
      cut(e, 0);
      return { whole: false, sent: 0 };
    }
  }
  const pieces = declaredPieces(piecesOf(body), r.length, r.overrun);
  const onClose = () => pieces.cancel(new Error("the client went away"));
  stream.once("close", onClose);
  let sent = 0;
  try {
    for (let got = await pieces.next(); got !== null; got = await pieces.next()) {
      let n = 0;
      for (const p of got) n += p.byteLength;
      // Pieces read straight from an origin's connection go back to its read memory once the
      // stream is done with them (read-slabs.ts).
      const wait = written(stream, got, o.sendTimeoutMs, pieces.own ? () => giveBack(got) : undefined);
      if (wait) await wait;
      sent += n;
      meter?.count(n);
    }
    meter?.end();
    stream.end();
    return { whole: true, sent };
  } catch (e) {
    pieces.cancel(e);
    meter?.end();
    cut(e, sent);
    return { whole: false, sent };
  } finally {
    stream.off("close", onClose);
  }
}

class SendTimeout extends Error {}

/** Writes `chunks`; `done` runs once the stream has handed them all on (their memory may be
 *  reused then). Null when the stream's buffer has room for more; else a promise for when it
 *  drained, which fails when the client takes nothing for `ms` (send_timeout) or goes. */
function written(stream: http2.ServerHttp2Stream, chunks: Uint8Array[], ms: number, done?: () => void): Promise<void> | null {
  if (stream.destroyed || stream.closed) throw new Error("the client went away");
  let left = chunks.length;
  let room = true;
  for (const c of chunks) room = stream.write(c, done && (() => --left === 0 && done()));
  if (room) return null;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new SendTimeout(`the client took nothing for ${ms / 1000} s (send_timeout)`)), ms);
    const onClose = () => finish(new Error("the client went away"));
    const onDrain = () => finish();
    const finish = (e?: Error) => {
      clearTimeout(timer);
      stream.off("close", onClose);
      stream.off("drain", onDrain);
      if (e) reject(e);
      else resolve();
    };
    stream.once("close", onClose);
    stream.once("drain", onDrain);
  });
}
