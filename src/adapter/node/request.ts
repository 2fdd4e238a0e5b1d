// The request `edgepass serve` hands the gateway: what the pipeline reads (GatewayRequest),
// built once from the parsed head. An undici Request would parse the URL again, copy the
// headers into a second Headers, make an AbortSignal following ours and brand-check every
// read, for each request; this keeps the rules a Request enforces that decide a client's
// answer (forbidden methods, a body on GET or HEAD, credentials in the URL) and nothing else.
import type { GatewayRequest } from "../../core/gateway.js";

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
    readonly parsed: URL,
    readonly headers: Headers,
    readonly body: ReadableStream<Uint8Array> | null,
    readonly signal: AbortSignal,
  ) {
    const upper = method.toUpperCase();
    if (TRACE_LIKE.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
    this.method = NORMALIZED.has(upper) ? upper : method;
    if (body !== null && (this.method === "GET" || this.method === "HEAD")) throw new TypeError("Request with GET/HEAD method cannot have body.");
    if (parsed.username || parsed.password) throw new TypeError("Request cannot be constructed from a URL that includes credentials");
    this.url = parsed.href;
  }
}
