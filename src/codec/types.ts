// The TypeScript face of the Wasm codec. Everything above src/codec/ sees only these types;
// only src/codec/ touches WebAssembly. Byte arrays returned by encoders are copies the caller
// owns (nothing writes them again), but small ones share their `.buffer` with other results:
// copy one before transferring its buffer to another thread. `data` spans in decoder events
// are views into the chunk the caller passed in (never into Wasm memory) and stay valid as
// long as that chunk does.

/** FastCGI record types (FastCGI 1.0 spec, section 8). */
export const FcgiType = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

export const FcgiRole = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;
export const FcgiFlags = { KEEP_CONN: 1 } as const;
export const FcgiProtocolStatus = {
  REQUEST_COMPLETE: 0,
  CANT_MPX_CONN: 1,
  OVERLOADED: 2,
  UNKNOWN_ROLE: 3,
} as const;

/** One decoded piece of the FastCGI byte stream. A record's content may arrive as several
 *  events of the same type (one per chunk it spans); `data` is empty only for the record that
 *  closes a stream (content length 0). */
export type FcgiEvent =
  | { kind: "stream"; type: number; requestId: number; data: Uint8Array; end: boolean }
  | { kind: "end-request"; requestId: number; appStatus: number; protocolStatus: number }
  | { kind: "begin-request"; requestId: number; role: number; flags: number }
  | { kind: "abort-request"; requestId: number }
  | { kind: "values"; type: number; requestId: number; pairs: Array<[string, string]> }
  | { kind: "unknown-type"; requestId: number; unknownType: number };

export interface FcgiDecoder {
  /** Ids the decoder accepts records for (client side: ids of requests in flight). */
  track(requestId: number): void;
  untrack(requestId: number): void;
  /** Feed the next chunk (any size, any split). Returns the events completed or advanced by
   *  it, in stream order. Throws CodecError on a protocol violation; the decoder is then dead. */
  push(chunk: Uint8Array): FcgiEvent[];
  /** True when no record is partially received (a clean place for the stream to end). */
  readonly atBoundary: boolean;
  /** Stream content of the current record the origin announced and has not yet sent (0 when
   *  unknown): a read may wait for that much without waiting for anything not yet promised. */
  readonly contentLeft: number;
  /** Releases the Wasm-side state. */
  free(): void;
}

export interface CgiHead {
  status: number;
  /** Reason phrase from "Status: NNN reason", or "" */
  reason: string;
  /** In arrival order, repeated names kept separate (Set-Cookie!), Status line removed. */
  headers: Array<[string, string]>;
  /** Offset in the buffer passed to parseCgiHead where the body begins. */
  bodyOffset: number;
}

export type ParamsFormat = "fastcgi" | "scgi" | "uwsgi";

export interface CgiParamsInput {
  /** Gateway-owned and configured params, in order; they always win and are sent once. */
  owned: Array<[string, string]>;
  /** Client request headers as received (repeats allowed, any case). */
  headers: Array<[string, string]>;
  /** false (default, like nginx): headers whose name contains "_" are dropped. */
  underscoresInHeaders?: boolean;
  format?: ParamsFormat; // default "fastcgi"
}

/** Stable codes; numbers are defined in wasm/abi and only ever appended. */
export class CodecError extends Error {
  constructor(
    readonly code: string,
    readonly num: number,
    message: string,
  ) {
    super(message);
    this.name = "CodecError";
  }
}

// --- HTTP/1.1 ---

/** How the body that follows a head is delimited (RFC 9112 section 6). */
export type BodyFraming =
  | { kind: "none" } // HEAD, 1xx, 204, 304 responses; requests without a body
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" }; // responses only: read until the connection closes

export interface HttpResponseHead {
  /** 10 for HTTP/1.0, 11 for HTTP/1.1 */
  version: number;
  status: number;
  reason: string;
  /** In arrival order, repeats kept (every Set-Cookie separate), names as received. */
  headers: Array<[string, string]>;
  /** Offset in the buffer where the body starts. */
  bodyOffset: number;
  framing: BodyFraming;
  /** May the connection carry another exchange after this one? (version, Connection) */
  keepAlive: boolean;
}

