// Result codes of the edgepass Wasm module. Every export that can fail returns an i32: a value
// >= 0 is a result (a count, a length, an offset), a negative value is one of these codes.
//
// Rules (llhttp's): each code is numbered once and only ever appended; a number is never
// reused or renumbered, even when a code falls out of use. The constant's name is the stable
// string code the TypeScript codec puts on CodecError (e.g. "FCGI_BAD_VERSION"), so a name is
// as permanent as its number. Meanings are documented in wasm/ABI.md.
//
// This file is compiled by both AssemblyScript and TypeScript: plain integer literals only,
// no imports, no types that only one side knows.

/** An output buffer is smaller than the size the matching *_size / *_bound export promised. */
export const OUTPUT_TOO_SMALL = -1;
/** An input list (u32 LE length-prefixed entries) runs past its end or has an odd pair count. */
export const BAD_LIST = -2;
/** An argument is out of its documented range (mode, record type, request id, limit). */
export const BAD_ARGUMENT = -3;

// --- FastCGI framing (FastCGI 1.0 spec, sections 3 and 5) ---

/** A record header's version byte is not FCGI_VERSION_1 (spec 3.3). */
export const FCGI_BAD_VERSION = -4;
/** A record type FastCGI 1.0 does not define (0 or > 11) on an application record (spec 3.3, 4.2). */
export const FCGI_UNDEFINED_TYPE = -5;
/** A defined record type the peer must not send in this direction (e.g. STDIN from an app). */
export const FCGI_UNEXPECTED_TYPE = -6;
/** An application record for a request id that is not in flight (spec 3.3, 5.1). */
export const FCGI_NOT_IN_FLIGHT = -7;
/** A management record with a non-zero request id, or an application record with id 0 (spec 3.3). */
export const FCGI_BAD_REQUEST_ID = -8;
/** A fixed-size body (BEGIN_REQUEST, END_REQUEST, UNKNOWN_TYPE: 8 bytes; ABORT_REQUEST: 0) of another length. */
export const FCGI_BAD_LENGTH = -9;
/** BEGIN_REQUEST for a request id that is already in flight (spec 5.1). */
export const FCGI_DUPLICATE_ID = -10;
/** A name-value pair stream whose lengths run past its end (spec 3.4). */
export const FCGI_BAD_PAIRS = -11;
/** Management record content larger than one record can carry (65,535 bytes, spec 3.3). */
export const FCGI_RECORD_TOO_LARGE = -12;

// --- Request -> CGI parameters (RFC 3875 4.1; SECURITY.md "Request -> CGI parameters") ---

/** CR, LF or NUL in a parameter or header name or value (CRLF injection, Apache CVE-2023-25690). */
export const CGI_PARAM_CONTROL_CHAR = -13;
/** A client header name that is empty or has a byte outside RFC 9110 5.6.2 tchar. */
export const CGI_HEADER_NAME_INVALID = -14;
/** A gateway-owned parameter with an empty name. */
export const CGI_PARAM_NAME_EMPTY = -15;
/** A name or value longer than the output format can encode (uwsgi: 65,535 bytes). */
export const CGI_PARAM_TOO_LONG = -16;

// --- CGI response head (RFC 3875 6.2-6.3; SECURITY.md "Upstream responses") ---

/** A CR not followed by LF inside the head. */
export const CGI_HEAD_BARE_CR = -17;
/** A NUL byte inside the head. */
export const CGI_HEAD_NUL = -18;
/** A control byte other than HTAB (or DEL) in a header value (RFC 9110 5.5 field-vchar). */
export const CGI_HEAD_BAD_VALUE = -19;
/** A header line without a colon. */
export const CGI_HEAD_NO_COLON = -20;
/** A header name that is empty or has a byte outside RFC 9110 5.6.2 tchar. */
export const CGI_HEAD_BAD_NAME = -21;
/** Whitespace between a header name and its colon (RFC 9112 5.1: must be rejected). */
export const CGI_HEAD_SPACE_BEFORE_COLON = -22;
/** A line starting with SP or HTAB: obsolete line folding (RFC 9112 5.2), rejected. */
export const CGI_HEAD_OBS_FOLD = -23;
/** A Status value that is not three digits optionally followed by whitespace and a reason. */
export const CGI_HEAD_BAD_STATUS = -24;
/** A three-digit Status outside 100..599. */
export const CGI_HEAD_STATUS_RANGE = -25;
/** More than one Status header. */
export const CGI_HEAD_DUPLICATE_STATUS = -26;
/** No empty line within the head size limit. */
export const CGI_HEAD_TOO_LARGE = -27;
/** More header fields than the caller's offset table holds. */
export const CGI_HEAD_TOO_MANY_FIELDS = -28;
/** More client header fields than PARAMS_MAX_HEADERS (the name checks are quadratic). */
export const CGI_TOO_MANY_HEADERS = -29;

// --- HTTP/1.1 heads (RFC 9112 2-6; SECURITY.md "Client request framing", "Upstream responses") ---
// Shared by the request and the response head parsers; the host maps them to 400 (request) or
// 502 (response) unless a comment names another status.

