// Log lines are single-line JSON objects that always carry the request id, so one grep (or
// one jq filter) finds everything about one request. JSON.stringify escapes every control
// byte and quote, and the line separators U+2028/U+2029 are escaped too, so a value from the
// outside (origin stderr, paths) can never end a line early: a hostile origin cannot forge
// log lines. One format for everything: the per-request line (access-log.ts) and the events.
import { perUnit } from "./time-text.js";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: Level, event: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (level: Level, line: string) => void;

const consoleSink: LogSink = (level, line) => {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};

/** Longest string value kept in a line; the rest is counted, not written. */
const MAX_VALUE = 2048;

function value(v: unknown): unknown {
  if (v instanceof Error) v = v.message;
  if (typeof v === "string" && v.length > MAX_VALUE) return `${v.slice(0, MAX_VALUE)}...(${v.length - MAX_VALUE} more)`;
  if (typeof v === "bigint") return String(v);
  return v;
}

const LINE_SEPARATORS = /[\u2028\u2029]/;

/** A line's time, made once a millisecond. */
const isoTime = perUnit(1, (ms) => new Date(ms).toISOString());

/** One JSON line: time, level, event, request_id, then the fields (undefined ones left out). */
export function formatLine(level: Level, event: string, requestId: string, fields?: Record<string, unknown>): string {
  const o: Record<string, unknown> = { time: isoTime(Date.now()), level, event, request_id: requestId };
  if (fields) {
    for (const k in fields) {
      const v = fields[k];
      if (v !== undefined && !(k in o)) o[k] = value(v);
    }
  }
  const line = JSON.stringify(o);
  return LINE_SEPARATORS.test(line) ? line.replace(/[\u2028\u2029]/g, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029")) : line;
}

export function requestLogger(requestId: string, sink: LogSink = consoleSink): Logger {
  return {
    log(level, event, fields) {
      sink(level, formatLine(level, event, requestId, fields));
    },
  };
}
