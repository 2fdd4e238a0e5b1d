// One interface for every upstream protocol (ARCHITECTURE.md: like hono's Router, one shape,
// several implementations, one conformance suite). An Exchange takes a request the pipeline
// has already routed, checked and framed, and returns the origin's response as a stream.
import type { PiecesBody, StreamBody } from "./pieces.js";
import type { Codec, FcgiEvent } from "../codec/types.js";
import type { GatewaySettings, UpstreamConfig } from "../config/types.js";
import type { RequestRecord } from "./access-log.js";
import type { Logger } from "./log.js";
import type { GatewayError } from "./errors.js";
import type { Dial, Outgoing } from "./transport.js";
import type { Plan } from "../balance/plan.js";
import type { Switched } from "./tunnel.js";
import type { ReplayHold } from "./replay.js";
import type { ClientTls } from "./client-tls.js";

export interface RequestBody {
  /** Exact length in bytes, or null when unknown (only for exchanges that can stream bodies
   *  of unknown length; for the others the pipeline buffers to max_body_buffer first). */
  length: number | null;
  stream: StreamBody;
  /** Told the size of each piece read from the client's stream (the request line's bytes_in);
   *  read it with readBody(), which calls this. The pipeline makes every RequestBody with all
   *  three fields and sets `count` in place: one shape, where a copy with `count` added was
   *  another and made every read of a body's fields a missed generic lookup. */
  count?: (bytes: number) => void;
}

/** Says when the client went away: the platform's AbortSignal, or anything that keeps this
 *  much of one (`edgepass serve` makes a plain one per request: adapter/node/request.ts). */
export interface ClientSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
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
  /** The client's TLS connection, when the host knows it (X-SSL-Client-*). */
  tls?: ClientTls;
  /** The route's request_headers, expanded: set on an HTTP origin's request, replacing the
   *  client's fields and the gateway's own X-Forwarded-*; an empty value sends none. */
  setHeaders?: Array<[string, string]>;
  /** Client headers as received (names as the platform gives them, repeats allowed). */
  headers: Array<[string, string]>;
  /** null when the request has no body. */
  body: RequestBody | null;
  /** CGI meta-variables the gateway owns (plus the route's extra params), in send order. */
  cgi: Array<[string, string]>;
  /** Is the client still there? Aborted when it goes away. */
  signal?: ClientSignal;
  /** The request's log record: the exchange notes the server that answered, the connect
   *  time and retries (access-log.ts). */
  record?: RequestRecord;
  /** FastCGI role (spec 5.1); absent: RESPONDER. */
  role?: number;
  /** A WebSocket handshake the host can carry on (core/tunnel.ts): an HTTP origin is asked to
   *  switch, on a connection of the request's own. */
  upgrade?: boolean;
}

/** A response body: the whole body when it is at hand (a small page that arrived with its
 *  head, a small file, the gateway's own answers), which a host writes at once with its head
 *  instead of building and draining a stream for it; pieces read straight from an origin's
 *  connection or a file (PiecesBody); or any other stream. */
export type Body = ReadableStream<Uint8Array> | Uint8Array | PiecesBody;

export interface ForwardResponse {
  status: number;
  statusText: string;
  /** Repeated names stay separate (every Set-Cookie on its own). */
  headers: Array<[string, string]>;
  /** Streams the origin's body as it arrives, or the whole body when it came with the head;
   *  null for bodiless responses. */
  body: Body | null;
  /** A 101 to a request with `upgrade`: the origin's connection, switched. */
  tunnel?: Switched;
}

export interface ExchangeContext {
  upstream: UpstreamConfig;
  settings: GatewaySettings;
  codec: Codec;
  dial: Dial;
  /** Kept connections to lease instead of dialing (the host's pools, src/pool: in the Worker
   *  setup the UpstreamPool object's); absent: this request dials its own connection. Every
   *  protocol's one Exchange takes its pool from here, so a host changes no exchange. */
  connections?: Connections;
  /** Which servers this request may try, in order (balance/plan.ts); absent: the upstream's
   *  shared balancer with no hash key. */
  plan?: Plan;
  /** The host's room to hold bodies over REPLAY_LIMIT for a resend (core/replay.ts). */
  replay?: ReplayHold;
}

