// Which responses a host compresses, and with what: nginx's `gzip on` (and the brotli module),
// decided once for every host that compresses itself. The Worker does not: Cloudflare's edge
// compresses there. Only responses the origin left unencoded, of a text-like type, long enough,
// with a body a client reads whole (not 206, not HEAD, 204 or 304).
import { codingQuality } from "../core/encoding.js";
import type { Fields } from "../core/response-fields.js";

export interface CompressSettings {
  compress: ReadonlyArray<"br" | "gzip">;
  compressTypes: readonly string[];
  compressMinLength: number;
}

export interface CompressCandidate {
  method: string;
  status: number;
  headers: Fields;
  /** The declared length, or null when unknown (a streamed body). */
  length: number | null;
  hasBody: boolean;
}

/** "vary": compressible, but the client takes none of the codings (the answer varies by
 *  Accept-Encoding all the same); a coding: compress with it; null: leave it alone. */
export function compressionFor(r: CompressCandidate, acceptEncoding: string | null, s: CompressSettings): "br" | "gzip" | "vary" | null {
  if (s.compress.length === 0 || !r.hasBody || r.method === "HEAD") return null;
  if (r.status < 200 || r.status === 204 || r.status === 205 || r.status === 206 || r.status === 304) return null;
  if (r.length !== null && r.length < s.compressMinLength) return null;
  if (r.headers.has("content-encoding") || r.headers.has("content-range")) return null;
  // RFC 9111 5.2.2.6: an intermediary does not transform a no-transform response.
  if (/(^|,)\s*no-transform\s*(,|$)/i.test(r.headers.get("cache-control") ?? "")) return null;
  if (!typeMatches(r.headers.get("content-type"), s.compressTypes)) return null;
  let best: "br" | "gzip" | null = null;
  let bestQ = 0;
  for (const c of s.compress) {
    const q = codingQuality(acceptEncoding, c);
    if (q > bestQ) [best, bestQ] = [c, q];
  }
  return best ?? "vary";
}

/** The headers of the compressed answer: its coding, Vary, no length or ranges of the original
 *  bytes, and a weak validator (the bytes differ, the meaning does not; RFC 9110 8.8.1).
 *  Changed in place (an answer's fields are the pipeline's own) and returned. */
export function compressedHeaders(out: Fields, coding: "br" | "gzip" | "vary"): Fields {
  addVary(out);
  if (coding === "vary") return out;
  out.set("content-encoding", coding);
  out.delete("content-length");
  out.delete("accept-ranges");
  const etag = out.get("etag");
  if (etag && !etag.startsWith("W/")) out.set("etag", `W/${etag}`);
  return out;
}

function addVary(h: Fields): void {
  const vary = h.get("vary");
  if (vary === null) h.set("vary", "Accept-Encoding");
  else if (!vary.split(",").some((v) => ["accept-encoding", "*"].includes(v.trim().toLowerCase()))) h.set("vary", `${vary}, Accept-Encoding`);
}

export function typeMatches(contentType: string | null, patterns: readonly string[]): boolean {
  if (!contentType) return false;
  const type = contentType.split(";")[0].trim().toLowerCase();
  // A stream the client reads as it comes: a compressor would hold its events back.
  if (type === "text/event-stream") return false;
  return patterns.some((p) => (p.includes("*") ? globRe(p).test(type) : p === type));
}

const globs = new Map<string, RegExp>();
function globRe(p: string): RegExp {
  let re = globs.get(p);
  if (!re) {
    re = new RegExp("^" + p.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join("[^/]*") + "$");
    globs.set(p, re);
  }
  return re;
}
