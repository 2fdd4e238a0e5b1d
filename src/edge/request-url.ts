// The URL of a request as the pipeline reads it: the parts of a WHATWG URL it uses. A server
// that parses its own request heads makes one per request; Node's `new URL()` costs about as
// much as all of a small request's routing, and each getter cuts a new string from the href.
// For the targets and Host values nearly every request carries, the WHATWG parser changes
// nothing: the path and query come out as they went in. Those are split here, by hand; any
// target or host the parser could rewrite (dot segments, a backslash, characters it
// percent-encodes, upper case, numeric hosts other than a plain dotted quad, punycode, a
// default or odd port) goes to `new URL()`. A property test holds the two to the same result.

/** What the pipeline reads of a request's URL; a WHATWG URL is one. */
export interface RequestUrl {
  readonly href: string;
  readonly protocol: string;
  readonly host: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly username: string;
  readonly password: string;
}

/** A URL whose parts were taken as they are (see requestUrl). */
class PlainUrl implements RequestUrl {
  readonly username = "";
  readonly password = "";
  constructor(
    readonly protocol: string,
    readonly host: string,
    readonly hostname: string,
    readonly port: string,
    readonly pathname: string,
    readonly search: string,
    private readonly target: string,
  ) {}

  /** The target as it came: an empty query keeps its "?" here, as the parser keeps it. */
  get href(): string {
    return `${this.protocol}//${this.host}${this.target}`;
  }
}

/** The URL of an origin-form `target` (it starts with "/") sent to `host` over `scheme`:
 *  what `new URL(`${scheme}://${host}${target}`)` gives, made without it where it would change
 *  nothing. Throws as `new URL()` does for a host it refuses. */
export function requestUrl(scheme: "http" | "https", host: string, target: string): RequestUrl {
  const q = plainTarget(target);
  const end = q >= 0 ? plainHostEnd(host, scheme === "https" ? "443" : "80") : -1;
  if (end < 0) return new URL(`${scheme}://${host}${target}`);
  const hasPort = end < host.length;
  return new PlainUrl(
    `${scheme}:`,
    host,
    hasPort ? host.slice(0, end) : host,
    hasPort ? host.slice(end + 1) : "",
    q === target.length ? target : target.slice(0, q),
    q < target.length - 1 ? target.slice(q) : "",
    target,
  );
}

/** Where the query of `target` starts (its "?"; the length when there is none), or -1 when
 *  the WHATWG parser could rewrite it. In the path it percent-encodes C0 controls, space,
 *  `"` `#` `<` `>` `` ` `` `{` `}` (and `^` in newer versions of the standard: left to it
 *  too), turns `\` into `/` and resolves "." and ".." segments (also written %2e); in the
 *  query of an http(s) URL it encodes `'` too. A segment that starts with "." or "%" is left
 *  to it whole. */
function plainTarget(target: string): number {
  const n = target.length;
  let i = 0;
  for (; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f) break; // ?
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e || c === 0x5c || c === 0x5e || c === 0x60 || c === 0x7b || c === 0x7d) return -1;
    if (c === 0x2f && i + 1 < n) {
      const next = target.charCodeAt(i + 1);
      if (next === 0x2e || next === 0x25) return -1; // "/." or "/%"
    }
  }
  for (let j = i + 1; j < n; j++) {
    const c = target.charCodeAt(j);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x27 || c === 0x3c || c === 0x3e) return -1;
  }
  return i;
}

/** Where the host name of a Host value ends (its ":" or its length), when the WHATWG parser
 *  keeps the value as it is: lower-case labels of letters, digits and "-" (not punycode, none
 *  empty), or a dotted quad of plain decimal numbers, and a port of 1-5 digits without a
 *  leading zero, up to 65535 and not the scheme's default (which it drops). -1 for anything
 *  else. */
function plainHostEnd(host: string, defaultPort: string): number {
  const colon = host.indexOf(":");
  const end = colon < 0 ? host.length : colon;
  if (colon >= 0 && !plainPort(host, colon + 1, defaultPort)) return -1;
  if (end === 0) return -1;
  let labelStart = 0;
  // Of the label being read: its digits' value while it has nothing else (else -1).
  let value = 0;
  let labels = 0;
  let quad = true;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (i === labelStart || host.startsWith("xn--", labelStart)) return -1;
      // A number of more than one digit with a leading zero is octal to the parser.
      if (value < 0 || value > 255 || (host.charCodeAt(labelStart) === 0x30 && i - labelStart > 1)) quad = false;
      labels++;
      if (i < end) {
        labelStart = i + 1;
        value = 0;
      }
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      if (value >= 0) value = value * 10 + (c - 0x30);
    } else if ((c >= 0x61 && c <= 0x7a) || c === 0x2d) value = -1;
    else return -1;
  }
  // A last label that is a number ("0x" and hex digits counts) makes the parser read the whole
  // name as an IPv4 address, which it rewrites unless it is four plain numbers up to 255.
  if (value >= 0 ? !(quad && labels === 4) : host.startsWith("0x", labelStart)) return -1;
  return end;
}

/** `host` from `from` on: 1-5 digits, no leading zero, up to 65535, not the scheme's default. */
function plainPort(host: string, from: number, defaultPort: string): boolean {
  const n = host.length - from;
  if (n === 0 || n > 5 || host.charCodeAt(from) === 0x30 || (n === defaultPort.length && host.endsWith(defaultPort))) return false;
  let v = 0;
  for (let i = from; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    v = v * 10 + (c - 0x30);
  }
  return v <= 65535;
}
