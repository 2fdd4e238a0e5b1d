// A cached entry as one request's answer: its Age, and the conditional and range requests a
// hit answers itself (the origin is asked without them), in the coding the client reads.
import { preconditionStatus, rangeFor } from "../edge/conditional.js";
import { noBodyFor } from "../edge/headers.js";
import type { Answer, CacheContext, CacheEntry } from "./cache.js";
import { clientResponse, inClientCoding } from "./respond.js";
import { acceptsCoding } from "./encoding.js";
import { ResponseFields } from "./response-fields.js";

/** An entry as this request's answer: its Age, a 304 or 412 for a conditional request, one
 *  byte range of a 200, its coding as the client reads it. */
export function hit(ctx: CacheContext, entry: CacheEntry, status: string | undefined, cached = true): Answer {
  ctx.vars.cacheStatus = status;
  if (cached) ctx.record.from = "cache";
  const { request } = ctx;
  const headers = new ResponseFields();
  for (const [n, v] of entry.headers) headers.append(n, v);
  if (cached) headers.set("age", String(Math.max(0, Math.floor((Date.now() - entry.stored) / 1000))));
  const head = request.method === "HEAD";
  let body = entry.body;
  if (entry.status === 200 && body) {
    const lastModified = headers.get("last-modified");
    const validators = { etag: headers.get("etag") ?? undefined, lastModified: lastModified ? new Date(lastModified) : undefined };
    const pre = preconditionStatus(request.method, request.headers, validators);
    if (pre !== null) {
      // As a file's 304 or 412 (edge/static.ts): the validators, no body.
      headers.delete("content-length");
      if (pre === 304) headers.delete("content-type");
      return { res: clientResponse(pre, "", headers, null, null, false), fromOrigin: true };
    }
    // As nginx: ranges of an answer whose origin said it takes them; and only of bytes the
    // client reads as they are (a gzip answer it cannot read is decoded whole, below).
    const coding = headers.get("content-encoding");
    const ranges = headers.get("accept-ranges")?.toLowerCase() === "bytes" && (coding === null || acceptsCoding(ctx.acceptEncoding, coding.trim().toLowerCase()));
    const range = ranges ? rangeFor(request.headers, body.byteLength, validators) : ({ kind: "full" } as const);
    if (range.kind === "unsatisfiable") {
      headers.set("content-range", `bytes */${body.byteLength}`);
      headers.set("content-length", "0");
      return { res: clientResponse(416, "", headers, null, 0, false), fromOrigin: true };
    }
    if (range.kind === "partial") {
      const { start, end } = range.range;
      headers.set("content-range", `bytes ${start}-${end}/${body.byteLength}`);
      headers.set("content-length", String(end - start + 1));
      body = body.subarray(start, end + 1);
      return { res: clientResponse(206, "", headers, head ? null : body, end - start + 1, coding !== null), fromOrigin: true };
    }
  }
  const length = body ? body.byteLength : null;
  const out = clientResponse(entry.status, entry.statusText, headers, head || noBodyFor(request.method, entry.status) ? null : body, length, false);
  return { res: inClientCoding(out, ctx.acceptEncoding, ctx.log), fromOrigin: true };
}
