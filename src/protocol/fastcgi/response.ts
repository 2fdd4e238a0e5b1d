// Turns the decoder's events for one request into a CGI head and a queue of body pieces.
// STDOUT before the blank line is the head (bounded by response_head_limit), after it the
// body; STDERR goes to the log, escaped and bounded, never into the body; END_REQUEST ends it.
// fcgiAnswer() turns that into the client's response, for a connection of the request's own
// and a kept one alike: they differ only in how more records come (AnswerSource).
import { CodecError, FcgiProtocolStatus, FcgiType, type CgiHead, type Codec, type FcgiDecoder, type FcgiEvent } from "../../codec/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { ForwardResponse } from "../../core/exchange.js";
import type { Logger } from "../../core/log.js";
import { sourceBody, logCut, wholeBody, type Stall } from "../body-stream.js";
import { concatBytes } from "../../core/bytes.js";
import { narrowed } from "../../core/read-slabs.js";
import { chunkViews } from "../../codec/fcgi-decoder.js";
import { noBodyFor } from "../../edge/headers.js";

/** How much of an origin's STDERR one request may put in the log. */
const STDERR_LOG_BUDGET = 64 * 1024;
const utf8 = new TextDecoder();

/** The longest STDERR line held back waiting for its newline. */
const STDERR_LINE_MAX = 8 * 1024;

export class FcgiResponse {
  head: CgiHead | null = null;
  /** Body pieces received and not yet handed on. */
  readonly pending: Uint8Array[] = [];
  /** Bytes added to `pending` (whoever takes a piece out subtracts it; the pool uses this to
   *  bound what one request may hold). */
  pendingBytes = 0;
  ended = false;
  appStatus = 0;
  protocolStatus = 0;
  private headParts: Uint8Array[] = [];
  private headBytes = 0;
  private stderrLogged = 0;
  /** STDERR after its last newline, held until the line ends (a record may split a line). */
  private stderrTail: Uint8Array[] = [];
  private stderrTailBytes = 0;

  constructor(
    private readonly codec: Codec,
    /** null when records arrive already decoded (a pooled connection calls handle()). */
    private readonly decoder: FcgiDecoder | null,
    private readonly requestId: number,
    private readonly headLimit: number,
    private readonly log: Logger,
    private readonly origin: string,
  ) {}

  /** Decodes one read of the request's own connection; `settle` (UpstreamIO.settle) hears
   *  which views of it went on, when its memory is used again. */
  feed(chunk: Uint8Array, settle?: (chunk: Uint8Array, views: Iterable<Uint8Array>) => void): void {
    let events;
    try {
      events = this.decoder!.push(chunk);
    } catch (e) {
      throw this.malformed(e);
    }
    for (const ev of events) this.handle(ev);
    // Every view of it a request may keep: body pieces, a head or a STDERR line not ended yet.
    settle?.(chunk, chunkViews(events));
  }

  /** One decoded event (a pooled connection demultiplexes and hands each request its own). */
  handle(ev: FcgiEvent): void {
    if (ev.kind === "stream" && ev.requestId === this.requestId) {
      if (ev.type === FcgiType.STDOUT) this.stdout(ev.data);
      else if (ev.type === FcgiType.STDERR) this.stderr(ev.data);
    } else if (ev.kind === "end-request" && ev.requestId === this.requestId) {
      this.flushStderr();
      this.ended = true;
      this.appStatus = ev.appStatus;
      this.protocolStatus = ev.protocolStatus;
    } else if (ev.kind === "unknown-type") {
      this.log.log("warn", "fastcgi_unknown_type", { origin: this.origin, type: ev.unknownType });
    }
  }

  /** Why the origin ended without a usable head, as a client-facing error. */
  endedWithoutHead(): GatewayError {
    if (this.protocolStatus === FcgiProtocolStatus.OVERLOADED) {
      return new GatewayError(
        Codes.UPSTREAM_OVERLOADED,
        503,
        `The origin ${this.origin} is overloaded and refused the request; it is safe to retry.`,
      );
    }
    if (this.protocolStatus !== FcgiProtocolStatus.REQUEST_COMPLETE) {
      const why = this.protocolStatus === FcgiProtocolStatus.CANT_MPX_CONN ? "cannot multiplex" : this.protocolStatus === FcgiProtocolStatus.UNKNOWN_ROLE ? "does not know the RESPONDER role" : `answered protocol status ${this.protocolStatus}`;
      return new GatewayError(Codes.UPSTREAM_REJECTED, 502, `The origin ${this.origin} rejected the request: it ${why}.`);
    }
    return new GatewayError(
      Codes.UPSTREAM_BAD_RESPONSE,
      502,
      this.headBytes === 0
        ? `The origin ${this.origin} ended the request without sending a response.`
        : `The origin ${this.origin} ended the request before its response headers were complete.`,
    );
  }

  private stdout(data: Uint8Array): void {
    if (this.head) {
      if (data.byteLength) this.push(data);
      return;
    }
    if (data.byteLength === 0) return;
    this.headParts.push(data);
    this.headBytes += data.byteLength;
    const buf = concatBytes(this.headParts);
    this.headParts = [buf];
    let head: CgiHead | null;
    try {
      head = this.codec.parseCgiHead(buf, this.headLimit);
    } catch (e) {
      throw this.malformed(e);
    }
    if (!head) return;
    this.head = head;
    this.headParts = [];
    const body = buf.subarray(head.bodyOffset);
    // The record went on only as its body part: its read memory can come back with that.
    if (buf === data) narrowed(data, body);
    if (body.byteLength) this.push(body);
  }

