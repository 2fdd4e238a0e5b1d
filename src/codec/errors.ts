// Wasm result code -> CodecError. The string code is the constant's name in wasm/abi/codes.ts
// (one source for names and numbers); the message says what was wrong and, where it helps,
// what to do about it.

import * as Codes from "../../wasm/abi/codes.js";
import { CH_EXT_MAX, CH_EXT_TOTAL_MAX, CH_TRAILER_MAX } from "../../wasm/abi/http1.js";
import { CodecError } from "./types.js";

type CodeName = keyof typeof Codes;

const MESSAGES: Record<CodeName, string> = {
  OUTPUT_TOO_SMALL: "internal: an output buffer was smaller than the size the module promised (codec bug)",
  BAD_LIST: "internal: the input list handed to the module is malformed (codec bug)",
  BAD_ARGUMENT: "an argument is out of range (request ids are 1..65535, types and roles as in the FastCGI spec)",
  FCGI_BAD_VERSION: "the upstream sent a FastCGI record whose version is not 1; it does not speak FastCGI on this port, or the stream lost sync",
  FCGI_UNDEFINED_TYPE: "the peer sent a FastCGI record of a type FastCGI 1.0 does not define",
  FCGI_UNEXPECTED_TYPE: "the peer sent a FastCGI record type that is not allowed in this direction (e.g. STDIN from an application)",
  FCGI_NOT_IN_FLIGHT: "the peer sent a FastCGI record for a request id that is not in flight on this connection",
  FCGI_BAD_REQUEST_ID: "the peer sent a FastCGI management record with a non-zero request id, or an application record with id 0",
  FCGI_BAD_LENGTH: "the peer sent a FastCGI BEGIN_REQUEST/END_REQUEST/UNKNOWN_TYPE body that is not 8 bytes, or an ABORT_REQUEST with content",
  FCGI_DUPLICATE_ID: "the web server sent BEGIN_REQUEST for a request id that is already in flight",
  FCGI_BAD_PAIRS: "a FastCGI name-value stream is truncated: a length runs past the end of the data",
  FCGI_RECORD_TOO_LARGE: "the name-value pairs do not fit one FastCGI management record (65,535 bytes)",
  CGI_PARAM_CONTROL_CHAR: "a CR, LF or NUL byte in a parameter or header name or value (CRLF injection); the request must be rejected",
  CGI_HEADER_NAME_INVALID: "a request header name is empty or contains a byte that is not an HTTP token character",
  CGI_PARAM_NAME_EMPTY: "a gateway-owned CGI parameter has an empty name; check the configured params",
  CGI_PARAM_TOO_LONG: "a parameter name or value is too long for the upstream protocol (uwsgi allows 65,535 bytes)",
  CGI_HEAD_BARE_CR: "the upstream response head contains a CR that is not followed by LF",
  CGI_HEAD_NUL: "the upstream response head contains a NUL byte",
  CGI_HEAD_BAD_VALUE: "an upstream response header value contains a control character",
  CGI_HEAD_NO_COLON: "an upstream response header line has no colon",
  CGI_HEAD_BAD_NAME: "an upstream response header name is empty or contains a byte that is not an HTTP token character",
  CGI_HEAD_SPACE_BEFORE_COLON: "an upstream response header has whitespace between its name and the colon",
  CGI_HEAD_OBS_FOLD: "an upstream response header line starts with whitespace (obsolete line folding is rejected)",
  CGI_HEAD_BAD_STATUS: "the upstream Status header is not three digits optionally followed by a reason phrase",
  CGI_HEAD_STATUS_RANGE: "the upstream Status code is outside 100..599",
  CGI_HEAD_DUPLICATE_STATUS: "the upstream response head has more than one Status header",
  CGI_HEAD_TOO_LARGE: "the upstream response head does not end within the response head limit; raise response_head_limit if the app is legitimate",
  CGI_HEAD_TOO_MANY_FIELDS: "the upstream response head has more header fields than the codec accepts",
  CGI_TOO_MANY_HEADERS: "the request has more than 1000 header fields; answer 431",
  HTTP_BARE_CR: "the HTTP head contains a CR that is not followed by LF",
  HTTP_BARE_LF: "a line of the request head ends in LF without CR; HTTP/1.1 requires CRLF",
  HTTP_NO_COLON: "an HTTP header line has no colon",
  HTTP_BAD_NAME: "an HTTP header name is empty or contains a byte that is not a token character",
  HTTP_SPACE_BEFORE_COLON: "an HTTP header has whitespace between its name and the colon (RFC 9112 5.1)",
  HTTP_OBS_FOLD: "an HTTP header line starts with whitespace (obsolete line folding, or space before the first header)",
  HTTP_BAD_VALUE: "an HTTP header value contains NUL, another control character or DEL",
  HTTP_HEAD_TOO_LARGE: "the HTTP head does not end within the head size limit (a request: answer 431; a response: raise the response head limit if the origin is legitimate)",
  HTTP_TOO_MANY_FIELDS: "the HTTP head has more header fields than the codec accepts (a request: answer 431)",
  HTTP_BAD_STATUS_LINE: "the upstream status line is not \"HTTP/x.y code reason\"",
  HTTP_BAD_STATUS: "the upstream status code is not three digits in 100..599",
  HTTP_BAD_REQUEST_LINE: "the request line is not \"METHOD target HTTP/x.y\" with single spaces",
  HTTP_BAD_METHOD: "the request method contains a byte that is not a token character",
  HTTP_BAD_TARGET: "the request target contains whitespace, a control byte or a byte its host may not hold, or has a form its method does not allow",
  HTTP_BAD_VERSION: "the HTTP version is not of the form HTTP/1.1",
  HTTP_VERSION_UNSUPPORTED: "the HTTP version is neither 1.0 nor 1.1 (a request: answer 505)",
  HTTP_CL_AND_TE: "the message has both Content-Length and Transfer-Encoding (request smuggling shape)",
  HTTP_BAD_CONTENT_LENGTH: "Content-Length is not a plain decimal number (empty, signed, hex, a list in a request, or junk)",
  HTTP_DUPLICATE_CONTENT_LENGTH: "Content-Length appears more than once (a request), or with differing values (a response)",
  HTTP_CONTENT_LENGTH_TOO_LARGE: "Content-Length is larger than 2^53-1",
  HTTP_TE_NOT_CHUNKED: "Transfer-Encoding is not exactly one \"chunked\" (unknown or stacked codings, or the field repeated)",
  HTTP_TE_HTTP10: "an HTTP/1.0 message carries Transfer-Encoding, which HTTP/1.0 does not have",
  HTTP_MISSING_HOST: "the HTTP/1.1 request has no Host header",
  HTTP_DUPLICATE_HOST: "the request has more than one Host header",
  HTTP_BAD_HOST: "the Host header is not host[:port]",
  HTTP_CHUNK_BAD_SIZE: "a chunk size is missing or followed by something other than \";\" or CRLF",
  HTTP_CHUNK_SIZE_TOO_LARGE: "a chunk size has more than 16 hex digits or exceeds 2^53-1",
  HTTP_CHUNK_BAD_EXTENSION: "a chunk extension does not match ;name[=value]",
  HTTP_CHUNK_EXTENSIONS_TOO_LARGE: `chunk extensions exceed ${CH_EXT_MAX} bytes in a chunk or ${CH_EXT_TOTAL_MAX} bytes in the body`,
  HTTP_CHUNK_BAD_LINE_END: "a bare CR or LF in chunked framing where CRLF is required",
  HTTP_CHUNK_MISSING_CRLF: "chunk data is not followed by CRLF (the chunk is longer than its size says)",
  HTTP_CHUNK_BAD_TRAILER: "a trailer line of a chunked body is not a valid header line",
  HTTP_CHUNK_TRAILERS_TOO_LARGE: `the trailer section of a chunked body exceeds ${CH_TRAILER_MAX} bytes`,
  HTTP_CHUNK_FRAMING_TRAILER: "a chunked body carries Content-Length or Transfer-Encoding as a trailer field (framing fields cannot be trailers)",
};

const NAMES = new Map<number, CodeName>();
for (const [name, num] of Object.entries(Codes) as Array<[CodeName, number]>) NAMES.set(num, name);

/** The CodecError for a negative result code; `context` names the operation. */
export function codecError(num: number, context: string): CodecError {
  const code = NAMES.get(num);
  if (code === undefined) return new CodecError("UNKNOWN_CODE", num, `${context}: the Wasm module returned unknown code ${num} (module newer than the codec?)`);
  return new CodecError(code, num, `${context}: ${MESSAGES[code]}`);
}

/** Returns `r` when it is a result, throws the matching CodecError when it is a code. */
export function check(r: number, context: string): number {
  if (r < 0) throw codecError(r, context);
  return r;
}
