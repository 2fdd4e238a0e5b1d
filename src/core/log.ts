// Log lines are single-line JSON objects that always carry the request id, so one grep (or
// one jq filter) finds everything about one request. JSON.stringify escapes every control
// byte and quote, and the line separators U+2028/U+2029 are escaped too, so a value from the
// outside (origin stderr, paths) can never end a line early: a hostile origin cannot forge
// log lines. One format for everything: the per-request line (access-log.ts) and the events.
import { perUnit } from "./time-text.js";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: Level, event: string, fields?: Record<string, unknown>): void;
  /** A request line in a text format (core/log-format.ts), written as it is, at info. */
  line(text: string): void;
}

/** `request`: the line is a request's (the access log), not an event. */
export type LogSink = (level: Level, line: string, request?: boolean) => void;

const consoleSink: LogSink = (level, line) => {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};

/** Longest string value kept in a line; the rest is counted, not written. */
const MAX_VALUE = 2048;

/** Printable ASCII but `"` and the backslash: such a string is its own JSON text between
 *  quotes, and its own text in nginx's escaped log fields (log-format.ts). A loop, not a regular expression: a line tests a dozen short strings, and each call
 *  into the regexp engine cost more than the loop does. */
export function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}
const LINE_SEPARATORS = /[\u2028\u2029]/g;
const escapeSeparator = (c: string): string => (c === "\u2028" ? "\\u2028" : "\\u2029");

/** JSON text for any value JSON.stringify takes, with U+2028/U+2029 escaped too. */
function json(v: unknown): string | undefined {
  const t = JSON.stringify(v);
  return t === undefined ? undefined : t.replace(LINE_SEPARATORS, escapeSeparator);
}

/** JSON text of strings that needed escaping, by string: a route's `match` (a regex with a
 *  backslash) is in every line of its requests. Bounded, as KEYS below. */
const QUOTED = new Map<string, string>();

function quote(s: string): string {
  if (plain(s)) return `"${s}"`;
  let q = QUOTED.get(s);
  if (q === undefined) {
    q = json(s)!;
    if (QUOTED.size < 256 && s.length <= 256) QUOTED.set(s, q);
  }
  return q;
}

/** Field names, quoted once: a process logs the same few. */
const KEYS = new Map<string, string>();
function key(k: string): string {
  let q = KEYS.get(k);
  if (q === undefined) {
    q = `,${quote(k)}:`;
    if (KEYS.size < 256) KEYS.set(k, q);
  }
  return q;
}

/** A field's JSON text, or undefined to leave the field out (as JSON.stringify would). */
function field(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return quote(v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}...(${v.length - MAX_VALUE} more)` : v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return `"${String(v)}"`;
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    default:
      return v instanceof Error ? field(v.message) : json(v);
  }
}

/** A line's time, made once a millisecond. */
const isoTime = perUnit(1, (ms) => new Date(ms).toISOString());

/** One JSON line: time, level, event, request_id, then the fields in their order (undefined
 *  ones left out, and none that would name one of the first four again). Written out here, not
 *  by JSON.stringify over an object copied from the fields: a line per request made that copy
 *  a visible share of a small request's CPU time. */
export function formatLine(level: Level, event: string, requestId: string, fields?: Record<string, unknown>): string {
  let line = `{"time":"${isoTime(Date.now())}","level":"${level}","event":${quote(event)},"request_id":${quote(requestId)}`;
  if (fields) {
    for (const k in fields) {
      if (k === "time" || k === "level" || k === "event" || k === "request_id") continue;
      const v = field(fields[k]);
      if (v !== undefined) line += key(k) + v;
    }
  }
  return line + "}";
}

export function requestLogger(requestId: string, sink: LogSink = consoleSink): Logger {
  return {
    log(level, event, fields) {
      sink(level, formatLine(level, event, requestId, fields), event === "request");
    },
    line(text) {
      sink("info", text, true);
    },
  };
}
