// One direction of a byte-stream protocol as a sequence of messages: a head, parsed by the
// codec from the start of what is buffered, then its body (body.ts). HTTP/1.1 uses it both
// ways; SCGI and uwsgi for the app's response (an HTTP status line or a CGI head).

import type { BodyFraming, Codec } from "../codec/types.js";
import { BodyReader } from "./body.js";
import { looksLike } from "./explain.js";
import { preview, type Dir, type Problem, type SectionBuilder, type StreamInspector } from "./listing.js";
import { problemOf } from "./problem.js";
import { ByteQueue } from "./queue.js";

/** Largest head the inspector parses; the gateway's own limits are smaller (see hints). */
export const INSPECT_HEAD_LIMIT = 64 * 1024;

export interface ParsedHead {
  title: string;
  detail: string[];
  bodyOffset: number;
  framing: BodyFraming;
  /** A 1xx: another head follows at once. */
  interim?: boolean;
}

export interface HeadSyntax {
  /** Returns null when more bytes are needed; throws the codec's error. */
  parse(buf: Uint8Array): ParsedHead | null;
  /** The protocol's name, for saying what the bytes are instead. */
  expected: string;
  /** What edgepass answers for a framing error on this side. */
  errorHint(code: string): string;
}

export class MessageSide {
  private readonly q = new ByteQueue();
  private body: BodyReader | null = null;
  private bodyStart = 0;

  constructor(
    private readonly codec: Codec,
    private readonly out: SectionBuilder,
    private readonly dir: Dir,
    private readonly syntax: HeadSyntax,
  ) {}

  push(bytes: Uint8Array): void {
    this.q.push(bytes);
    while (!this.out.hasFailed(this.dir) && this.q.length > 0) {
      if (this.body) {
        const r = this.body.push(this.q.bytes);
        if (!r.done) return void this.q.take(this.q.length);
        this.q.take(r.consumed);
        this.body = null;
        if ("problem" in r) this.fail(this.bodyStart, r.summary, r.problem);
        else this.out.add(this.dir, this.bodyStart, r.summary, r.detail);
        continue;
      }
      let head: ParsedHead | null;
      try {
        head = this.syntax.parse(this.q.bytes);
      } catch (e) {
        const p = problemOf(e);
        p.hint = [looksLike(this.q.bytes, this.syntax.expected), this.syntax.errorHint(p.code)].filter(Boolean).join(" ");
        this.fail(this.q.offset, `head: ${preview(firstLine(this.q.bytes), 80)}`, p);
        return;
      }
      if (!head) return;
      const offset = this.q.offset;
      this.q.take(head.bodyOffset);
      this.out.add(this.dir, offset, head.title, head.detail);
      if (head.interim) continue;
      this.body = new BodyReader(this.codec, head.framing);
      this.bodyStart = this.q.offset;
      if (head.framing.kind === "none") this.body = null;
    }
  }

  end(closed: boolean): void {
    if (this.out.hasFailed(this.dir)) return;
    if (this.body) {
      const r = this.body.atEnd(closed);
      const e = this.out.add(this.dir, this.bodyStart, r.summary, r.detail);
      if (!r.complete && closed) {
        e.problem = { code: "BODY_TRUNCATED", message: "the connection closed before the body's end", hint: this.syntax.errorHint("BODY_TRUNCATED") };
      } else if (!r.complete) this.out.note(`the ${this.dir} body was still arriving when the capture stopped`);
    } else if (this.q.length > 0) {
      const what = `an incomplete head: ${preview(this.q.bytes, 80)}`;
      if (closed) this.fail(this.q.offset, what, { code: "HEAD_TRUNCATED", message: "the connection closed in the middle of a head", hint: this.syntax.errorHint("HEAD_TRUNCATED") });
      else this.out.note(`the ${this.dir} side ends with ${what} (the capture stopped there)`);
    }
  }

  private fail(offset: number, title: string, p: Problem): void {
    p.hint ??= this.syntax.errorHint(p.code);
    this.out.fail(this.dir, offset, title, p);
  }
}

/** A protocol that is one sequence of messages each way (HTTP/1.1, SCGI, uwsgi). */
export function messageInspector(codec: Codec, out: SectionBuilder, request: HeadSyntax, response: HeadSyntax): StreamInspector {
  const sides: Record<Dir, MessageSide> = { request: new MessageSide(codec, out, "request", request), response: new MessageSide(codec, out, "response", response) };
  return {
    push: (dir, bytes) => sides[dir].push(bytes),
    end: (closed) => {
      sides.request.end(closed.request);
      sides.response.end(closed.response);
    },
  };
}

function firstLine(b: Uint8Array): Uint8Array {
  const lf = b.indexOf(10);
  return b.subarray(0, lf < 0 ? Math.min(b.length, 80) : lf + 1);
}

export const framingText = (f: BodyFraming): string =>
  f.kind === "length" ? `Content-Length ${f.length}` : f.kind === "none" ? "no body" : f.kind === "chunked" ? "chunked" : "until the connection closes";

export const headerLines = (headers: Array<[string, string]>): string[] => headers.map(([n, v]) => `  ${n}: ${v}`);
