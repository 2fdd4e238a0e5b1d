// HTTP/1.1 numbers shared by the AssemblyScript parsers and the TypeScript codec: head table
// layout, framing kinds, flags, chunked-decoder state layout and the bounds the module enforces.
// Append-only like layout.ts and codes.ts; plain integer literals only, no imports.

// --- Head table (http_parse_request_head, http_parse_response_head) ---
// H1_FIELDS bytes of header, then one FIELD_SIZE entry per field line (FIELD_* offsets from
// layout.ts: name start/end, value start/end with OWS trimmed). Offsets are into the buffer.

/** 10 for HTTP/1.0, 11 for HTTP/1.1. */
export const H1_VERSION = 0;
/** Response status code (0 in a request table). */
export const H1_STATUS = 4;
/** Response reason phrase span (start == end when absent). */
export const H1_REASON_START = 8;
export const H1_REASON_END = 12;
/** Request method span. */
export const H1_METHOD_START = 16;
export const H1_METHOD_END = 20;
/** Request-target span, exactly as sent. */
export const H1_TARGET_START = 24;
export const H1_TARGET_END = 28;
/** One of H1_FRAMING_*. */
export const H1_FRAMING = 32;
/** Content-Length when framing is H1_FRAMING_LENGTH: low and high 32 bits (value <= 2^53-1). */
export const H1_LENGTH_LO = 36;
export const H1_LENGTH_HI = 40;
/** H1F_* bits. */
export const H1_FLAGS = 44;
/** Number of FIELD_SIZE entries that follow. */
export const H1_FIELD_COUNT = 48;
/** Field entries start here (52..63 are reserved and written as 0). */
export const H1_FIELDS = 64;

/** No body follows the head (HEAD, 1xx, 204, 304, 2xx to CONNECT; requests without CL/TE). */
export const H1_FRAMING_NONE = 0;
/** Content-Length bytes follow. */
export const H1_FRAMING_LENGTH = 1;
/** A chunked body follows (decode it with http_chunked_*). */
export const H1_FRAMING_CHUNKED = 2;
/** Responses only: the body runs until the connection closes. */
export const H1_FRAMING_CLOSE = 3;

/** The connection may carry another exchange (version, Connection, framing). */
export const H1F_KEEP_ALIVE = 1;
/** HTTP/1.1 request with "Expect: 100-continue". */
export const H1F_EXPECT_CONTINUE = 2;
/** Connection lists "upgrade" and an Upgrade field is present. */
export const H1F_UPGRADE = 4;

/** http_parse_response_head `request` argument: what the request was, for framing (RFC 9112 6.3). */
export const H1_REQ_OTHER = 0;
export const H1_REQ_HEAD = 1;
export const H1_REQ_CONNECT = 2;

// --- Chunked decoder state (http_chunked_new, size CH_STATE_SIZE) ---
// Hosts read CH_CONSUMED, CH_DONE and the span table; every other field is private.

export const CH_PHASE = 0;
export const CH_ERROR = 4;
/** Bytes of the last http_chunked_feed input that were consumed (<= len). */
export const CH_CONSUMED = 8;
/** 1 once the last chunk and the trailer section have been read; later feeds consume nothing. */
export const CH_DONE = 12;
/** u64: data bytes left in the current chunk, or the chunk-size being read. */
export const CH_REMAINING = 16;
export const CH_DIGITS = 24;
export const CH_EXT_LEN = 28;
export const CH_EXT_TOTAL = 32;
export const CH_TRAILER_LEN = 36;
/** Length of the trailer field name being read, and which framing names it may still be. */
export const CH_NAME_LEN = 40;
export const CH_NAME_MATCH = 44;
/** Chunk data left in the current chunk after the last http_chunked_scan or
 *  http_chunked_skip, as two u32 halves (value <= 2^53-1); 0 outside chunk data. */
export const CH_DATA_LEFT_LO = 48;
export const CH_DATA_LEFT_HI = 52;
/** http_chunked_scan stops at the start of chunk data of at least this many bytes, so the host
 *  takes them from its own buffer instead of copying them into Wasm memory (below this size a
 *  copy costs less than the extra calls). */
export const CH_DIRECT_MIN = 4096;
/** The span table: CH_SPAN_CAP entries of CH_SPAN_SIZE bytes (start, end offsets into buf). */
export const CH_SPANS = 64;
export const CH_SPAN_CAP = 64;
export const CH_SPAN_SIZE = 8;
export const CH_STATE_SIZE = 576; // CH_SPANS + CH_SPAN_CAP * CH_SPAN_SIZE

/** Most chunk-extension bytes (after the size, up to CRLF) in one chunk line. */
export const CH_EXT_MAX = 4096;
/** Most chunk-extension bytes in one body, all chunks together (Node's cap, CVE-2024-22019). */
export const CH_EXT_TOTAL_MAX = 16384;
/** Most bytes in the trailer section, its final CRLF included. */
export const CH_TRAILER_MAX = 16384;
/** Most hex digits in a chunk-size, leading zeros included. */
export const CH_SIZE_MAX_DIGITS = 16;
