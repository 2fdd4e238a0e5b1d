// Log lines are single-line key=value records that always carry the request id, so one grep
// finds everything about one request. Values from the outside (origin stderr, paths) are
// escaped: a hostile origin must not be able to forge log lines.

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

/** Escapes control bytes, backslash and quotes so a value stays on one line. */
export function escapeLogValue(s: string, max = 2048): string {
  let out = "";
  const n = Math.min(s.length, max);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += s[i];
  }
  if (s.length > max) out += `...(${s.length - max} more)`;
  return out;
}

function formatValue(v: unknown): string {
  const s = typeof v === "string" ? v : v instanceof Error ? v.message : String(v);
  return /^[A-Za-z0-9_.:\/@+-]+$/.test(s) ? s : `"${escapeLogValue(s)}"`;
}

export function requestLogger(requestId: string, sink: LogSink = consoleSink): Logger {
  return {
    log(level, event, fields) {
      let line = `edgepass level=${level} req=${requestId} event=${event}`;
      if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
      sink(level, line);
    },
  };
}
