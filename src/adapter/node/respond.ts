// Writes responses on a client socket, which workerd never lets us do: the host decides the
// framing. A declared length goes out as Content-Length and the connection is cut when fewer
// bytes arrive (more are dropped at the length); a body of unknown length goes out chunked,
// and when it fails after the head the connection is closed WITHOUT the 0-size chunk, so the
// client can tell a cut body from a whole one (RFC 9112 7.1: the last chunk ends the message).
import { STATUS_CODES } from "node:http";
import type net from "node:net";
import { declaredPieces, piecesOf } from "../../core/pieces.js";
import { httpDate } from "../../edge/headers.js";
import { cancelBody, type ClientResponse, type Respond } from "../../core/respond.js";
import { ResponseFields } from "../../core/response-fields.js";
import type { Logger } from "../../core/log.js";
import type { CompressSettings } from "../../edge/compress.js";
import { compressed } from "./compress.js";
import { giveBack } from "../../core/read-slabs.js";
import { CoalescingWriter } from "./socket-streams.js";
import { bytesToFill } from "./read-slabs.js";

/** RFC 9110's names where Node's table still has RFC 7231's, so a status line agrees with the
 *  error page under it ("413 Content Too Large"). */
const RENAMED: Record<number, string> = { 413: "Content Too Large", 422: "Unprocessable Content" };

/** The Node host writes the client's response itself (writeResponse): the pipeline hands it
 *  over as it is, no Response in between. */
export const respondNode: Respond<ClientResponse> = (r) => r;

/** Drops a response that will not be written: its body is cancelled and its log line,
 *  which the writer would have finished, is written now. */
export function discardResponse(r: ClientResponse): void {
  cancelBody(r.body);
  r.meter?.end();
}

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

/** A body at hand up to this size leaves in one buffer with its head (copied). */
const WHOLE_COPY_MAX = 16 * 1024;

/** Framing fields are ours to set; these from the gateway or origin are replaced. */
const OURS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

/** `r`'s fields as head lines, but for the framing ones, which are ours (OURS). */
function fieldLines(r: ClientResponse): string[] {
  const fields: string[] = [];
  if (r.headers instanceof ResponseFields) r.headers.headLines(OURS, fields);
  else for (const [k, v] of r.headers) if (!OURS.has(k)) fields.push(`${k}: ${v}`);
  return fields;
}

/** The head that tells the client its connection switched (a 101 with a tunnel): the origin's
 *  fields under the header policy, with the two that say what it switched to. */
export function switchingHead(r: ClientResponse): string {
  const fields = fieldLines(r);
  fields.push("connection: upgrade", "upgrade: websocket");
  return `HTTP/1.1 101 Switching Protocols\r\n${fields.join("\r\n")}\r\n\r\n`;
}

/** Writes `res`; true when the message went out whole and the connection may carry another
 *  (false: it was cut, or must close). An answer the socket took at once (most small ones) is
 *  told without a promise; one that waits for the client or streams, with one. */
