// The body after an HTTP head (or a CGI head on SCGI/uwsgi), delimited the way the head said:
// a length, chunked (decoded by the codec's Wasm chunked decoder), or the end of the
// connection. Reports one entry when the body is complete.

import type { BodyFraming, ChunkedDecoder, Codec } from "../codec/types.js";
import { preview, type Problem } from "./listing.js";
import { problemOf } from "./problem.js";

export type BodyResult =
  | { done: false }
  | { done: true; consumed: number; summary: string; detail: string[] }
  | { done: true; consumed: number; problem: Problem; summary: string };

export class BodyReader {
  private seen = 0;
  private data = 0;
  private pieces = 0;
  private first: Uint8Array | null = null;
  private chunked: ChunkedDecoder | null = null;

  constructor(
    codec: Codec,
    readonly framing: BodyFraming,
  ) {
    if (framing.kind === "chunked") this.chunked = codec.chunkedDecoder();
  }

  /** Takes what belongs to the body from `bytes`; `done` once the body is complete. */
  push(bytes: Uint8Array): BodyResult {
    const f = this.framing;
    if (f.kind === "none") return this.finish(0, "no body");
    if (f.kind === "length") {
      const n = Math.min(bytes.length, f.length - this.seen);
      this.keep(bytes.subarray(0, n));
      this.seen += n;
      return this.seen === f.length ? this.finish(n, `body: ${f.length} bytes (Content-Length)`) : { done: false };
    }
    if (f.kind === "close") {
      this.keep(bytes);
      this.seen += bytes.length;
      return { done: false };
    }
    try {
      const r = this.chunked!.push(bytes);
      for (const d of r.data) {
        this.keep(d);
        this.pieces++;
      }
      this.seen += r.consumed;
      if (r.done) return this.finish(r.consumed, `chunked body: ${this.data} data bytes in ${this.pieces} chunks, ended by the last chunk`);
      return { done: false };
    } catch (e) {
      this.free();
      return { done: true, consumed: bytes.length, problem: problemOf(e), summary: `chunked body, broken after ${this.data} data bytes` };
    }
  }

  /** The connection's end: the body is complete only when it runs to the close. */
  atEnd(closed: boolean): { summary: string; detail: string[]; complete: boolean } {
    this.free();
    const f = this.framing;
    if (f.kind === "close") {
      return {
        summary: `body: ${this.seen} bytes, delimited by the end of the connection${closed ? "" : " (the capture stopped before the close)"}`,
        detail: this.previewLines(),
        complete: closed,
      };
    }
    const wanted = f.kind === "length" ? `${this.seen} of ${f.length} bytes` : `${this.data} data bytes, no last chunk`;
    return { summary: `body cut short: ${wanted}`, detail: this.previewLines(), complete: false };
  }

  private keep(d: Uint8Array): void {
    this.data += d.length;
    if (!this.first && d.length) this.first = d.slice(0, 80);
  }

  private previewLines(): string[] {
    return this.first ? [`starts ${preview(this.first, 80)}`] : [];
  }

  private finish(consumed: number, summary: string): BodyResult {
    this.free();
    return { done: true, consumed, summary, detail: this.previewLines() };
  }

  private free(): void {
    this.chunked?.free();
    this.chunked = null;
  }
}
