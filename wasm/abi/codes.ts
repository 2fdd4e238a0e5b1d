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