  private push(data: Uint8Array): void {
    this.pending.push(data);
    this.pendingBytes += data.byteLength;
  }

  /** Logs STDERR one line record per run of whole lines: php-fpm writes a message across
   *  records as it pleases, and a message cut in two log records cannot be searched for. */
  private stderr(data: Uint8Array): void {
    if (this.stderrLogged >= STDERR_LOG_BUDGET || data.byteLength === 0) return;
    const take = data.subarray(0, STDERR_LOG_BUDGET - this.stderrLogged);
    this.stderrLogged += take.byteLength;
    const nl = take.lastIndexOf(10);
    if (nl < 0) {
      this.stderrTail.push(take);
      this.stderrTailBytes += take.byteLength;
      // A line that never ends is still logged once it is long.
      if (this.stderrTailBytes >= STDERR_LINE_MAX || this.stderrLogged >= STDERR_LOG_BUDGET) this.flushStderr();
      return;
    }
    this.stderrTail.push(take.subarray(0, nl + 1));
    this.flushStderr();
    if (nl + 1 < take.byteLength) {
      this.stderrTail.push(take.subarray(nl + 1));
      this.stderrTailBytes = take.byteLength - nl - 1;
    }
    if (this.stderrLogged >= STDERR_LOG_BUDGET) this.flushStderr();
  }

  /** Logs the STDERR held back, if any (its request ended, or the line grew too long). */
  flushStderr(): void {
    if (this.stderrTail.length === 0) return;
    const text = utf8.decode(concatBytes(this.stderrTail));
    this.stderrTail = [];
    this.stderrTailBytes = 0;
    this.log.log("warn", "origin_stderr", {
      origin: this.origin,
      text,
      truncated: this.stderrLogged >= STDERR_LOG_BUDGET ? "yes" : undefined,
    });
  }

  private malformed(e: unknown): GatewayError {
    const detail = e instanceof CodecError ? `${e.code}: ${e.message}` : String(e);
    return new GatewayError(
      Codes.UPSTREAM_BAD_RESPONSE,
      502,
      `The origin ${this.origin} sent a malformed FastCGI response.`,
      detail,
    );
  }
}

/** What a complete CGI head means for the client's response: its status must be a final one
 *  (else 502), and HEAD or a bodiless status carries no body. The fields go to the client
 *  through the gateway's one header policy (edge/headers.ts). */
export function clientHead(head: CgiHead, method: string, origin: string): { headers: Array<[string, string]>; noBody: boolean } {
  if (head.status < 200 || head.status > 599) {
    throw new GatewayError(Codes.UPSTREAM_BAD_RESPONSE, 502, `The origin ${origin} sent the invalid status ${head.status}.`);
  }
  return { headers: head.headers, noBody: noBodyFor(method, head.status) };
}

/** How one exchange gets more of its request's records and lets its connection go. */
export interface AnswerSource {
  /** More records for the request (read from its own connection, or waited for on a kept
   *  one); throws when none will come. */
  step(): Promise<void>;
  /** The exchange is over for us; `clean`: the response was passed on whole (or had no
   *  body). Repeats are ignored. */
  release(clean: boolean): void;
  /** The head is good and goes to the client. */
  headed?(): void;
  /** See BodySource. */
  taken?(piece: Uint8Array): void;
  stall?: Stall;
}

/** Waits for the head, then streams the body as the client pulls it. */
export async function fcgiAnswer(res: FcgiResponse, src: AnswerSource, method: string, log: Logger, origin: string): Promise<ForwardResponse> {
  let headers: Array<[string, string]>;
  let noBody: boolean;
  try {
    while (!res.head) {
      if (res.ended) throw res.endedWithoutHead();
      await src.step();
    }
    ({ headers, noBody } = clientHead(res.head, method, origin));
  } catch (e) {
    // What the app said on STDERR before it failed is most wanted now, line ended or not.
    res.flushStderr();
    src.release(false);
    throw e;
  }
  const head = res.head;
  src.headed?.();
  // No body to pass on: the exchange is over (on a kept connection the app may finish what
  // it still sends, which is dropped, without an abort).
  if (noBody) src.release(true);
  else {
    // The whole answer came with its head (a small page): its body is handed on as it is.
    const body = wholeBody(res.ended, res.pending);
    if (body) {
      src.taken?.(body);
      src.release(true);
      return { status: head.status, statusText: head.reason, headers, body };
    }
  }
  return {
    status: head.status,
    statusText: head.reason,
    headers,
    body: noBody
      ? null
      : sourceBody({
          pending: res.pending,
          done: () => res.ended,
          step: () => src.step(),
          release: (clean) => src.release(clean),
          onError: (e) => {
            res.flushStderr();
            logCut(log, origin)(e);
          },
          taken: src.taken && ((piece) => src.taken!(piece)),
          stall: src.stall,
        }),
  };
}
