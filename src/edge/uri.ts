// A decoded path back to a request-target path: each segment percent-encoded where RFC 3986
// requires ("@" and ":" may stay, as pchar allows).
export function encodePath(path: string): string {
  return path
    .split("/")
    .map((s) => encodeURIComponent(s).replace(/%40/g, "@").replace(/%3A/gi, ":"))
    .join("/");
}

const encoder = new TextEncoder();

/** `s` with each UTF-8 byte that `escaped` picks written as `mark` and two upper-case hex
 *  digits ("%20" in a URL, "\C3" in an RFC 2253 name). `anyEscaped` tells whether any
 *  character needs it, so most strings come back at once. */
export function escapeBytes(s: string, anyEscaped: RegExp, escaped: (byte: number) => boolean, mark: string): string {
  if (!anyEscaped.test(s)) return s;
  let out = "";
  for (const b of encoder.encode(s)) out += escaped(b) ? `${mark}${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  return out;
}