export function writeResponse(sock: net.Socket, res: ClientResponse, o: WriteOptions): boolean | Promise<boolean> {
  // A whole body is as long as its declared length (toClient made it a stream otherwise).
  const r = o.compress ? compressed(res, o.method, o.compress.acceptEncoding, o.compress.settings) : res;
  // 205 carries no content (RFC 9110 15.3.6), whatever came with it.
  const noBody = o.method === "HEAD" || r.status === 204 || r.status === 205 || r.status === 304 || r.status < 200;
  let keepAlive = o.keepAlive;
  let framing: "length" | "chunked" | "close" | "none";
  const fields = fieldLines(r);
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
  const reason = r.statusText ? r.statusText.replace(/[^\t\x20-\x7e\x80-\xff]/g, "") : (RENAMED[r.status] ?? STATUS_CODES[r.status] ?? "");
  const head = `HTTP/1.1 ${r.status} ${reason}\r\n${fields.join("\r\n")}\r\n\r\n`;
  // What one response writes in a turn leaves in one system call (socket-streams.ts).
  const out = new CoalescingWriter(sock);
  // null when the socket took it; else a promise for when it drained (send_timeout on it).
  const timed = (full: Promise<void> | null): Promise<void> | null => full && withSendTimeout(sock, o.sendTimeoutMs)(full);
  const send = (...chunks: Array<Uint8Array | string>): Promise<void> | null => sendThen(chunks, undefined);
  const sendThen = (chunks: Array<Uint8Array | string>, written: (() => void) | undefined): Promise<void> | null => timed(out.writeThen(chunks, written));
  // Head and a body at hand copied into one buffer (bytesToFill: shared blocks when small): one
  // plain write costs less than the writev of a string and a buffer, and allocates less.
  // `written`: the body is no longer needed (copied, or on the wire).
  const whole = (h: string, b: Uint8Array, written: () => void): Promise<void> | null => {
    if (b.byteLength > WHOLE_COPY_MAX) return sendThen([h, b], written);
    const buf = bytesToFill(h.length + b.byteLength);
    buf.write(h, 0, "latin1");
    buf.set(b, h.length);
    written();
    return timed(out.write(buf));
  };
  const body = framing === "none" ? null : r.body;
  const meter = r.meter;
  // Once the head is out, the only honest signal left is the connection itself. (A client
  // that left needs no line; one dropped at send_timeout does.)
  const cut = (e: unknown, sent: number) => {
    if (!sock.destroyed || e instanceof SendTimeout) o.log.log("warn", "response_cut", { sent, length: r.length, framing, reason: e instanceof Error ? e.message : String(e) });
  };
  if (framing === "none" || body === null) {
    cancelBody(r.body);
    meter?.end();
    const full = send(head);
    return full ? full.then(() => keepAlive) : keepAlive;
  }
  if (body instanceof Uint8Array) {
    // The whole body is at hand: head, body (and last chunk) leave in one write.
    meter?.count(body.byteLength);
    meter?.end();
    const sent = () => (framing === "close" ? false : keepAlive);
    const failed = (e: unknown) => {
      cut(e, 0);
      sock.destroy();
      return false;
    };
    // A body read straight from an origin's connection (a view of its read memory) goes back
    // to that memory once written, as a streamed body's pieces do: held on to, it would cost
    // a new 64 KiB of read memory for every such answer, and the collector's time to free it.
    // A body of the gateway's own is not read memory; giving it back does nothing.
    const done = () => giveBack([body]);
    let full: Promise<void> | null;
    try {
      if (framing !== "chunked") full = whole(head, body, done);
      else if (body.byteLength === 0) full = send(head, "0\r\n\r\n");
      else full = sendThen([head, body.byteLength.toString(16) + "\r\n", body, "\r\n0\r\n\r\n"], done);
    } catch (e) {
      return failed(e);
    }
    return full ? full.then(sent, failed) : sent();
  }
  return writeStreamed(sock, r, o, { body, head, framing, keepAlive, send, sendThen, cut });
}

interface Streaming {
  body: Exclude<ClientResponse["body"], null | Uint8Array>;
  head: string;
  framing: "length" | "chunked" | "close";
  keepAlive: boolean;
  send: (...chunks: Array<Uint8Array | string>) => Promise<void> | null;
  sendThen: (chunks: Array<Uint8Array | string>, written: (() => void) | undefined) => Promise<void> | null;
  cut: (e: unknown, sent: number) => void;
}

/** A body that arrives in pieces: each origin read's pieces leave in one write, and a cut
 *  shows as one (below). */
async function writeStreamed(sock: net.Socket, r: ClientResponse, o: WriteOptions, w: Streaming): Promise<boolean> {
  const { body, head, framing, keepAlive, send, sendThen, cut } = w;
  const meter = r.meter;
  const pieces = declaredPieces(piecesOf(body), framing === "length" ? r.length : null, r.overrun);
  const onClose = () => pieces.cancel(new Error("the client went away"));
  sock.once("close", onClose);
  let sent = 0;
  try {
    await send(head);
    // What one read from the origin brought leaves in one write (one chunk when chunked).
    for (let got = await pieces.next(); got !== null; got = await pieces.next()) {
      let n = 0;
      for (const p of got) n += p.byteLength;
      // Pieces read straight from an origin's connection go back to its read memory once the
      // socket is done with them (read-slabs.ts).
      const written = pieces.own ? () => giveBack(got) : undefined;
      const full = framing === "chunked" ? sendThen([n.toString(16) + "\r\n", ...got, "\r\n"], written) : sendThen(got, written);
      if (full) await full;
      sent += n;
      meter?.count(n);
    }
    meter?.end();
    if (framing === "chunked") await send("0\r\n\r\n");
    if (framing === "close") return false;
    return keepAlive;
  } catch (e) {
    cut(e, sent);
    pieces.cancel(e);
    meter?.end();
    if (framing === "close") {
      // Only the close delimits this body, and a clean close would make the cut look whole: a
      // reset tells the client (an HTTP/1.0 one) the body is short. (Over TLS, whose socket
      // cannot reset, the missing close_notify is the sign.)
      if (!sock.destroyed) {
        try {
          sock.resetAndDestroy();
        } catch {
          sock.destroy();
        }
      }
      return false;
    }
    // What did arrive still goes out: the close that follows waits for it (a client that
    // stopped reading was dropped at send_timeout already), and the cut shows as fewer bytes
    // than declared or a chunked body without its last chunk.
    return false;
  } finally {
    sock.off("close", onClose);
  }
}

class SendTimeout extends Error {}

/** Wraps a write so a client that takes nothing for `ms` is dropped (nginx's send_timeout). */
export function withSendTimeout(sock: net.Socket, ms: number): <T>(p: Promise<T>) => Promise<T> {
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
