// One interface for every upstream protocol (ARCHITECTURE.md: like hono's Router, one shape,
// several implementations, one conformance suite). An Exchange takes a request the pipeline
// has already routed, checked and framed, and returns the origin's response as a stream.
import type { Codec } from "../codec/types.js";
import type { GatewaySettings, UpstreamConfig } from "../config/types.js";
import type { Logger } from "./log.js";
import type { Dial } from "./transport.js";

export interface RequestBody {
  /** Exact length in bytes, or null when unknown (only for exchanges that can stream bodies
   *  of unknown length; for the others the pipeline buffers to max_body_buffer first). */
  length: number | null;
  stream: ReadableStream<Uint8Array>;
}

export interface ForwardRequest {
  requestId: string;
  log: Logger;
  method: string;
  /** The request-target as the client sent it (path and query, not normalized). */
  target: string;
  /** "http" or "https": how the client reached the gateway. */
  scheme: string;
  /** The client's address, when known (X-Forwarded-For). */
  clientAddr?: string;
  /** Client headers as received (names as the platform gives them, repeats allowed). */
  headers: Array<[string, string]>;
  /** null when the request has no body. */
  body: RequestBody | null;
  /** CGI meta-variables the gateway owns (plus the route's extra params), in send order. */
  cgi: Array<[string, string]>;
  /** Is the client still there? Aborted when it goes away. */
  signal?: AbortSignal;
}

export interface ForwardResponse {
  status: number;
  statusText: string;
  /** Repeated names stay separate (every Set-Cookie on its own). */
  headers: Array<[string, string]>;
  /** Streams the origin's body as it arrives; null for bodiless responses. */
  body: ReadableStream<Uint8Array> | null;
}

export interface ExchangeContext {
  upstream: UpstreamConfig;
  settings: GatewaySettings;
  codec: Codec;
  dial: Dial;
}

export interface Exchange {
  /** true: this origin needs the exact body length up front (CGI's CONTENT_LENGTH, or an
   *  HTTP origin that refuses chunked requests), so unknown lengths are buffered first. */
  needsLength(upstream: UpstreamConfig): boolean;
  forward(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse>;
}
