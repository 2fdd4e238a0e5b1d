// Which protocol, and which side, a stream's first bytes are from. Used when the user did not
// say (--protocol, --as); a wrong guess only costs a listing of framing errors.

import type { Dir } from "./listing.js";
import { latin1 } from "./listing.js";

export type Protocol = "fastcgi" | "scgi" | "uwsgi" | "http";
export const PROTOCOLS: Protocol[] = ["fastcgi", "scgi", "uwsgi", "http"];

const FCGI_FROM_GATEWAY = [1, 2, 4, 5, 8, 9]; // BEGIN, ABORT, PARAMS, STDIN, DATA, GET_VALUES
const FCGI_FROM_APP = [3, 6, 7, 10, 11]; // END_REQUEST, STDOUT, STDERR, GET_VALUES_RESULT, UNKNOWN_TYPE

export function classify(b: Uint8Array): { protocol: Protocol; dir: Dir } | undefined {
  const text = latin1(b.subarray(0, 64));
  if (b[0] === 1 && FCGI_FROM_GATEWAY.includes(b[1])) return { protocol: "fastcgi", dir: "request" };
  if (b[0] === 1 && FCGI_FROM_APP.includes(b[1])) return { protocol: "fastcgi", dir: "response" };
  if (/^HTTP\/\d/.test(text)) return { protocol: "http", dir: "response" };
  if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]+ HTTP\//.test(text)) return { protocol: "http", dir: "request" };
  if (/^[1-9]\d*:CONTENT_LENGTH\0/.test(text)) return { protocol: "scgi", dir: "request" };
  if (looksUwsgi(b)) return { protocol: "uwsgi", dir: "request" };
  if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(text)) return { protocol: "scgi", dir: "response" };
  if (/^\d+:/.test(text)) return { protocol: "scgi", dir: "request" };
  return undefined;
}

/** A uwsgi packet header whose first variable name is printable. */
function looksUwsgi(b: Uint8Array): boolean {
  if (b.length < 8 || b[3] > 15) return false;
  const size = b[1] | (b[2] << 8);
  const name = b[4] | (b[5] << 8);
  if (size < 4 || name === 0 || name > 64 || 6 + name > Math.min(b.length, 4 + size)) return false;
  return b.subarray(6, 6 + name).every((c) => c > 0x20 && c < 0x7f);
}