/** A CR not followed by LF anywhere in a head (RFC 9112 2.2: reject, never guess). */
export const HTTP_BARE_CR = -30;
/** A line ending in LF without CR in a request head (RFC 9112 2.2; responses tolerate it). */
export const HTTP_BARE_LF = -31;
/** A field line without a colon. */
export const HTTP_NO_COLON = -32;
/** A field name that is empty or has a byte outside RFC 9110 5.6.2 tchar. */
export const HTTP_BAD_NAME = -33;
/** Whitespace between a field name and its colon (RFC 9112 5.1: must be rejected). */
export const HTTP_SPACE_BEFORE_COLON = -34;
/** A field line starting with SP or HTAB: obs-fold (RFC 9112 5.2), or whitespace before the first field (2.2). */
export const HTTP_OBS_FOLD = -35;
/** NUL, another control byte except HTAB, or DEL in a field value (RFC 9110 5.5). */
export const HTTP_BAD_VALUE = -36;
/** The head does not end within the limit. Requests: answer 431. */
export const HTTP_HEAD_TOO_LARGE = -37;
/** More field lines than the caller's table holds. Requests: answer 431. */
export const HTTP_TOO_MANY_FIELDS = -38;
/** A status line that is not "HTTP/x.y SP 3DIGIT [SP reason]" (RFC 9112 4). */
export const HTTP_BAD_STATUS_LINE = -39;
/** A status code that is not three digits in 100..599 (RFC 9110 15). */
export const HTTP_BAD_STATUS = -40;
/** A request line that is not "method SP request-target SP HTTP-version" (RFC 9112 3). */
export const HTTP_BAD_REQUEST_LINE = -41;
/** A method that is not a token (RFC 9110 9.1). */
export const HTTP_BAD_METHOD = -42;
/** A request-target with a byte other than VCHAR, or in a form the method does not allow (RFC 9112 3.2). */
export const HTTP_BAD_TARGET = -43;
/** An HTTP-version that is not "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3). */
export const HTTP_BAD_VERSION = -44;
/** A well-formed version other than HTTP/1.0 and HTTP/1.1. Requests: answer 505. */
export const HTTP_VERSION_UNSUPPORTED = -45;
/** Content-Length and Transfer-Encoding in one message (RFC 9112 6.1, 6.3: request smuggling). */
export const HTTP_CL_AND_TE = -46;
/** A Content-Length that is not 1*DIGIT (empty, signed, hex, a list in a request, junk). */
export const HTTP_BAD_CONTENT_LENGTH = -47;
/** Requests: Content-Length sent twice. Responses: Content-Length values that differ. */
export const HTTP_DUPLICATE_CONTENT_LENGTH = -48;
/** A Content-Length above 2^53-1 (the largest length every host can represent exactly). */
export const HTTP_CONTENT_LENGTH_TOO_LARGE = -49;
/** Transfer-Encoding other than one field with the single coding "chunked". Requests: 501 for
 *  an unknown coding is allowed by RFC 9112 6.1; edgepass answers 400 (it is the smuggling shape). */
export const HTTP_TE_NOT_CHUNKED = -50;
/** Transfer-Encoding in an HTTP/1.0 message (RFC 9112 6.1: faulty framing). */
export const HTTP_TE_HTTP10 = -51;
/** An HTTP/1.1 request without a Host field (RFC 9112 3.2). */
export const HTTP_MISSING_HOST = -52;
/** A request with more than one Host field (RFC 9112 3.2). */
export const HTTP_DUPLICATE_HOST = -53;
/** A Host value that is not uri-host [":" port] (RFC 9110 7.2; RFC 3986 3.2.2). */
export const HTTP_BAD_HOST = -54;

// --- HTTP/1.1 chunked transfer coding (RFC 9112 7.1) ---

/** A chunk-size that is missing or followed by a byte other than ";" or CRLF. */
export const HTTP_CHUNK_BAD_SIZE = -55;
/** A chunk-size of more than 16 hex digits or above 2^53-1. */
export const HTTP_CHUNK_SIZE_TOO_LARGE = -56;
/** A chunk extension that does not match ";" token ["=" (token / quoted-string)] (RFC 9112 7.1.1). */
export const HTTP_CHUNK_BAD_EXTENSION = -57;
/** Chunk extensions over the per-chunk or per-body cap (Node CVE-2024-22019). */
export const HTTP_CHUNK_EXTENSIONS_TOO_LARGE = -58;
/** A bare CR or bare LF where chunked framing needs CRLF (size line, trailer lines). */
export const HTTP_CHUNK_BAD_LINE_END = -59;
/** Chunk data not followed by CRLF: the chunk is longer than its size says. */
export const HTTP_CHUNK_MISSING_CRLF = -60;
/** A trailer line that is not a valid field line (RFC 9112 7.1.2). */
export const HTTP_CHUNK_BAD_TRAILER = -61;
/** The trailer section is over its cap. */
export const HTTP_CHUNK_TRAILERS_TOO_LARGE = -62;
/** Content-Length or Transfer-Encoding in the trailer section (RFC 9110 6.5.1: framing fields
 *  cannot be trailers; llhttp rejects them; a server that merges trailers would re-frame). */
export const HTTP_CHUNK_FRAMING_TRAILER = -63;
