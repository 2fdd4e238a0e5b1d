// Writes responses on a client socket, which workerd never lets us do: the host decides the
// framing. A declared length goes out as Content-Length and the connection is cut when fewer
// bytes arrive (more are dropped at the length); a body of unknown length goes out chunked,
// and when it fails after the head the connection is closed WITHOUT the 0-size chunk, so the
// client can tell a cut body from a whole one (RFC 9112 7.1: the last chunk ends the message).
import { STATUS_CODES } from "node:http";
import type net from "node:net";
import { declaredChunks } from "../../core/declared-length.js";
import { httpDate } from "../../edge/headers.js";
import type { ClientResponse, Respond } from "../../core/respond.js";
import type { Logger } from "../../core/log.js";
import type { CompressSettings } from "../../edge/compress.js";
import { compressed } from "./compress.js";
import { CoalescingWriter } from "./socket-streams.js";

// The gateway hands back a Response (core/gateway.ts); the writer needs what Respond was told
// (length, coding), so the Response is only a key to it. The body stream is a key too: a route's
// header policy (core/finish.ts) wraps the Response in a new one around the same stream.
const told = new WeakMap<Response | ReadableStream<Uint8Array>, ClientResponse>();

/** Statuses a Response cannot be built with a body for (Fetch standard, "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

// The Response respondNode made around each Headers: told again about the same status, headers
// and body (the gateway's last step adds its headers in place and hands over the meter), it
// keeps that Response instead of copying the headers into another one.
const madeWith = new WeakMap<Headers, Response>();

export const respondNode: Respond = (r) => {
  const body = NULL_BODY.has(r.status) ? null : r.body;
  const prev = madeWith.get(r.headers);
  if (prev && prev.status === r.status && prev.statusText === r.statusText && prev.body === body) {
    const t = { ...r };
    told.set(prev, t);
    if (body) told.set(body, t);
    return prev;
  }
  const res = new Response(body, { status: r.status, statusText: r.statusText, headers: r.headers });
  madeWith.set(res.headers, res);
  // The Response's own headers are the ones written, so a change to them in place (a route's
  // header policy, core/finish.ts) reaches the client.
  const t = { ...r, headers: res.headers };
  told.set(res, t);
  if (body) told.set(body, t);
  return res;
};

/** Drops a response that will not be written: its body is cancelled and its log line,
 *  which the writer would have finished, is written now. */
export function discardResponse(res: Response): void {
  void res.body?.cancel().catch(() => {});
  clientResponse(res)?.meter?.end();
}

/** What respondNode was told for `res` (the gateway's unwrap). */
export const toldFor = (res: Response): ClientResponse | null => told.get(res) ?? null;

export interface WriteOptions {
  method: string;
  /** 10 or 11: an HTTP/1.0 client gets a close-delimited body instead of chunked. */
  version: number;
  keepAlive: boolean;
  sendTimeoutMs: number;
  log: Logger;
  /** [serve] compress and its settings, with the client's Accept-Encoding; absent: as is. */
  compress?: { settings: CompressSettings; acceptEncoding: string | null };
}

/** Framing fields are ours to set; these from the gateway or origin are replaced. */
const OURS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

/** Writes `res`; resolves true when the message went out whole and the connection may carry
 *  another (false: it was cut, or must close). */
