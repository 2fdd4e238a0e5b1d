// The http-request, http-response and http-chunked harnesses.

import type { BodyFraming, ChunkedDecoder, Codec } from "../../../src/codec/types";
import { caseInput, chunkings, escape, expectedLines, type VectorCase } from "../vector-format";
import { check, codecErrorCode, latin1Bytes, type Check } from "./check";

// The host's loop is simulated: chunks are appended to a buffer and the head is parsed again
// from its start after each one; the first non-null result (a head or an error) is final. A
// response head with a 1xx status other than 101 is followed by the next head, parsed from its
// body offset. When the (final) head says chunked, the bytes after it, in the same chunking,
// go to a ChunkedDecoder. Options: limit=N (head limit, default 8192); http-response also
// method=HEAD|CONNECT|... (the request's method, default GET).
// Expected lines, per head: method: "M", target: "T" (requests) or status: N, reason: "R"
// (responses); version: 10|11; header: "name" "value" (in order); framing: none | length N |
// chunked | close; keep-alive: true|false; expect-continue (requests, only when set); body: N
// (the body offset, from the start of the input). For a chunked body: data: "..." (all data
// joined; omitted when empty) and end: N (where the message ended, from the start of the
// input), or incomplete. An `error: CODE` line ends the log: a head error replaces that head's
// lines, a body error the data line. `incomplete` alone: the input never completes a head.
// http-chunked runs the input as a body alone: data / end / incomplete / error.

const framingLine = (f: BodyFraming): string => (f.kind === "length" ? `framing: length ${f.length}` : `framing: ${f.kind}`);
const quoted = (s: string): string => `"${escape(latin1Bytes(s))}"`;

type HeadStep = { lines: string[]; bodyOffset: number; framing: BodyFraming; interim: boolean } | { error: string } | null;

function parseHeadStep(codec: Codec, kind: "http-request" | "http-response", buf: Uint8Array, limit: number, method: string): HeadStep {
  try {
    if (kind === "http-request") {
      const h = codec.parseHttpRequestHead(buf, limit);
      if (!h) return null;
      return {
        lines: [
          `method: ${quoted(h.method)}`, `target: ${quoted(h.target)}`, `version: ${h.version}`,
          ...h.headers.map(([n, v]) => `header: ${quoted(n)} ${quoted(v)}`),
          framingLine(h.framing), `keep-alive: ${h.keepAlive}`, ...(h.expectContinue ? ["expect-continue"] : []),
        ],
        bodyOffset: h.bodyOffset,
        framing: h.framing,
        interim: false,
      };
    }
    const h = codec.parseHttpResponseHead(buf, limit, method);
    if (!h) return null;
    return {
      lines: [
        `status: ${h.status}`, `reason: ${quoted(h.reason)}`, `version: ${h.version}`,
        ...h.headers.map(([n, v]) => `header: ${quoted(n)} ${quoted(v)}`),
        framingLine(h.framing), `keep-alive: ${h.keepAlive}`,
      ],
      bodyOffset: h.bodyOffset,
      framing: h.framing,
      interim: h.status >= 100 && h.status < 200 && h.status !== 101,
    };
  } catch (e) {
    return { error: codecErrorCode(e) };
  }
}

/** Feeds `chunks` to a fresh ChunkedDecoder; `base` is where the body starts in the input. */
class BodyRun {
  private readonly d: ChunkedDecoder;
  private data: number[] = [];
  private consumed = 0;
  result: string[] | null = null;

  constructor(
    codec: Codec,
    private readonly base: number,
  ) {
    this.d = codec.chunkedDecoder();
  }

  push(chunk: Uint8Array): void {
    if (this.result) return;
    try {
      const r = this.d.push(chunk);
      for (const piece of r.data) this.data.push(...piece);
      this.consumed += r.consumed;
      if (r.done) this.result = [...this.dataLine(), `end: ${this.base + this.consumed}`];
    } catch (e) {
      this.result = [`error: ${codecErrorCode(e)}`];
    }
  }

  finish(): string[] {
    this.d.free();
    return this.result ?? [...this.dataLine(), "incomplete"];
  }

  private dataLine(): string[] {
    return this.data.length > 0 ? [`data: "${escape(Uint8Array.from(this.data))}"`] : [];
  }
}

function runHttp(codec: Codec, kind: "http-request" | "http-response", chunks: Uint8Array[], limit: number, method: string): string[] {
  const lines: string[] = [];
  let buf = new Uint8Array(0);
  let pos = 0; // start of the head being parsed
  let body: BodyRun | null = null;
  let finished = false;
  for (const chunk of chunks) {
    if (finished) break;
    if (body) {
      body.push(chunk);
      continue;
    }
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
    while (!finished && !body) {
      const step = parseHeadStep(codec, kind, buf.subarray(pos), limit, method);
      if (step === null) break;
      if ("error" in step) {
        lines.push(`error: ${step.error}`);
        finished = true;
        break;
      }
      pos += step.bodyOffset;
      lines.push(...step.lines, `body: ${pos}`);
      if (step.interim) continue;
      if (step.framing.kind !== "chunked") {
        finished = true;
        break;
      }
      body = new BodyRun(codec, pos);
      if (buf.length > pos) body.push(buf.subarray(pos));
    }
  }
  if (body) return [...lines, ...body.finish()];
  if (!finished) lines.push("incomplete");
  return lines;
}

export function httpHeadHarness(kind: "http-request" | "http-response") {
  return (codec: Codec, c: VectorCase): Check[] => {
    const input = caseInput(c);
    const want = expectedLines(c);
    const limit = Number(c.options.limit ?? 8192);
    const method = c.options.method ?? "GET";
    return chunkings(input).map(({ label, chunks }) => check(label, runHttp(codec, kind, chunks, limit, method), want));
  };
}

export function httpChunkedHarness(codec: Codec, c: VectorCase): Check[] {
  const input = caseInput(c);
  const want = expectedLines(c);
  return chunkings(input).map(({ label, chunks }) => {
    const run = new BodyRun(codec, 0);
    for (const chunk of chunks) run.push(chunk);
    return check(label, run.finish(), want);
  });
}
