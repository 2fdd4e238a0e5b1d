// The request line in nginx's text formats ([gateway] log = "combined", or a template of nginx
// variables, as log_format): what log readers built for nginx (fail2ban, GoAccess, AWStats)
// read without change. A template is read into pieces once; each line only joins them.
import type { RequestRecord } from "./access-log.js";
import { templatePieces, variableReader, type RequestVars } from "../edge/variables.js";
import { plain } from "./log.js";

/** nginx's predefined format. */
export const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

type Reader = (r: RequestRecord, v: RequestVars) => string;

const seconds = (ms: number | undefined): string => (ms === undefined ? "" : (ms / 1000).toFixed(3));

/** The variables known only once the request is answered (nginx's log-time ones). */
export const LOG_VARIABLES: Readonly<Record<string, Reader>> = {
  status: (r) => String(r.status ?? 0),
  body_bytes_sent: (r) => String(r.bytes_out),
  request_time: (r) => seconds(r.total_ms),
  request: (r, v) => (r.method === "-" ? "" : `${r.method} ${v.requestUri} ${v.protocol ?? "HTTP/1.1"}`),
  request_id: (r) => r.request_id,
  time_local: () => timeLocal(),
  time_iso8601: () => timeIso(),
  msec: () => (Date.now() / 1000).toFixed(3),
  upstream_addr: (r) => r.server ?? "",
  upstream_connect_time: (r) => seconds(r.connect_ms),
  upstream_header_time: (r) => seconds(r.first_byte_ms),
  // Where the origin answered: its status, and the time to the end of its answer's body (from
  // the request's arrival: the routing before the origin is asked takes microseconds), read
  // ahead of a slow client or, where it was not, with the client's last byte.
  upstream_status: (r) => (r.from === "origin" && r.status !== undefined ? String(r.status) : ""),
  upstream_response_time: (r) => (r.from === "origin" ? seconds(r.upstream_ms ?? r.total_ms) : ""),
};

/** A line's text for `format` ("combined" or a template), `vars` the request's variables
 *  (absent for a head that could not be read); `utf8`: the fields' text was decoded from
 *  UTF-8, else each character is a byte the client sent. */
export function textLine(format: string, r: RequestRecord, vars: RequestVars | undefined, utf8 = false): string {
  let pieces = compiled.get(format);
  if (pieces === undefined) {
    if (compiled.size >= 64) compiled.clear();
    compiled.set(format, (pieces = compile(format === "combined" ? COMBINED : format)));
  }
  const v = vars ?? { uri: r.path, args: "", requestUri: r.path, host: "", scheme: "", method: r.method, serverName: "", remoteAddr: r.remote_addr };
  let out = "";
  for (const p of pieces) out += typeof p === "string" ? p : escaped(p(r, v), utf8);
  return out;
}

const compiled = new Map<string, Array<string | Reader>>();

function compile(template: string): Array<string | Reader> {
  // The config refuses unknown names; one here (or a capture's $1) stays text.
  return templatePieces<Reader>(template, (name) => {
    if (Object.hasOwn(LOG_VARIABLES, name)) return LOG_VARIABLES[name];
    const request = variableReader(name);
    return request && ((_r, v) => request(v));
  });
}

/** As nginx's default escaping: an empty value is "-"; `"`, `\`, control characters and
 *  bytes past ASCII become \xHH, so a value cannot end a quoted field or start a line of its
 *  own. The bytes are the client's: a character past U+00FF, or any past ASCII in `utf8`
 *  text, is its UTF-8 bytes. */
function escaped(s: string, utf8: boolean): string {
  if (s === "") return "-";
  if (plain(s)) return s;
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += ch;
    else for (const b of c <= 0xff && !utf8 ? [c] : encoder.encode(ch)) out += `\\x${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
const encoder = new TextEncoder();

/** Month names and two-digit numbers as nginx writes dates (here and in autoindex's lists). */
export const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
export const two = (n: number) => String(n).padStart(2, "0");
/** The process's offset from UTC as nginx writes it: "+0100", or "+01:00" with `colon`. */
function offset(d: Date, colon: boolean): string {
  const m = -d.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m < 0 ? "-" : "+"}${two(Math.floor(a / 60))}${colon ? ":" : ""}${two(a % 60)}`;
}

/** A text that changes once a second, made once for each second. */
function perSecond(make: (d: Date) => string): () => string {
  let at = -1;
  let text = "";
  return () => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== at) [text, at] = [make(new Date(now * 1000)), now];
    return text;
  };
}
const timeLocal = perSecond((d) => `${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${offset(d, false)}`);
const timeIso = perSecond((d) => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}${offset(d, true)}`);