export async function writeResponse(sock: net.Socket, res: Response, o: WriteOptions): Promise<boolean> {
  let r = clientResponse(res) ?? (await ownResponse(res));
  if (o.compress) r = compressed(r, o.method, o.compress.acceptEncoding, o.compress.settings);
  const noBody = o.method === "HEAD" || r.status === 204 || r.status === 304 || r.status < 200;
  let keepAlive = o.keepAlive;
  let framing: "length" | "chunked" | "close" | "none";
  const fields: string[] = [];
  for (const [k, v] of r.headers) if (!OURS.has(k)) fields.push(`${k}: ${v}`);
  if (!r.headers.has("date")) fields.push(`date: ${httpDate(Date.now())}`);
  if (r.length !== null) {
    framing = noBody ? "none" : "length";
    if (r.status !== 204 && r.status !== 304 && r.status >= 200) fields.push(`content-length: ${r.length}`);
  } else if (noBody) {
    framing = "none";
  } else if (r.body === null) {
    framing = "length";
    fields.push("content-length: 0");
  } else if (o.version >= 11) {
    framing = "chunked";
    fields.push("transfer-encoding: chunked");
  } else {
    framing = "close";
    keepAlive = false;
  }
  fields.push(keepAlive ? "connection: keep-alive" : "connection: close");
  const reason = (r.statusText || STATUS_CODES[r.status] || "").replace(/[^\t\x20-\x7e\x80-\xff]/g, "");
  const head = `HTTP/1.1 ${r.status} ${reason}\r\n${fields.join("\r\n")}\r\n\r\n`;
  // Head, body and last chunk go out as one writev when the body is at hand (a small page).
  const out = new CoalescingWriter(sock);
  const send = async (...chunks: Array<Uint8Array | string>) => {
    const full = out.write(...chunks);
    if (full) await withSendTimeout(sock, o.sendTimeoutMs)(full);
  };
  const body = framing === "none" ? null : r.body;
  const meter = r.meter;
  if (framing === "none" || body === null) {
    if (r.body) void r.body.cancel().catch(() => {});
    meter?.end();
    await send(Buffer.from(head, "latin1"));
    out.flush();
    return keepAlive;
  }
  const reader = body.getReader();
  const onClose = () => void reader.cancel(new Error("the client went away")).catch(() => {});
  sock.once("close", onClose);
  let sent = 0;
  try {
    await send(Buffer.from(head, "latin1"));
    for await (const value of declaredChunks(reader, framing === "length" ? r.length : null, r.overrun)) {
      if (framing === "chunked") await send(value.byteLength.toString(16) + "\r\n", value, "\r\n");
      else await send(value);
      sent += value.byteLength;
      meter?.count(value.byteLength);
    }
    meter?.end();
    if (framing === "chunked") await send("0\r\n\r\n");
    out.flush();
    if (framing === "close") return false;
    return keepAlive;
  } catch (e) {
    // The head is out; the only honest signal left is the connection itself. (A client that
    // left needs no line; one dropped at send_timeout does.)
    if (!sock.destroyed || e instanceof SendTimeout) o.log.log("warn", "response_cut", { sent, length: r.length, framing, reason: e instanceof Error ? e.message : String(e) });
    void reader.cancel(e).catch(() => {});
    meter?.end();
    out.flush(); // what did arrive goes out before the cut
    sock.destroy();
    return false;
  } finally {
    sock.off("close", onClose);
  }
}

/** What the writer knows of `res`: what Respond was told (under the route's headers, when the
 *  policy rewrapped it), or, for a file (static.ts, error pages, X-Accel-Redirect), the length
 *  its Content-Length declares, so the file streams from disk with that length on the wire. */
function clientResponse(res: Response): ClientResponse | null {
  const direct = told.get(res);
  if (direct) return direct;
  const byBody = res.body ? told.get(res.body) : undefined;
  if (byBody) return { ...byBody, status: res.status, statusText: res.statusText, headers: res.headers };
  const cl = res.headers.get("content-length");
  if (cl === null || !/^\d{1,15}$/.test(cl)) return null;
  return { status: res.status, statusText: res.statusText, headers: res.headers, body: res.body, length: Number(cl), encoded: res.headers.has("content-encoding") };
}

/** A Response the gateway made itself with no declared length (its errors, statistics):
 *  small, so it is read whole and sent with its length. */
async function ownResponse(res: Response): Promise<ClientResponse> {
  const bytes = res.body ? new Uint8Array(await res.arrayBuffer()) : null;
  const body = bytes && bytes.byteLength > 0 ? new Blob([bytes]).stream() : null;
  return { status: res.status, statusText: res.statusText, headers: res.headers, body, length: bytes ? bytes.byteLength : null, encoded: true };
}

class SendTimeout extends Error {}

/** Wraps a write so a client that takes nothing for `ms` is dropped (nginx's send_timeout). */
function withSendTimeout(sock: net.Socket, ms: number): <T>(p: Promise<T>) => Promise<T> {
  return (p) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new SendTimeout(`the client took nothing for ${ms / 1000} s (send_timeout)`));
        sock.destroy();
      }, ms);
      p.then(
        (v) => (clearTimeout(t), resolve(v)),
        (e) => (clearTimeout(t), reject(e)),
      );
    });
}
