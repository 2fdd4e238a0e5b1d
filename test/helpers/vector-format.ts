// The markdown test-vector format (in llhttp's spirit) and its runner plumbing.
//
// A vector file is markdown. Everything before the first "## " heading is the preamble; a
// `kind: NAME` line there selects the harness for the file (otherwise the file-name prefix
// does: "fastcgi-*.md" -> fastcgi, "cgi-head-*.md" -> cgi-head, "cgi-params-*.md" ->
// cgi-params, "http-request-*.md" -> http-request, "http-response-*.md" -> http-response,
// "http-chunked-*.md" -> http-chunked, "fuzz-*.md" -> fuzz: inputs a fuzz target once broke,
// replayed in Node by vectors.test.ts against the target's property). Each "## " heading starts a case; a file without
// one (e.g. http-differential.md, which uses "### ") holds no cases:
//
//   ## Title
//   <!-- key=value key=value -->     options for the harness (optional, any number)
//   A sentence on why the case exists.
//   ```input                         raw input with escapes (see unescape); line breaks ignored
//   ```hex                           or raw input as hex digits; whitespace and # comments ignored
//   ```owned / ```headers            named inputs, one "Name: value" per line (cgi-params)
//   ```expected                      what the harness must produce, one item per line
//
// A case may also carry its own `kind: NAME` line. Streaming harnesses re-run every input at
// every chunk split (see splitPoints) and byte by byte, and require the same result each time.
//
// Runtime-free (no Node built-ins): the host corpus runner (test/hosts) bundles it for Deno, Bun,
// browsers and workerd. test/helpers/vectors.ts adds loading from disk.

import { escapeBytes } from "../../src/inspect/listing";

export interface VectorCase {
  file: string;
  title: string;
  kind: string;
  options: Record<string, string>;
  /** Fenced blocks by info string (the first word after the backticks), in order. */
  blocks: Array<{ tag: string; text: string }>;
  line: number;
}

const PREFIX_KINDS: Array<[string, string]> = [
  ["fastcgi-", "fastcgi"],
  ["cgi-head-", "cgi-head"],
  ["cgi-params-", "cgi-params"],
  ["cgi-request-", "cgi-request"],
  ["http-request-", "http-request"],
  ["http-response-", "http-response"],
  ["http-chunked-", "http-chunked"],
  ["fuzz-", "fuzz"],
];

export function kindFromFileName(file: string): string | undefined {
  const base = file.slice(file.lastIndexOf("/") + 1);
  return PREFIX_KINDS.find(([prefix]) => base.startsWith(prefix))?.[1];
}

