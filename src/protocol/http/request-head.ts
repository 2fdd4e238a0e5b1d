// The request head sent to an HTTP origin, written once: the client's headers minus the
// hop-by-hop ones (RFC 9110 7.6.1) and the ones its Connection header names, Host passed
// through or set per upstream, X-Forwarded-For/-Proto/-Host and Via added (as nginx's
// proxy_set_header recipes do; a client's own X-Forwarded-Proto/-Host are replaced, never
// trusted), and framing decided by us: Content-Length when known, chunked otherwise.
import type { ForwardRequest } from "../../core/exchange.js";
import { HOP_BY_HOP } from "../../edge/headers.js";

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
  /** "close" for a one-off connection, "keep-alive" for pooled ones. */
  connection: "close" | "keep-alive";
}

export function requestHeaders(req: ForwardRequest, opts: { host?: string }): Array<[string, string]> {
  const named = new Set<string>();
  let clientHost = "";
  let xff = "";
  for (const [n, v] of req.headers) {
    const l = n.toLowerCase();
    if (l === "connection") for (const t of v.split(",")) named.add(t.trim().toLowerCase());
    else if (l === "host") clientHost = v;
    else if (l === "x-forwarded-for") xff = xff ? `${xff}, ${v}` : v;
  }
  const out: Array<[string, string]> = [["Host", opts.host ?? clientHost]];
  for (const [n, v] of req.headers) {
    const l = n.toLowerCase();
    if (DROP.has(l) || named.has(l) || l === "x-forwarded-for" || l === "via") continue;
    out.push([n, v]);
  }
  const via = req.headers.filter(([n]) => n.toLowerCase() === "via").map(([, v]) => v);
  out.push(
    ["X-Forwarded-For", req.clientAddr ? (xff ? `${xff}, ${req.clientAddr}` : req.clientAddr) : xff],
    ["X-Forwarded-Proto", req.scheme],
    ["X-Forwarded-Host", clientHost],
    ["Via", [...via, VIA].join(", ")],
  );
  return out.filter(([, v]) => v !== "");
}

/** Encodes the head. Header values from the platform cannot hold CR/LF (fetch's Headers
 *  refuses them); the check here guards other hosts: one request must never become two. */
export function encodeRequestHead(req: ForwardRequest, opts: HeadOptions): Uint8Array {
  if (/[\s\x00-\x1f\x7f]/.test(req.target) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(req.method)) {
    throw new Error("request line contains forbidden bytes");
  }
  let head = `${req.method} ${req.target} HTTP/1.1\r\n`;
  for (const [n, v] of requestHeaders(req, opts)) {
    if (/[\r\n\x00]/.test(n) || /[\r\n\x00]/.test(v)) throw new Error(`header ${n} contains CR, LF or NUL`);
    head += `${n}: ${v}\r\n`;
  }
  if (req.body) {
    head += req.body.length === null ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${req.body.length}\r\n`;
  } else if (req.method === "POST" || req.method === "PUT" || req.method === "PATCH") {
    head += "Content-Length: 0\r\n";
  }
  head += `Connection: ${opts.connection}\r\n\r\n`;
  // Header values are byte strings (one char = one byte), as fetch's Headers hold them.
  const out = new Uint8Array(head.length);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i) & 0xff;
  return out;
}
