// The request `edgepass serve` hands the gateway: what the pipeline reads (GatewayRequest),
// built once from the parsed head. An undici Request would parse the URL again, copy the
// headers into a second Headers, make an AbortSignal following ours and brand-check every
// read, for each request; this keeps the rules a Request enforces that decide a client's
// answer (forbidden methods, credentials in the URL) and nothing else. A body on a GET or
// HEAD is the client's to send (RFC 9110 9.3.1): nginx and the Worker pass it to the app, and
// so does this host, although a fetch Request would refuse to hold one.
import type { ClientSignal } from "../../core/exchange.js";
import type { GatewayRequest, RequestFields } from "../../core/gateway.js";
import type { PiecesBody } from "../../core/pieces.js";
import type { RequestUrl } from "../../edge/request-url.js";

/** Methods a fetch Request refuses (Fetch standard, "forbidden method"). */
export const TRACE_LIKE = new Set(["CONNECT", "TRACE", "TRACK"]);
/** Methods the Fetch standard writes in upper case whatever case they came in. */
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

export class ServeRequest implements GatewayRequest {
  readonly method: string;
  readonly url: string;

  /** Throws a TypeError where a fetch Request would refuse the same request. */
  constructor(
    method: string,
    /** The URL, parsed once here and read by the host and the gateway (RequestInfo.url). */
    readonly parsed: RequestUrl,
    readonly headers: FieldMap,
    readonly body: PiecesBody | null,
    readonly signal: ClientGone,
  ) {
    const upper = method.toUpperCase();
    if (TRACE_LIKE.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
    this.method = NORMALIZED.has(upper) ? upper : method;
    if (parsed.username || parsed.password) throw new TypeError("Request cannot be constructed from a URL that includes credentials");
    this.url = parsed.href;
  }
}

/** The request's ClientSignal: aborted when its connection closes before the answer is
 *  written. A plain object, not an AbortController and EventTarget per request. */
export class ClientGone implements ClientSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> = [];

  addEventListener(_type: "abort", listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    // Each listener once, as with { once: true }; one that throws does not stop the others.
    for (const l of this.listeners.splice(0)) {
      try {
        l();
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}

/** The head's fields as the pipeline reads them (RequestFields): by lower-case name, repeats
 *  joined by ", " as a fetch Headers joins them, in the order the client sent them. The parser
 *  has checked every name and value already; a Headers would check each again. */
export class FieldMap implements RequestFields {
  private readonly map = new Map<string, string>();

  /** `drop`: lower-case names left out (the client hop's framing fields). */
  constructor(fields: ReadonlyArray<readonly [string, string]>, drop: ReadonlySet<string>) {
    for (const [k, v] of fields) {
      const name = k.toLowerCase();
      if (drop.has(name)) continue;
      const had = this.map.get(name);
      this.map.set(name, had === undefined ? v : `${had}, ${v}`);
    }
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const [k, v] of this.map) fn(v, k);
  }
}