export interface HttpRequestHead {
  method: string;
  /** The request-target exactly as sent (origin-form, absolute-form, authority or "*"). */
  target: string;
  version: number;
  headers: Array<[string, string]>;
  bodyOffset: number;
  framing: BodyFraming;
  keepAlive: boolean;
  /** True when "Expect: 100-continue" was sent. */
  expectContinue: boolean;
}

/** An HTTP/1.1 head as offsets into the buffer it was scanned from: nothing is decoded into
 *  strings, so a caller that needs two fields pays for two. Spans are [start, end) byte
 *  offsets into that buffer, valid as long as its bytes are. */
export interface HttpHeadOffsets {
  version: number;
  /** Response status code; 0 for a request. */
  status: number;
  /** Request method span (empty for a response). */
  methodStart: number;
  methodEnd: number;
  /** Request-target span (empty for a response). */
  targetStart: number;
  targetEnd: number;
  /** Reason phrase span (empty for a request). */
  reasonStart: number;
  reasonEnd: number;
  bodyOffset: number;
  framing: BodyFraming;
  keepAlive: boolean;
  /** True when "Expect: 100-continue" was sent (requests only). */
  expectContinue: boolean;
  fieldCount: number;
  /** Four numbers per field line, in arrival order: name start, name end, value start, value
   *  end (value without surrounding whitespace). */
  fields: number[];
}

export interface ChunkedDecoder {
  /** Feeds the next piece of a chunked body. Returns the data spans found (views into
   *  `chunk`), whether the body ended (last chunk + trailers read), and how many bytes of
   *  `chunk` belong to the body (bytes after the end belong to the next message). Chunk
   *  extensions are validated, bounded and never returned; trailers are read and dropped.
   *  Throws CodecError on malformed framing; the decoder is then dead. */
  push(chunk: Uint8Array): { data: Uint8Array[]; done: boolean; consumed: number };
  /** Data of the current chunk its size line announced and the body has not brought yet: a
   *  read may wait for that much without waiting for anything not yet promised (as
   *  FcgiDecoder.contentLeft). */
  readonly dataLeft: number;
  free(): void;
}