export function parseVectorFile(file: string, source: string): VectorCase[] {
  const lines = source.split("\n");
  const cases: VectorCase[] = [];
  let fileKind = kindFromFileName(file);
  let current: VectorCase | null = null;
  let fence: { tag: string; body: string[] } | null = null;
  lines.forEach((line, i) => {
    if (fence) {
      if (/^```\s*$/.test(line)) {
        if (!current) throw new Error(`${file}:${i + 1}: fenced block before the first case`);
        current.blocks.push({ tag: fence.tag, text: fence.body.join("\n") });
        fence = null;
      } else fence.body.push(line);
      return;
    }
    const open = /^```(\S*)/.exec(line);
    if (open) {
      fence = { tag: open[1], body: [] };
      return;
    }
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      current = { file, title: heading[1].trim(), kind: fileKind ?? "", options: {}, blocks: [], line: i + 1 };
      cases.push(current);
      return;
    }
    const kind = /^kind:\s*(\S+)\s*$/.exec(line);
    if (kind) {
      if (current) current.kind = kind[1];
      else fileKind = kind[1];
      return;
    }
    const meta = /^<!--(.*)-->\s*$/.exec(line);
    if (meta && current) {
      for (const m of meta[1].matchAll(/(\S+?)=(\S+)/g)) current.options[m[1]] = m[2];
    }
  });
  if (fence) throw new Error(`${file}: unterminated fenced block`);
  for (const c of cases) {
    if (!c.kind) throw new Error(`${file}:${c.line}: no kind (add "kind: NAME" or use a known file-name prefix)`);
  }
  return cases;
}

export function block(c: VectorCase, ...tags: string[]): { tag: string; text: string } | undefined {
  return c.blocks.find((b) => tags.includes(b.tag));
}

// --- Escapes -----------------------------------------------------------------------------
// \r \n \t \0 \\ \" and \xNN are single bytes; \{COUNT:NN} is COUNT copies of byte 0xNN
// (for records of maximal length). Everything else is taken as UTF-8 text.

export function unescape(text: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== "\\") {
      out.push(...enc.encode(ch));
      continue;
    }
    const next = text[++i];
    if (next === "r") out.push(13);
    else if (next === "n") out.push(10);
    else if (next === "t") out.push(9);
    else if (next === "0") out.push(0);
    else if (next === "\\" || next === '"') out.push(next.charCodeAt(0));
    else if (next === "x") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`bad escape \\x${hex}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (next === "{") {
      const m = /^\{(\d+):([0-9a-fA-F]{2})\}/.exec(text.slice(i));
      if (!m) throw new Error(`bad repeat escape at ${text.slice(i - 1, i + 12)}`);
      for (let k = 0; k < Number(m[1]); k++) out.push(parseInt(m[2], 16));
      i += m[0].length - 1;
    } else throw new Error(`unknown escape \\${next}`);
  }
  return Uint8Array.from(out);
}

/** The inverse, canonical form: printable ASCII as itself, the named escapes, else \xNN (the
 *  inspector prints bytes the same way). */
export const escape = escapeBytes;

/** Raw input of a case: an `input` block (escaped text, line breaks dropped) or a `hex` block. */
export function caseInput(c: VectorCase): Uint8Array {
  const b = block(c, "input", "hex");
  if (!b) throw new Error(`${c.file}:${c.line}: case has no input block`);
  if (b.tag === "hex") {
    const digits = b.text.replace(/#.*$/gm, "").replace(/\s+/g, "");
    if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`${c.file}:${c.line}: bad hex block`);
    return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
  }
  return unescape(b.text.replace(/\n/g, ""));
}

/** Expected lines with every "quoted" string put in canonical escape form. */
export function expectedLines(c: VectorCase): string[] {
  const b = block(c, "expected");
  if (!b) throw new Error(`${c.file}:${c.line}: case has no expected block`);
  return b.text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map(canonicalQuotes);
}

export function canonicalQuotes(line: string): string {
  return line.replace(/"((?:[^"\\]|\\.)*)"/g, (_, inner: string) => `"${escape(unescape(inner))}"`);
}

// --- Chunk splits ------------------------------------------------------------------------

/** Every split point 0..len for inputs up to 4 KiB. Longer inputs (maximal records) get every
 *  point within 512 bytes of either end plus a stride through the middle, which still crosses
 *  every header, padding and record boundary near the ends without a quadratic blow-up. */
export function splitPoints(len: number): number[] {
  if (len <= 4096) return Array.from({ length: len + 1 }, (_, i) => i);
  const points = new Set<number>();
  for (let i = 0; i <= 512; i++) {
    points.add(i);
    points.add(len - i);
  }
  for (let i = 512; i < len - 512; i += 509) points.add(i);
  return [...points].sort((a, b) => a - b);
}

/** The chunkings a streaming harness runs: whole, each two-way split, byte by byte. */
export function chunkings(input: Uint8Array): Array<{ label: string; chunks: Uint8Array[] }> {
  const out: Array<{ label: string; chunks: Uint8Array[] }> = [{ label: "whole", chunks: [input] }];
  for (const k of splitPoints(input.length)) {
    out.push({ label: `split at ${k}`, chunks: [input.subarray(0, k), input.subarray(k)] });
  }
  if (input.length <= 4096) {
    out.push({ label: "byte by byte", chunks: Array.from(input, (_, i) => input.subarray(i, i + 1)) });
  }
  return out;
}

// --- Independent reference decoders (written from the specs, sharing no code with src/) ---

/** FastCGI name-value pairs (FastCGI spec 3.4). */
export function refDecodeFcgiPairs(b: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  let p = 0;
  const len = (): number => {
    if (b[p] < 0x80) return b[p++];
    const n = ((b[p] & 0x7f) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
    p += 4;
    return n >>> 0;
  };
  while (p < b.length) {
    const nl = len();
    const vl = len();
    if (p + nl + vl > b.length) throw new Error("reference: truncated FastCGI pairs");
    out.push([b.subarray(p, p + nl), b.subarray(p + nl, p + nl + vl)]);
    p += nl + vl;
  }
  return out;
}

/** SCGI headers without the netstring wrapper (SCGI spec 3): name NUL value NUL ... */
export function refDecodeScgi(b: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  let p = 0;
  while (p < b.length) {
    const n = b.indexOf(0, p);
    const v = b.indexOf(0, n + 1);
    if (n < 0 || v < 0) throw new Error("reference: truncated SCGI block");
    out.push([b.subarray(p, n), b.subarray(n + 1, v)]);
    p = v + 1;
  }
  return out;
}

/** uwsgi vars (uwsgi packet format): u16le name length, name, u16le value length, value. */
export function refDecodeUwsgi(b: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  let p = 0;
  while (p < b.length) {
    const nl = b[p] | (b[p + 1] << 8);
    const vl = b[p + 2 + nl] | (b[p + 3 + nl] << 8);
    if (p + 4 + nl + vl > b.length) throw new Error("reference: truncated uwsgi block");
    out.push([b.subarray(p + 2, p + 2 + nl), b.subarray(p + 4 + nl, p + 4 + nl + vl)]);
    p += 4 + nl + vl;
  }
  return out;
}

export interface RefRecord {
  version: number;
  type: number;
  requestId: number;
  content: Uint8Array;
  padding: number;
}

/** Splits a complete byte stream into FastCGI records (spec 3.3). */
export function refRecords(b: Uint8Array): RefRecord[] {
  const out: RefRecord[] = [];
  let p = 0;
  while (p < b.length) {
    if (b.length - p < 8) throw new Error("reference: truncated record header");
    const cl = (b[p + 4] << 8) | b[p + 5];
    const pad = b[p + 6];
    if (p + 8 + cl + pad > b.length) throw new Error("reference: truncated record");
    out.push({ version: b[p], type: b[p + 1], requestId: (b[p + 2] << 8) | b[p + 3], content: b.subarray(p + 8, p + 8 + cl), padding: pad });
    p += 8 + cl + pad;
  }
  return out;
}

/** Builds one FastCGI record by hand (spec 3.3). */
export function refRecord(type: number, requestId: number, content: Uint8Array | number[] = [], padding = (8 - (content.length % 8)) % 8): Uint8Array {
  const c = Uint8Array.from(content);
  const out = new Uint8Array(8 + c.length + padding);
  out.set([1, type, requestId >> 8, requestId & 0xff, c.length >> 8, c.length & 0xff, padding, 0]);
  out.set(c, 8);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
