// The request head sent to an HTTP origin, written once: the client's headers minus the
// hop-by-hop ones (RFC 9110 7.6.1) and the ones its Connection header names, Host passed
// through or set per upstream, X-Forwarded-For/-Proto/-Host and Via added (as nginx's
// proxy_set_header recipes do; a client's own X-Forwarded-Proto/-Host are replaced, never
// trusted), X-SSL-Client-* where the gateway checks client certificates (replacing the
// client's own), and framing decided by us: Content-Length when known, chunked otherwise.
import type { ForwardRequest } from "../../core/exchange.js";
import { HOP_BY_HOP } from "../../edge/headers.js";
import { TLS_HEADER_PREFIX, tlsHeaders } from "../../core/client-tls.js";

/** Request fields that describe one hop, or that we set ourselves. */
const DROP = new Set([
  ...HOP_BY_HOP,
  "proxy-authorization",
  "content-length",
  "host",
  "x-forwarded-proto",
  "x-forwarded-host",
  "expect",
]);

export const VIA = "1.1 edgepass";

export interface HeadOptions {
  /** Host header for the origin; undefined = the client's. */
  host?: string;
  /** "close" for a one-off connection, "keep-alive" for pooled ones, "upgrade" for a
   *  WebSocket handshake (core/tunnel.ts), which asks with `Upgrade: websocket`. */
  connection: "close" | "keep-alive" | "upgrade";
}

export function requestHeaders(req: ForwardRequest, opts: { host?: string }): Array<[string, string]> {
  const fields = req.headers;
  // Each name lower-cased once, in the first pass, and read again in the second.
  const lower: string[] = new Array(fields.length);
  let named: Set<string> | null = null;
  let clientHost = "";
  let xff = "";
  let via = "";
  for (let i = 0; i < fields.length; i++) {
    const [n, v] = fields[i];
    const l = (lower[i] = n.toLowerCase());
    if (l === "connection") for (const t of v.split(",")) (named ??= new Set()).add(t.trim().toLowerCase());
    else if (l === "host") clientHost = v;
    else if (l === "x-forwarded-for") xff = xff ? `${xff}, ${v}` : v;
    else if (l === "via") via = `${via}${v}, `;
  }
  const out: Array<[string, string]> = [];
  const host = opts.host ?? clientHost;
  if (host !== "") out.push(["Host", host]);
  // Where the gateway asks for client certificates, the origin hears of one only from it.
  const certs = req.tls?.verify !== undefined;
  // The route's request_headers replace the client's fields and the gateway's own.
  const set = req.setHeaders?.length ? new Set(req.setHeaders.map(([n]) => n.toLowerCase())) : null;
  for (let i = 0; i < fields.length; i++) {
    const l = lower[i];
    if (DROP.has(l) || named?.has(l) || l === "x-forwarded-for" || l === "via" || fields[i][1] === "") continue;
    if ((certs && l.startsWith(TLS_HEADER_PREFIX)) || set?.has(l)) continue;
    out.push(fields[i]);
  }
  if (certs) out.push(...tlsHeaders(req.tls));
  const own = (name: string, value: string) => {
    if (value !== "" && !set?.has(name.toLowerCase())) out.push([name, value]);
  };
  own("X-Forwarded-For", req.clientAddr ? (xff ? `${xff}, ${req.clientAddr}` : req.clientAddr) : xff);
  own("X-Forwarded-Proto", req.scheme);
  own("X-Forwarded-Host", clientHost);
  own("Via", via + VIA);
  for (const [n, v] of req.setHeaders ?? []) if (v !== "") out.push([n, v]);
  return out;
}

/** A field name or value that would end its line or the head early. */
const LINE_BREAKING = /[\r\n\x00]/;
const encoder = new TextEncoder();

/** Encodes the head. Header values from the platform cannot hold CR/LF (fetch's Headers
 *  refuses them); the check here guards other hosts: one request must never become two. */
export function encodeRequestHead(req: ForwardRequest, opts: HeadOptions): Uint8Array {
  if (/[\s\x00-\x1f\x7f]/.test(req.target) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(req.method)) {
    throw new Error("request line contains forbidden bytes");
  }
  // Joined once: one flat string, not a tree of `+=` pieces the encoder flattens again.
  const parts: string[] = [`${req.method} ${req.target} HTTP/1.1`];
  for (const [n, v] of requestHeaders(req, opts)) {
    if (LINE_BREAKING.test(n) || LINE_BREAKING.test(v)) throw new Error(`header ${n} contains CR, LF or NUL`);
    parts.push(`${n}: ${v}`);
  }
  if (req.body) {
    parts.push(req.body.length === null ? "Transfer-Encoding: chunked" : `Content-Length: ${req.body.length}`);
  } else if (req.method === "POST" || req.method === "PUT" || req.method === "PATCH") {
    parts.push("Content-Length: 0");
  }
  if (opts.connection === "upgrade") parts.push("Upgrade: websocket");
  parts.push(`Connection: ${opts.connection}`, "", "");
  const head = parts.join("\r\n");
  // Header values are byte strings (one char = one byte), as fetch's Headers hold them. An
  // ASCII head (nearly every one) is encoded in one call; any other char goes byte by byte.
  const out = new Uint8Array(head.length);
  const done = encoder.encodeInto(head, out);
  if (done.read === head.length && done.written === head.length) return out;
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i) & 0xff;
  return out;
}