/** The whole codec: what createCodec and loadCodec return, and every layer above uses. */
export interface Codec {
  // --- FastCGI, client (gateway) side ---
  fcgiBeginRequest(requestId: number, role: number, flags: number): Uint8Array;
  /** Wraps an encoded name-value stream into PARAMS records (split at 65,535 bytes, padded
   *  to 8) followed by the empty PARAMS record. */
  fcgiParams(requestId: number, encodedPairs: Uint8Array): Uint8Array;
  /** Wraps `data` into STDIN records (or another stream type) of <= 65,535 bytes padded to 8.
   *  An empty `data` yields the empty record that closes the stream. */
  fcgiStream(type: number, requestId: number, data: Uint8Array): Uint8Array;
  /** fcgiStream's bytes as pieces to write in order. Data of 4 KiB or more is not copied: the
   *  pieces are views of it between record headers and padding, so they hold its memory until
   *  written. */
  fcgiStreamPieces(type: number, requestId: number, data: Uint8Array): Uint8Array[];
  /** A whole request in one call, the bytes a web server writes: BEGIN_REQUEST(role, flags),
   *  PARAMS from `params` (pairs, UTF-8, or an encoded name-value stream such as
   *  buildCgiParams makes), the empty PARAMS record, `stdin` as STDIN records, the empty STDIN
   *  record. The same bytes as fcgiBeginRequest + fcgiParams + fcgiStream(STDIN) twice. */
  fcgiRequest(requestId: number, role: number, flags: number, params: Array<[string, string]> | Uint8Array, stdin: Uint8Array): Uint8Array;
  fcgiAbortRequest(requestId: number): Uint8Array;
  fcgiGetValues(names: string[]): Uint8Array;
  // --- FastCGI, server (app) side; used by the demo origin and test origins ---
  fcgiEndRequest(requestId: number, appStatus: number, protocolStatus: number): Uint8Array;
  fcgiGetValuesResult(pairs: Array<[string, string]>): Uint8Array;
  /** Decodes a complete FastCGI name-value stream (the joined PARAMS content). */
  fcgiDecodePairs(encoded: Uint8Array): Array<[string, string]>;
  /** UNKNOWN_TYPE management record (spec 4.2): an app's answer to a management record type
   *  it does not know (the decoder reports those as "unknown-type" events in server mode). */
  fcgiUnknownType(type: number): Uint8Array;
  /** A bare FastCGI name-value stream (spec 3.4) from pairs (UTF-8), e.g. for fcgiParams. */
  fcgiEncodePairs(pairs: Array<[string, string]>): Uint8Array;
  /** mode "client": accepts STDOUT/STDERR/END_REQUEST/GET_VALUES_RESULT/UNKNOWN_TYPE and
   *  only tracked request ids (id 0 for management records). mode "server": accepts
   *  BEGIN_REQUEST (which tracks the id), PARAMS, STDIN, DATA, ABORT_REQUEST, GET_VALUES. */
  fcgiDecoder(mode: "client" | "server"): FcgiDecoder;
  // --- CGI ---
  /** Builds the request's parameter block: owned params first, then HTTP_* from headers
   *  (upper-case, "-" -> "_", underscore names dropped unless allowed, Proxy never,
   *  Content-Length/Content-Type never (they are CONTENT_LENGTH/CONTENT_TYPE), repeats joined
   *  with ", " and Cookie with "; ", a derived name equal to an owned one dropped).
   *  Throws CodecError on CR, LF or NUL in any name or value. */
  buildCgiParams(input: CgiParamsInput): Uint8Array;
  /** buildCgiParams (its `format` ignored: FastCGI) and fcgiRequest in one call, the pairs
   *  framed where they were built: BEGIN_REQUEST with request id 1, `role` and `flags`, the
   *  PARAMS records, the empty PARAMS record, the empty STDIN record. The same bytes as
   *  fcgiRequest(1, role, flags, buildCgiParams(input), empty). A request whose body follows
   *  leaves out the last 8 bytes (the empty STDIN) and sends its STDIN records after. */
  fcgiRequestFromCgi(input: CgiParamsInput, role: number, flags: number): Uint8Array;
  /** Parses a CGI response head at the start of `buf` (lines end in CRLF or LF, head ends at
   *  an empty line). Returns null when more bytes are needed; throws CodecError when the head
   *  is malformed or longer than `limit` bytes. */
  parseCgiHead(buf: Uint8Array, limit: number): CgiHead | null;
  // --- HTTP/1.1 ---
  /** Parses a response head at the start of `buf` (strict RFC 9112; see wasm/ABI.md for the
   *  few tolerances). `requestMethod` decides framing for HEAD and CONNECT. Returns null when
   *  more bytes are needed; throws CodecError on malformed input or a head over `limit`. */
  parseHttpResponseHead(buf: Uint8Array, limit: number, requestMethod: string): HttpResponseHead | null;
  /** Parses a request head (strict RFC 9112 + SECURITY.md: CL with TE, bad CL, non-chunked TE,
   *  bare LF, obs-fold, CR/NUL in values, whitespace before colon, non-token names → error). */
  /** The same parse as parseHttpRequestHead, answered as offsets into `buf` (no strings). */
  scanHttpRequestHead(buf: Uint8Array, limit: number): HttpHeadOffsets | null;
  /** The same parse as parseHttpResponseHead, answered as offsets into `buf` (no strings). */
  scanHttpResponseHead(buf: Uint8Array, limit: number, requestMethod: string): HttpHeadOffsets | null;
  parseHttpRequestHead(buf: Uint8Array, limit: number): HttpRequestHead | null;
  chunkedDecoder(): ChunkedDecoder;
  /** Frames `data` as one chunk ("<hex>\r\n<data>\r\n"); empty data gives the last chunk "0\r\n\r\n". */
  encodeChunk(data: Uint8Array): Uint8Array;
  /** encodeChunk's bytes as pieces to write in order; data of 4 KiB or more is not copied. */
  encodeChunkPieces(data: Uint8Array): Uint8Array[];
  /** Which twin of the module runs: "simd" (edgepass.wasm) or "scalar" (edgepass-scalar.wasm).
   *  Both give the same results; see wasmSimdSupported(). */
  readonly build: WasmBuild;
}

/** The two builds of the module: the same exports and results, one with 128-bit SIMD. */
export type WasmBuild = "simd" | "scalar";
