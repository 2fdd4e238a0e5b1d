// What `edgepass inspect` produces: a listing of the records or messages found in a capture,
// one entry each, in the order their first byte was sent, with every framing error explained.
// Runtime-free: the CLI prints renderText(); inspect.html shows the same text in a browser.

/** Which way the bytes went: the gateway (client) to the app server, or back. */
export type Dir = "request" | "response";

export interface Problem {
  /** A stable code: the codec's (FCGI_BAD_VERSION…) or the inspector's (SCGI_BAD_NETSTRING…). */
  code: string;
  /** What is wrong, in a sentence. */
  message: string;
  /** What it usually means and what to do (optional). */
  hint?: string;
}

export interface Entry {
  dir: Dir;
  /** Offset of the entry's first byte in its direction's byte stream. */
  offset: number;
  /** One line: the record or message and its main fields. */
  title: string;
  /** Further lines (parameters, headers, content previews). */
  detail: string[];
  /** A framing error at this point: decoding of this direction stops here. */
  problem?: Problem;
  /** Advice that is not an error (php-fpm's "Primary script unknown", OVERLOADED…). */
  hints: string[];
}

export interface Section {
  /** "TCP 127.0.0.1:40512 -> 127.0.0.1:9000" or "raw bytes (request side)". */
  label: string;
  protocol: string;
  entries: Entry[];
  /** Remarks about the capture itself (cut off, lost segments, assumptions made). */
  notes: string[];
}

export interface Listing {
  /** "pcap", "hex" or "raw", and what was found in it. */
  source: string;
  sections: Section[];
  /** Number of framing errors in all sections. */
  problems: number;
}

const ARROW: Record<Dir, string> = { request: "->", response: "<-" };

export function renderText(listing: Listing): string {
  const out: string[] = [`source: ${listing.source}`];
  for (const s of listing.sections) {
    out.push("", `== ${s.label} (${s.protocol})`);
    for (const e of s.entries) {
      out.push(`${ARROW[e.dir]} ${e.dir.padEnd(8)} @${String(e.offset).padEnd(6)} ${e.title}`);
      for (const d of e.detail) out.push(`     ${d}`);
      if (e.problem) {
        out.push(`   ERROR ${e.problem.code}: ${e.problem.message}`);
        if (e.problem.hint) out.push(`   hint: ${e.problem.hint}`);
      }
      for (const h of e.hints) out.push(`   hint: ${h}`);
    }
    for (const n of s.notes) out.push(`   note: ${n}`);
  }
  out.push("", listing.problems === 0 ? "no framing errors" : `${listing.problems} framing error${listing.problems === 1 ? "" : "s"}`);
  return out.join("\n") + "\n";
}

/** Printable ASCII as itself, \r \n \t \0 \\ \", other bytes \xNN (the test vectors' form). */
export function escapeBytes(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 13) s += "\\r";
    else if (b === 10) s += "\\n";
    else if (b === 9) s += "\\t";
    else if (b === 0) s += "\\0";
    else if (b === 0x5c) s += "\\\\";
    else if (b === 0x22) s += '\\"';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += "\\x" + b.toString(16).padStart(2, "0");
  }
  return s;
}

/** The first `max` bytes, escaped and quoted; the length when there are more. */
export function preview(bytes: Uint8Array, max = 120): string {
  return `"${escapeBytes(bytes.subarray(0, max))}"${bytes.length > max ? `… (${bytes.length} bytes)` : ""}`;
}

export const latin1 = (bytes: Uint8Array): string => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

/** Collects one section's entries; a direction that hit a framing error is not decoded further. */
export class SectionBuilder {
  readonly section: Section;
  private readonly failed = new Set<Dir>();

  constructor(label: string, protocol: string) {
    this.section = { label, protocol, entries: [], notes: [] };
  }

  add(dir: Dir, offset: number, title: string, detail: string[] = [], hints: string[] = []): Entry {
    const e: Entry = { dir, offset, title, detail, hints };
    this.section.entries.push(e);
    return e;
  }

  fail(dir: Dir, offset: number, title: string, problem: Problem, detail: string[] = []): void {
    this.failed.add(dir);
    this.section.entries.push({ dir, offset, title, detail, problem, hints: [] });
  }

  hasFailed(dir: Dir): boolean {
    return this.failed.has(dir);
  }

  note(text: string): void {
    this.section.notes.push(text);
  }
}

/** A decoder for one protocol over one connection, fed in the order the bytes were sent. */
export interface StreamInspector {
  push(dir: Dir, bytes: Uint8Array): void;
  /** The capture ended; `closed` says which directions the sender closed (TCP FIN). */
  end(closed: Record<Dir, boolean>): void;
}