/** How a request asks a pool for a place on a connection. */
export interface AcquireOptions {
  /** The client went away: leave the queue. */
  signal?: ClientSignal;
  /** Only a newly opened connection will do (the stale-connection retry, and a body that
   *  could not be sent twice). */
  fresh?: boolean;
  /** Ahead of every waiter (the stale-connection retry: this request already waited its turn). */
  retry?: boolean;
  /** A place now or none: rejects with POOL_WAIT instead of queueing (pool/admission.ts). */
  noWait?: boolean;
  /** The request's walk over the servers: the pool tries them in its order and records the
   *  one it leased. */
  plan?: Plan;
  /** The request's logger: a connect failure on its behalf carries its id. */
  log?: Logger;
}

/** Hands out places on kept connections. */
export interface ConnectionProvider<L> {
  /** A place now (the lease itself, no promise) or after a wait in the pool's queue (503
   *  POOL_SATURATED past its bounds). */
  acquire(o: AcquireOptions): L | Promise<L>;
  /** A request was sent again after a kept connection turned out stale (statistics). */
  noteRetry(): void;
}

/** The pools, by what a lease carries: `stream`, a byte stream one request at a time
 *  (HTTP/1.1 keep-alive); `records`, one request's records on a FastCGI connection that may
 *  carry others at once. The pool says which, so an exchange checks rather than assumes. */
export type Connections =
  | (ConnectionProvider<LeasedStream> & { readonly kind: "stream" })
  | (ConnectionProvider<LeasedRecords> & { readonly kind: "records" });

/** One leased connection, for one exchange. */
export interface LeasedStream {
  readonly origin: string;
  /** It had completed requests and sat idle: the kind a server may have closed meanwhile. */
  readonly reused: boolean;
  /** The next chunk (null at end of stream), within read_timeout; `atLeast` as UpstreamIO.read's. */
  read(atLeast?: number): Promise<Uint8Array | null>;
  /** Within send_timeout; a failed write ends the connection. */
  write(bytes: Outgoing): Promise<void>;
  /** As DirectIO.settle, where the connection has it. */
  readonly settle?: (chunk: Uint8Array, views: Iterable<Uint8Array>) => void;
  /** The exchange is over; `clean`: the response was read to its end. `reuse` non-null: it
   *  was delimited, the server allows another request and the request was sent whole, so
   *  the connection goes back to the idle set (for less than `keepAliveMs` when the server
   *  said Keep-Alive: timeout); null: it is closed. Only the first call counts. */
  release(clean: boolean, reuse: Reuse | null): void;
}

/** One request's place on a FastCGI connection (src/pool/lease.ts): the connection
 *  demultiplexes what arrives and hands this request's records to its sink. */
export interface LeasedRecords {
  readonly origin: string;
  /** As LeasedStream.reused. */
  readonly reused: boolean;
  /** Starts the request: its records go to `sink` from now on. Returns its request id. */
  start(sink: RequestSink): number;
  /** Whole records, within send_timeout; a failed write ends the connection. */
  write(bytes: Outgoing): Promise<void>;
  /** The request's STDIN went out to its end. */
  sentAll(): void;
  /** The client took data: a connection waiting on backpressure may read again. */
  resume(): void;
  /** The answer is no longer wanted; `abort`: tell the app (ABORT_REQUEST). */
  abandon(abort: boolean): void;
  /** A wait of `ms` for this request's next record starts now: `expired` runs unless
   *  readDone() comes first. The connection's one timer serves the waits of all its requests. */
  readWait(ms: number, expired: () => void): void;
  readDone(): void;
}

/** Where the records of one request go. */
export interface RequestSink {
  /** STDOUT, STDERR or END_REQUEST for this request. May throw (a malformed head): the
   *  request is then abandoned, the connection carries on. */
  event(ev: FcgiEvent): void;
  /** No more records will come: the connection failed or closed (`err` says how), or the
   *  request overflowed its buffer on a multiplexed connection. */
  fail(err: GatewayError): void;
  /** Bytes received and not yet handed to the client. */
  readonly buffered: number;
}

/** What the end of an HTTP/1.1 response says about its connection (stream-response.ts). */
export interface Reuse {
  /** The server's Keep-Alive: timeout, in ms; null when it did not say. */
  keepAliveMs: number | null;
}

export interface Exchange {
  /** true: this origin needs the exact body length up front (CGI's CONTENT_LENGTH, or an
   *  HTTP origin that refuses chunked requests), so unknown lengths are buffered first. */
  needsLength(upstream: UpstreamConfig): boolean;
  /** The origin reads the CGI variables (ForwardRequest.cgi); false: they are not made. */
  readonly cgi: boolean;
  forward(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse>;
}
