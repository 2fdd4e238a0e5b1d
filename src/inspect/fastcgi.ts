// FastCGI, record by record (FastCGI 1.0, section 3.3). Each record is cut from the stream by
// its header and handed whole to the codec's Wasm decoder (server mode for what the gateway
// sent, client mode for what the app sent), so the same code that guards the gateway decides
// what is a framing error. The listing adds what the records carry: parameters, the CGI head
// in STDOUT, STDERR text, END_REQUEST statuses.

import { FcgiProtocolStatus, FcgiRole, FcgiType, type CgiHead, type Codec, type FcgiDecoder, type FcgiEvent } from "../codec/types.js";
import { concatBytes } from "../core/bytes.js";
import { endRequestHint, looksLike, RESPONSE_ERROR_HINT, stderrHints } from "./explain.js";
import { latin1, preview, SectionBuilder, type Dir, type Problem, type StreamInspector } from "./listing.js";
import { problemOf } from "./problem.js";
import { ByteQueue } from "./queue.js";

const HEADER = 8;
const nameOf = (table: Record<string, number>, n: number): string => Object.entries(table).find(([, v]) => v === n)?.[0] ?? `type ${n}`;

interface Stdout {
  head: CgiHead | null;
  held: Uint8Array[];
  body: number;
}

export class FastcgiInspector implements StreamInspector {
  private readonly q = { request: new ByteQueue(), response: new ByteQueue() };
  private readonly dec: Record<Dir, FcgiDecoder>;
  private readonly params = new Map<number, Uint8Array[]>();
  private readonly decodedParams = new Map<number, Map<string, string>>();
  private readonly stdout = new Map<number, Stdout>();
  private readonly streamed = new Map<string, number>();
  private readonly inFlight = new Set<number>();
  private readonly autoTracked = new Set<number>();

  constructor(
    private readonly codec: Codec,
    private readonly out: SectionBuilder,
    /** False for a capture of the app's bytes only: ids are then taken as in flight. */
    private readonly haveRequests: boolean,
  ) {
    this.dec = { request: codec.fcgiDecoder("server"), response: codec.fcgiDecoder("client") };
  }

  push(dir: Dir, bytes: Uint8Array): void {
    const q = this.q[dir];
    q.push(bytes);
    while (!this.out.hasFailed(dir) && q.length >= HEADER) {
      const h = q.bytes;
      const id = (h[2] << 8) | h[3];
      const total = HEADER + ((h[4] << 8) | h[5]) + h[6];
      // A header that is not FastCGI's says so at once; its lengths mean nothing.
      if (h[0] !== 1 || q.length >= total) {
        if (dir === "response" && !this.haveRequests && id !== 0 && h[0] === 1 && !this.autoTracked.has(id)) {
          this.autoTracked.add(id);
          this.dec.response.track(id);
        }
        this.record(dir, q.offset, q.take(Math.min(total, q.length)));
      } else break;
    }
  }

  private record(dir: Dir, offset: number, rec: Uint8Array): void {
    const [version, type] = rec;
    const id = (rec[2] << 8) | rec[3];
    const length = (rec[4] << 8) | rec[5];
    const title = `${nameOf(FcgiType, type)} id=${id} content=${length} padding=${rec[6]}`;
    let events: FcgiEvent[];
    try {
      events = this.dec[dir].push(rec);
    } catch (e) {
      const p = problemOf(e);
      if (p.code === "FCGI_BAD_VERSION") p.message = `byte 0 is ${version}, not FastCGI version 1 (${p.message})`;
      if (p.code === "FCGI_NOT_IN_FLIGHT") p.message += " (or the capture started after the request was sent)";
      p.hint = [looksLike(rec, "FastCGI"), dir === "response" ? RESPONSE_ERROR_HINT : undefined].filter(Boolean).join(" ") || undefined;
      this.out.fail(dir, offset, version === 1 ? title : `not a FastCGI record: ${preview(rec, 40)}`, p);
      return;
    }
    const entry = this.out.add(dir, offset, title);
    for (const ev of events) this.describe(dir, ev, entry.detail, entry.hints, (p) => (entry.problem = p));
  }

  private describe(dir: Dir, ev: FcgiEvent, detail: string[], hints: string[], problem: (p: Problem) => void): void {
    switch (ev.kind) {
      case "begin-request":
        this.inFlight.add(ev.requestId);
        if (dir === "request" && !this.autoTracked.has(ev.requestId)) this.dec.response.track(ev.requestId);
        detail.push(`role=${nameOf(FcgiRole, ev.role)} flags=${ev.flags & 1 ? "KEEP_CONN" : ev.flags}`);
        return;
      case "abort-request":
        detail.push("the gateway gave up on this request (client gone or timeout); the app still answers END_REQUEST");
        return;
      case "end-request": {
        this.inFlight.delete(ev.requestId);
        this.dec.request.untrack(ev.requestId);
        detail.push(`appStatus=${ev.appStatus} protocolStatus=${nameOf(FcgiProtocolStatus, ev.protocolStatus)}`);
        const hint = endRequestHint(ev.protocolStatus);
        if (hint) hints.push(hint);
        const so = this.stdout.get(ev.requestId);
        if (so && !so.head) hints.push("the app ended the request before its STDOUT held a complete CGI head; edgepass answers 502.");
        this.stdout.delete(ev.requestId);
        for (const type of [FcgiType.STDOUT, FcgiType.STDERR]) this.streamed.delete(`${type}/${ev.requestId}`);
        return;
      }
      case "values":
        for (const [n, v] of ev.pairs) detail.push(v === "" ? n : `${n} = ${v}`);
        return;
      case "unknown-type":
        detail.push(`the peer does not know record type ${ev.unknownType}`);
        return;
      case "stream":
        return this.stream(ev, detail, hints, problem);
    }
  }

