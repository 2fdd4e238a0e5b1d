// Reads edgepass's log: one JSON object per line (src/core/log.ts). Lines that are not JSON
// (a banner, a runtime's own message) are skipped.
export type LogLine = Record<string, unknown>;

export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split("\n")) {
    const i = l.indexOf("{");
    if (i < 0) continue;
    try {
      const o = JSON.parse(l.slice(i)) as unknown;
      if (o && typeof o === "object" && "event" in o) out.push(o as LogLine);
    } catch {
      // not a log line
    }
  }
  return out;
}

/** Lines whose fields include every field of `like`. */
export function linesLike(text: string | string[], like: LogLine): LogLine[] {
  const all = Array.isArray(text) ? text.flatMap(logLines) : logLines(text);
  return all.filter((l) => Object.entries(like).every(([k, v]) => l[k] === v));
}
