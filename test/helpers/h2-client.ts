// An HTTP/2 client for tests: Node's http2 (nghttp2) over TLS, one connection per request, the
// answer in the shape rawRequest gives an HTTP/1.1 one (WireResponse), so a case can judge both
// protocols alike. HTTP/2 has no chunked coding: a body without a Content-Length is framed by
// its DATA frames up to END_STREAM, reported as "chunked", what it stands in for. `complete`
// means END_STREAM arrived with no RST_STREAM and, with a declared length, every byte of it; a
// body cut by the server shows as the stream reset (its code in `resetCode`).
import http2 from "node:http2";
import type { WireRequest, WireResponse } from "./raw-http.js";

export interface H2Response extends WireResponse {
  /** The RST_STREAM code that ended the stream (0: none, or NO_ERROR). */
  resetCode: number;
  /** The connection's ALPN protocol, "h2". */
  alpn: string | false | undefined;
}

/** Sends one request on a new HTTP/2 connection to `base` (https://), trusting `ca`. */
export function h2Request(base: string, ca: string, req: WireRequest & { rawHeaders?: Array<[string, string]> }): Promise<H2Response> {
  const body = req.body === undefined ? null : Buffer.from(req.body);
  return new Promise((resolve, reject) => {
    // Node's client refuses to send a head over 64 KiB of its own accord; the server decides.
    const session = http2.connect(base, { ca, maxSendHeaderBlockLength: 1 << 24 });
    session.on("error", reject);
    const headers: http2.OutgoingHttpHeaders = { ":method": req.method ?? "GET", ":path": req.path };
    // A Cookie goes as one field per cookie, as browsers send it (RFC 9113 8.2.3).
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = k.toLowerCase() === "cookie" ? v.split("; ") : v;
    for (const [k, v] of req.rawHeaders ?? []) {
      const had = headers[k];
      headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [String(had), v];
    }
    if (body && !req.chunked) headers["content-length"] = body.length;
    const stream = session.request(headers, { endStream: body === null });
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), req.timeoutMs ?? 15_000);
    let status = 0;
    const fields: Array<[string, string]> = [];
    const parts: Buffer[] = [];
    let ended = false;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      for (const [k, v] of Object.entries(h)) {
        if (k.startsWith(":") || v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [String(v)]) fields.push([k, one]);
      }
    });
    stream.on("data", (d: Buffer) => parts.push(d));
    stream.on("end", () => (ended = true));
    stream.on("error", () => {}); // a reset: its code is read at close
    stream.on("close", () => {
      clearTimeout(timer);
      const alpn = session.alpnProtocol;
      session.close();
      const got = Buffer.concat(parts);
      const get = (name: string) => fields.find(([k]) => k === name)?.[1] ?? null;
      const declared = get("content-length");
      const resetCode = stream.rstCode ?? 0;
      const clean = ended && resetCode === http2.constants.NGHTTP2_NO_ERROR;
      const noBody = req.method === "HEAD" || status === 204 || status === 304;
      const framing = declared !== null ? "length" : noBody ? "none" : "chunked";
      const complete = clean && (framing !== "length" || noBody || got.length === Number(declared));
      const head = `HTTP/2 ${status}\r\n${fields.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
      if (status === 0 && !ended) return reject(new Error(`no answer (stream reset with code ${resetCode})`));
      resolve({ status, headers: fields, get, body: got, framing, complete, raw: Buffer.concat([Buffer.from(head, "latin1"), got]), resetCode, alpn });
    });
    if (body) {
      if (req.chunked) {
        // No length declared: the body in DATA frames of 50,000 bytes, as a chunked upload.
        for (let at = 0; at < body.length; at += 50_000) stream.write(body.subarray(at, at + 50_000));
        stream.end();
      } else stream.end(body);
    }
  });
}