  private stream(ev: Extract<FcgiEvent, { kind: "stream" }>, detail: string[], hints: string[], problem: (p: Problem) => void): void {
    const key = `${ev.type}/${ev.requestId}`;
    const total = (this.streamed.get(key) ?? 0) + ev.data.length;
    this.streamed.set(key, total);
    if (ev.end) {
      detail.push(`stream closed (${total} bytes in all)`);
      this.streamed.delete(key);
    }
    switch (ev.type) {
      case FcgiType.PARAMS: {
        const parts = this.params.get(ev.requestId) ?? [];
        if (!ev.end) return void this.params.set(ev.requestId, [...parts, ev.data.slice()]);
        this.params.delete(ev.requestId);
        try {
          const pairs = this.codec.fcgiDecodePairs(concatBytes(parts));
          this.decodedParams.set(ev.requestId, new Map(pairs));
          detail.push(`${pairs.length} parameters:`, ...pairs.map(([n, v]) => `  ${n} = ${v}`));
        } catch (e) {
          problem(problemOf(e));
        }
        return;
      }
      case FcgiType.STDERR:
        if (ev.data.length) {
          detail.push(`stderr: ${preview(ev.data, 400)}`);
          hints.push(...stderrHints(latin1(ev.data), this.decodedParams.get(ev.requestId)));
        }
        return;
      case FcgiType.STDOUT:
        return this.stdoutData(ev.requestId, ev.data, detail, problem);
      default:
        if (ev.data.length) detail.push(`data: ${preview(ev.data, 80)}`);
    }
  }

  private stdoutData(id: number, data: Uint8Array, detail: string[], problem: (p: Problem) => void): void {
    const so = this.stdout.get(id) ?? { head: null, held: [], body: 0 };
    this.stdout.set(id, so);
    if (so.head) {
      so.body += data.length;
      if (data.length) detail.push(`body: ${preview(data, 80)}`);
      return;
    }
    so.held.push(data.slice());
    const buf = concatBytes(so.held);
    try {
      const head = this.codec.parseCgiHead(buf, 64 * 1024);
      if (!head) return void detail.push(`CGI head so far: ${preview(buf, 80)}`);
      so.head = head;
      so.held = [];
      detail.push(`CGI head: status ${head.status}${head.reason ? ` ${head.reason}` : ""}`, ...head.headers.map(([n, v]) => `  ${n}: ${v}`));
      if (head.bodyOffset > 16 * 1024) detail.push(`the head takes ${head.bodyOffset} bytes, over edgepass's default response_head_limit (16k): raise it, or edgepass answers 502`);
      const body = buf.subarray(head.bodyOffset);
      so.body = body.length;
      if (body.length) detail.push(`body: ${preview(body, 80)}`);
    } catch (e) {
      const p = problemOf(e);
      p.hint = RESPONSE_ERROR_HINT;
      problem(p);
      detail.push(`CGI head: ${preview(buf, 120)}`);
      so.head = { status: 0, reason: "", headers: [], bodyOffset: 0 };
    }
  }

  end(closed: Record<Dir, boolean>): void {
    for (const dir of ["request", "response"] as const) {
      const q = this.q[dir];
      if (this.out.hasFailed(dir) || q.length === 0) continue;
      const h = q.bytes;
      const want = q.length >= HEADER ? HEADER + ((h[4] << 8) | h[5]) + h[6] : HEADER;
      const what = `the ${dir} side ends inside a record: ${q.length} of ${want} bytes`;
      if (closed[dir]) {
        this.out.fail(dir, q.offset, `truncated record: ${preview(h, 40)}`, {
          code: "FCGI_TRUNCATED",
          message: `${what}, then the connection was closed`,
          hint: dir === "response" ? RESPONSE_ERROR_HINT : undefined,
        });
      } else this.out.note(`${what} (the capture stopped there)`);
    }
    for (const id of this.inFlight) {
      if (closed.response && !this.out.hasFailed("response")) {
        this.out.fail("response", this.q.response.offset, `request id=${id} not ended`, {
          code: "FCGI_NO_END_REQUEST",
          message: `the app closed the connection without END_REQUEST for request ${id}`,
          hint: "edgepass answers 502 if no response head had arrived, and otherwise cuts the body short (never a clean end).",
        });
      } else this.out.note(`request id=${id} has no END_REQUEST in the capture (it stopped first)`);
    }
    if (!this.haveRequests && this.autoTracked.size) this.out.note("only the app's side is in the capture: its request ids were taken as in flight");
    this.dec.request.free();
    this.dec.response.free();
  }
}
