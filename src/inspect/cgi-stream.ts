// SCGI and uwsgi: the gateway sends one block of CGI variables (an SCGI netstring, or a uwsgi
// packet), then CONTENT_LENGTH bytes of body; the app answers with an HTTP status line or a CGI
// head and a body that runs to Content-Length or to the close. One request per connection.
// The variable blocks are read here (the Wasm module only encodes them); the answer's head is
// parsed by the codec.

import type { BodyFraming, Codec } from "../codec/types.js";
import { RESPONSE_ERROR_HINT } from "./explain.js";
import { latin1, type SectionBuilder, type StreamInspector } from "./listing.js";
import { framingText, headerLines, INSPECT_HEAD_LIMIT, messageInspector, type HeadSyntax, type ParsedHead } from "./messages.js";
import { httpResponseHead } from "./http.js";
import { FramingError } from "./problem.js";

const REQUEST_HINT = "The app reads the variables wrong or refuses the request; edgepass never sends this, so another client wrote these bytes.";

function bodyOf(vars: Array<[string, string]>): BodyFraming {
  const cl = vars.find(([n]) => n === "CONTENT_LENGTH")?.[1];
  if (cl === undefined || cl === "") return { kind: "none" };
  if (!/^\d{1,15}$/.test(cl)) throw new FramingError("CGI_BAD_CONTENT_LENGTH", `CONTENT_LENGTH is "${cl}", not a decimal number`);
  return Number(cl) === 0 ? { kind: "none" } : { kind: "length", length: Number(cl) };
}

function varsHead(title: string, vars: Array<[string, string]>, bodyOffset: number, extra: string[] = []): ParsedHead {
  const framing = bodyOf(vars);
  return { title, detail: [...extra, `${vars.length} variables:`, ...vars.map(([n, v]) => `  ${n} = ${v}`), `body: ${framingText(framing)}`], bodyOffset, framing };
}

/** SCGI 1 (python.ca/scgi/protocol.txt): `<length>:` name NUL value NUL … `,` */
export function scgiRequest(buf: Uint8Array): ParsedHead | null {
  const colon = buf.indexOf(0x3a);
  const digits = latin1(buf.subarray(0, colon < 0 ? Math.min(buf.length, 11) : colon));
  if (!/^\d*$/.test(digits) || digits.length > 10 || (colon >= 0 && (digits === "" || (digits.length > 1 && digits[0] === "0")))) {
    throw new FramingError("SCGI_BAD_NETSTRING", `an SCGI request starts with a netstring length ("123:"), not "${digits.slice(0, 20)}"`);
  }
  if (colon < 0) return null;
  const len = Number(digits);
  const end = colon + 1 + len;
  if (buf.length <= end) return null;
  if (buf[end] !== 0x2c) throw new FramingError("SCGI_NO_COMMA", `the netstring of ${len} bytes is not followed by "," (its length is wrong)`);
  const block = buf.subarray(colon + 1, end);
  const vars: Array<[string, string]> = [];
  for (let p = 0; p < block.length; ) {
    const n = block.indexOf(0, p);
    const v = n < 0 ? -1 : block.indexOf(0, n + 1);
    if (v < 0) throw new FramingError("SCGI_BAD_HEADERS", `the header block does not end in NUL after a name and a value (at byte ${p} of ${block.length})`);
    vars.push([latin1(block.subarray(p, n)), latin1(block.subarray(n + 1, v))]);
    p = v + 1;
  }
  if (vars[0]?.[0] !== "CONTENT_LENGTH") throw new FramingError("SCGI_CONTENT_LENGTH_FIRST", `the first SCGI header must be CONTENT_LENGTH, here it is "${vars[0]?.[0] ?? "(none)"}"`);
  if (!vars.some(([n, v]) => n === "SCGI" && v === "1")) throw new FramingError("SCGI_NO_VERSION", 'the headers lack "SCGI" = "1", which SCGI requires');
  return varsHead(`SCGI request: netstring of ${len} bytes`, vars, end + 1);
}

// uWSGI's request plugins by modifier1 (uwsgi-docs Protocol.html); the app must load the plugin.
const MODIFIER1: Record<number, string> = { 0: "WSGI", 5: "PSGI", 6: "Lua", 7: "Rack", 9: "CGI", 14: "PHP" };

/** uwsgi packet: modifier1 (u8), datasize (u16 LE), modifier2 (u8), then datasize bytes of
 *  vars, each a u16 LE length and bytes, name then value. */
export function uwsgiRequest(buf: Uint8Array): ParsedHead | null {
  if (buf.length < 4) return null;
  const size = buf[1] | (buf[2] << 8);
  if (buf.length < 4 + size) return null;
  const vars: Array<[string, string]> = [];
  const block = buf.subarray(4, 4 + size);
  const str = (p: number): [string, number] => {
    if (p + 2 > block.length) throw new FramingError("UWSGI_BAD_VARS", `a length field runs past the ${size}-byte vars block (at byte ${p})`);
    const n = block[p] | (block[p + 1] << 8);
    if (p + 2 + n > block.length) throw new FramingError("UWSGI_BAD_VARS", `a ${n}-byte string at byte ${p} runs past the ${size}-byte vars block`);
    return [latin1(block.subarray(p + 2, p + 2 + n)), p + 2 + n];
  };
  for (let p = 0; p < block.length; ) {
    const [name, q] = str(p);
    const [value, r] = str(q);
    vars.push([name, value]);
    p = r;
  }
  const plugin = MODIFIER1[buf[0]] ? ` (${MODIFIER1[buf[0]]})` : "";
  return varsHead(`uwsgi request: modifier1=${buf[0]}${plugin} datasize=${size} modifier2=${buf[3]}`, vars, 4 + size);
}

/** The app's answer on SCGI/uwsgi: an HTTP status line (uWSGI) or a CGI head. */
export function cgiOrHttpResponse(codec: Codec, buf: Uint8Array): ParsedHead | null {
  const start = latin1(buf.subarray(0, 5));
  if (start === "HTTP/".slice(0, start.length) && buf.length < 5) return null;
  if (start === "HTTP/") return httpResponseHead(codec, buf, "GET");
  const h = codec.parseCgiHead(buf, INSPECT_HEAD_LIMIT);
  if (!h) return null;
  const cl = h.headers.find(([n]) => n.toLowerCase() === "content-length")?.[1];
  const framing: BodyFraming = cl !== undefined && /^\d{1,15}$/.test(cl) ? { kind: "length", length: Number(cl) } : { kind: "close" };
  return { title: `CGI head: status ${h.status}${h.reason ? ` ${h.reason}` : ""}`, detail: [...headerLines(h.headers), `body: ${framingText(framing)}`], bodyOffset: h.bodyOffset, framing };
}

export function cgiStreamInspector(codec: Codec, out: SectionBuilder, protocol: "scgi" | "uwsgi"): StreamInspector {
  const name = protocol === "scgi" ? "SCGI" : "uwsgi";
  const request: HeadSyntax = { parse: protocol === "scgi" ? scgiRequest : uwsgiRequest, expected: name, errorHint: () => REQUEST_HINT };
  const response: HeadSyntax = { parse: (buf) => cgiOrHttpResponse(codec, buf), expected: `${name} response`, errorHint: () => RESPONSE_ERROR_HINT };
  return messageInspector(codec, out, request, response);
}
