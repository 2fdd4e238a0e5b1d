// The one line per request: what it was, where it went, what flowed and how long each stage
// took. A RequestRecord travels with the request; each stage fills in what it learns (the
// exchange the server and connect time, the retry logic its count, a limit its decision), and
// the line is written once, when the client's body is finished or cancelled, with the bytes
// that really flowed.
import type { Logger } from "./log.js";
import type { Fields } from "./response-fields.js";
import type { RequestVars } from "../edge/variables.js";
import { textLine } from "./log-format.js";

export interface RequestRecord {
  request_id: string;
  method: string;
  path: string;
  /** The client's address, as access rules and limits see it (nginx's $remote_addr): the
   *  peer, or the client a trusted proxy names (real_ip_from); on the edge, Cloudflare's. */
  remote_addr: string | undefined;
  /** The user auth_basic accepted (nginx's $remote_user). */
  remote_user?: string;
  route?: string;
  upstream?: string;
  /** The origin address that answered ("127.0.0.1:9000", "unix:/run/php.sock"). */
  server?: string;
  status?: number;
  bytes_in: number;
  bytes_out: number;
  connect_ms?: number;
  first_byte_ms?: number;
  total_ms?: number;
  /** When the origin's answer was all read, where that was before the client had it (read
   *  ahead on `edgepass serve`); otherwise total_ms tells. */
  upstream_ms?: number;
  /** Attempts beyond the first (another server after a connect failure, a stale connection). */
  retries: number;
  /** Set by whatever limit decided about this request (its name, key and outcome). */
  limit?: unknown;
  /** "gateway" for answers the gateway made itself (static files, errors, return); "cache"
   *  for a route's cached answer. */
  from?: "origin" | "gateway" | "cache";
  /** $upstream_cache_status on a route with a cache: HIT, MISS, EXPIRED, STALE, UPDATING. */
  cache?: string;
  /** The error code when the gateway refused or failed the request. */
  error?: string;
}

/** What a pool object learned about a request it forwarded, handed back to the front
 *  gateway (which writes the one line) in this response header, removed before the client. */
export const RECORD_HEADER = "x-edgepass-record";
const HOP_FIELDS = ["server", "connect_ms", "retries", "bytes_in", "limit"] as const;

/** Every field is there from the start, in the line's order: a record keeps one shape from
 *  its making to its line (fields added as the stages learned them gave records of many
 *  shapes, and every stage's reads of them went through a slow generic lookup). A field
 *  still undefined is left out of the line. */
export function newRecord(requestId: string, method: string, path: string, remoteAddr?: string): RequestRecord {
  return {
    request_id: requestId,
    method,
    path,
    remote_addr: remoteAddr,
    route: undefined,
    upstream: undefined,
    server: undefined,
    status: undefined,
    bytes_in: 0,
    bytes_out: 0,
    connect_ms: undefined,
    first_byte_ms: undefined,
    total_ms: undefined,
    upstream_ms: undefined,
    retries: 0,
    limit: undefined,
    from: undefined,
    cache: undefined,
    error: undefined,
  };
}

/** The request has its connection to `server`, `connectMs` after it asked for one. */
export function noteConnection(r: RequestRecord, server: string, connectMs: number, retries: number): void {
  r.server = server;
  r.connect_ms = connectMs;
  r.retries = retries;
}

/** Milliseconds from `start` to `end` (default: now), to a tenth. */
export const since = (start: number, end = performance.now()): number => Math.round((end - start) * 10) / 10;

/** The pool object's side: its findings as a header value. */
export function hopRecord(r: RequestRecord): string {
  const o: Record<string, unknown> = {};
  for (const k of HOP_FIELDS) if (r[k] !== undefined) o[k] = r[k];
  return JSON.stringify(o);
}

/** The front's side: takes the pool object's findings off `headers` into `r`. */
export function mergeHopRecord(r: RequestRecord, headers: Fields): void {
  const v = headers.get(RECORD_HEADER);
  if (v === null) return;
  headers.delete(RECORD_HEADER);
  try {
    const o = JSON.parse(v) as Partial<RequestRecord>;
    if (typeof o.server === "string") r.server = o.server;
    if (typeof o.connect_ms === "number") r.connect_ms = o.connect_ms;
    if (typeof o.retries === "number") r.retries = o.retries;
    if (typeof o.bytes_in === "number") r.bytes_in = o.bytes_in;
    if (o.limit !== undefined) r.limit = o.limit;
  } catch {
    // Not ours: the pool object always writes JSON.
  }
}

/** A client's X-Request-Id is kept when it is 1–128 characters of [A-Za-z0-9._-]: anything
 *  else could break a log line or a header downstream, so it is replaced. */
export function validRequestId(v: string | null | undefined): string | null {
  return v && /^[A-Za-z0-9._-]{1,128}$/.test(v) ? v : null;
}

/** Server-Timing (W3C): only what is known when the head leaves. */
export function serverTiming(r: RequestRecord): string {
  const parts = [`edgepass;desc=${JSON.stringify(r.upstream ? `upstream ${r.upstream}` : r.from === "gateway" ? "gateway" : "edgepass")}`];
  if (r.connect_ms !== undefined) parts.push(`connect;dur=${r.connect_ms}`);
  if (r.first_byte_ms !== undefined) parts.push(`origin;dur=${r.first_byte_ms}`);
  return parts.join(", ");
}

/** The request's line as [gateway] log asks: "json", "off", or a text format (nginx's
 *  "combined" or a template); `vars`: the request's variables, where it was read. */
export function writeRequestLine(setting: string, log: Logger, r: RequestRecord, vars?: RequestVars, fieldsUtf8?: boolean): void {
  if (setting === "off") return;
  if (setting === "json") writeRecord(log, r);
  else log.line(textLine(setting, r, vars, fieldsUtf8));
}

/** Writes the line, always at info: one stream (stdout) holds every request. */
export function writeRecord(log: Logger, r: RequestRecord): void {
  // request_id is the logger's already (a line's own fields are not repeated).
  log.log("info", "request", r as unknown as Record<string, unknown>);
}
