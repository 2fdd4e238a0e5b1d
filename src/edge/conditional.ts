// Conditional and range requests for a stored file (RFC 9110 sections 13 and 14), in the
// order section 13.2.2 gives: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since,
// then Range (with If-Range). One range is served as 206; a list of ranges gets the whole file
// (200), which section 14.2 allows.
import type { ByteRange } from "./file-store.js";
import type { RequestFields } from "../core/gateway.js";

export interface Validators {
  etag?: string;
  lastModified?: Date;
}

/** 304, 412, or null to go on. */
export function preconditionStatus(method: string, h: RequestFields, v: Validators): 304 | 412 | null {
  const ifMatch = h.get("if-match");
  if (ifMatch !== null) {
    if (!listMatches(ifMatch, v.etag, true)) return 412;
  } else {
    const ius = httpDate(h.get("if-unmodified-since"));
    if (ius && v.lastModified && seconds(v.lastModified) > seconds(ius)) return 412;
  }
  const safe = method === "GET" || method === "HEAD";
  const inm = h.get("if-none-match");
  if (inm !== null) {
    if (listMatches(inm, v.etag, false)) return safe ? 304 : 412;
  } else if (safe) {
    const ims = httpDate(h.get("if-modified-since"));
    if (ims && v.lastModified && seconds(v.lastModified) <= seconds(ims)) return 304;
  }
  return null;
}

export type RangeResult = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

/** What a Range header asks of a file of `size` bytes. Syntax it does not understand, other
 *  units and several ranges all mean the whole file. */
export function rangeFor(h: RequestFields, size: number, v: Validators): RangeResult {
  const header = h.get("range");
  if (header === null) return { kind: "full" };
  const ifRange = h.get("if-range");
  if (ifRange !== null && !ifRangeHolds(ifRange.trim(), v)) return { kind: "full" };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "full" };
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end } };
}

function ifRangeHolds(value: string, v: Validators): boolean {
  if (value.startsWith('"')) return v.etag !== undefined && !v.etag.startsWith("W/") && value === v.etag;
  if (value.startsWith("W/")) return false;
  const d = httpDate(value);
  return d !== null && v.lastModified !== undefined && seconds(d) === seconds(v.lastModified);
}

/** Does a comma-separated entity-tag list (or "*") match? Strong comparison for If-Match,
 *  weak for If-None-Match (section 8.8.3.2). */
function listMatches(list: string, etag: string | undefined, strong: boolean): boolean {
  if (list.trim() === "*") return true;
  if (etag === undefined) return false;
  if (strong && etag.startsWith("W/")) return false;
  const opaque = etag.replace(/^W\//, "");
  for (const raw of list.split(",")) {
    const t = raw.trim();
    if (t === "") continue;
    if (strong ? t === etag : t.replace(/^W\//, "") === opaque) return true;
  }
  return false;
}

function httpDate(s: string | null): Date | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t);
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
