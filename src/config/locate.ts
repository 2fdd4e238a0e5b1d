// Best-effort "which line is this key on" for semantic errors. smol-toml gives positions only
// for syntax errors, so this re-reads the text the way a person would: table headers
// ([a.b], [[a]] with their running index) and `key = value` lines (dotted keys too), skipping
// the inside of multi-line strings. A key it cannot place is reported on the line of the
// nearest enclosing table or key it can; a key in no table it knows gets no line.
import { formatKeyPath, type KeyPath } from "./error.js";

export type LineFinder = (path: KeyPath) => number | undefined;

export function lineFinder(text: string): LineFinder {
  let index: Map<string, number> | undefined;
  return (path) => {
    index ??= buildIndex(text);
    // A missing key is reported on its table's line; a value inside an array that spans
    // several lines, on the line of its key.
    for (let n = path.length; n > 0; n--) {
      const line = index.get(formatKeyPath(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return undefined;
  };
}

function buildIndex(text: string): Map<string, number> {
  const index = new Map<string, number>();
  const record = (path: KeyPath, line: number) => {
    for (let n = 1; n <= path.length; n++) {
      const k = formatKeyPath(path.slice(0, n));
      if (!index.has(k)) index.set(k, line);
    }
  };
  // Current element index of every array of tables, keyed by its header path.
  const arrayIndex = new Map<string, number>();
  let table: Array<string | number> = [];
  let inMultiline: string | null = null;

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    if (inMultiline) {
      if (countOf(raw, inMultiline) % 2 === 1) inMultiline = null;
      continue;
    }
    const line = raw.trimStart();
    if (line === "" || line.startsWith("#")) continue;

    if (line.startsWith("[")) {
      const isArray = line.startsWith("[[");
      const keys = parseKeys(line, isArray ? 2 : 1);
      if (!keys) continue;
      table = resolveHeader(keys.parts, isArray, arrayIndex);
      record(table, lineNo);
      continue;
    }

    const keys = parseKeys(line, 0);
    if (!keys || line[keys.end] !== "=") continue;
    const full = [...table, ...keys.parts];
    record(full, lineNo);
    // Keys inside a one-line inline table fall back to this line, which is theirs too.
    const value = line.slice(keys.end + 1);
    for (const delim of ['"""', "'''"]) {
      if (countOf(value, delim) % 2 === 1) inMultiline = delim;
    }
  }
  return index;
}

function resolveHeader(parts: string[], isArray: boolean, arrayIndex: Map<string, number>): Array<string | number> {
  const out: Array<string | number> = [];
  for (let j = 0; j < parts.length; j++) {
    out.push(parts[j]);
    const key = formatKeyPath(parts.slice(0, j + 1));
    if (isArray && j === parts.length - 1) {
      const next = (arrayIndex.get(key) ?? -1) + 1;
      arrayIndex.set(key, next);
      out.push(next);
    } else {
      const cur = arrayIndex.get(key);
      if (cur !== undefined) out.push(cur);
    }
  }
  return out;
}

function skipString(s: string, p: number): number {
  const q = s[p];
  for (let i = p + 1; i < s.length; i++) {
    if (q === '"' && s[i] === "\\") i++;
    else if (s[i] === q) return i;
  }
  return s.length;
}

/** Dotted key at `start` (bare, "basic" or 'literal' parts); `end` is the offset of the next
 *  non-blank character after it. */
function parseKeys(s: string, start: number): { parts: string[]; end: number } | null {
  const parts: string[] = [];
  let p = start;
  for (;;) {
    while (s[p] === " " || s[p] === "\t") p++;
    const c = s[p];
    if (c === '"' || c === "'") {
      const close = skipString(s, p);
      if (close >= s.length) return null;
      const body = s.slice(p, close + 1);
      try {
        parts.push(c === '"' ? (JSON.parse(body) as string) : body.slice(1, -1));
      } catch {
        parts.push(body.slice(1, -1));
      }
      p = close + 1;
    } else {
      const m = /^[A-Za-z0-9_-]+/.exec(s.slice(p));
      if (!m) return null;
      parts.push(m[0]);
      p += m[0].length;
    }
    while (s[p] === " " || s[p] === "\t") p++;
    if (s[p] !== ".") return { parts, end: p };
    p++;
  }
}

function countOf(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}
