// Generators for the CGI side: response heads an app writes (with the status and fields a
// parser must report), and request parameter inputs with an independent model of the block
// the builder must produce (RFC 3875 4.1.18 plus the rules in SECURITY.md).

import fc from "fast-check";
import { fieldsArb, tokenArb, valueArb } from "./gen-http";

export interface CgiHeadCase {
  text: string;
  status: number;
  reason: string;
  fields: Array<[string, string]>;
  bodyOffset: number;
}

export const cgiHeadArb: fc.Arbitrary<CgiHeadCase> = fc
  .record({
    status: fc.option(fc.tuple(fc.integer({ min: 100, max: 599 }), fc.constantFrom("", "OK", "Not Found", "I'm a teapot"))),
    statusAt: fc.nat(),
    fields: fieldsArb,
    lf: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    body: fc.string({ maxLength: 20 }),
  })
  .map(({ status, statusAt, fields, lf, body }) => {
    const lines = fields.map(([n, v]) => `${n}: ${v}`);
    if (status) lines.splice(statusAt % (lines.length + 1), 0, `Status: ${status[0]}${status[1] ? " " + status[1] : ""}`);
    const eol = (i: number) => (lf[i % lf.length] ? "\n" : "\r\n");
    const head = lines.map((l, i) => l + eol(i)).join("") + eol(lines.length);
    return {
      text: head + body,
      status: status ? status[0] : 200,
      reason: status ? status[1] : "",
      fields,
      bodyOffset: head.length,
    };
  });

// --- parameters ------------------------------------------------------------------------------

export type Format = "fastcgi" | "scgi" | "uwsgi";

export interface ParamsCase {
  owned: Array<[string, string]>;
  /** Header names and values are ByteStrings (chars U+0000..U+00FF), as the fetch API gives. */
  headers: Array<[string, string]>;
  format: Format;
  underscores: boolean;
}

const headerNameArb = fc.oneof(
  { weight: 6, arbitrary: tokenArb(10) },
  { weight: 3, arbitrary: fc.constantFrom("Cookie", "cookie", "Proxy", "X-Foo", "x_foo", "X_FOO", "Content-Length", "content-type", "Host", "Accept") },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 6 }) },
);
const headerValueArb = fc.oneof(
  { weight: 8, arbitrary: valueArb },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65_530, max: 65_540 }).map((n) => "v".repeat(n)) },
);
const ownedNameArb = fc.oneof(
  fc.constantFrom("SCRIPT_FILENAME", "REQUEST_METHOD", "HTTP_HOST", "HTTP_X_FOO", "HTTP_COOKIE", "CONTENT_LENGTH", "", "X"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);

export const paramsArb: fc.Arbitrary<ParamsCase> = fc.record({
  owned: fc.array(fc.tuple(ownedNameArb, fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 6 }))), { maxLength: 6 }),
  headers: fc.array(fc.tuple(headerNameArb, headerValueArb), { maxLength: 8 }),
  format: fc.constantFrom("fastcgi" as const, "scgi" as const, "uwsgi" as const),
  underscores: fc.boolean(),
});

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hasBreak = (b: Uint8Array) => b.some((x) => x === 0x0d || x === 0x0a || x === 0);
const TCHAR = new Set(Array.from("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", (c) => c.charCodeAt(0)));
/** RFC 3875 4.1.18: the field name upper-cased, "-" as "_". */
const cgiName = (b: Uint8Array) => Array.from(b, (x) => String.fromCharCode(x === 0x2d ? 0x5f : x >= 0x61 && x <= 0x7a ? x - 32 : x)).join("");
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** What the builder must produce for `c`: pairs (names and values as latin-1 strings of their
 *  bytes) in output order, or the error code. */
export function paramsModel(c: ParamsCase): { pairs: Array<[string, string]> } | { error: string } {
  if (c.headers.length > 1000) return { error: "CGI_TOO_MANY_HEADERS" };
  const owned = c.owned.map(([n, v]) => [utf8(n), utf8(v)]);
  const headers = c.headers.map(([n, v]) => [bytes(n), bytes(v)]);
  for (const [n, v] of owned) {
    if (n.length === 0) return { error: "CGI_PARAM_NAME_EMPTY" };
    if (hasBreak(n) || hasBreak(v)) return { error: "CGI_PARAM_CONTROL_CHAR" };
  }
  for (const [n, v] of headers) {
    if (hasBreak(n) || hasBreak(v)) return { error: "CGI_PARAM_CONTROL_CHAR" };
    if (n.length === 0 || !n.every((x) => TCHAR.has(x))) return { error: "CGI_HEADER_NAME_INVALID" };
  }
  const pairs: Array<[string, string]> = [];
  const ownedNames = new Set<string>();
  for (const [n, v] of owned) {
    if (ownedNames.has(latin1(n))) continue; // the first owned occurrence wins
    ownedNames.add(latin1(n));
    pairs.push([latin1(n), latin1(v)]);
  }
  const dropped = (n: Uint8Array) => !c.underscores && n.includes(0x5f);
  const emitted = new Set<string>();
  headers.forEach(([n], i) => {
    const name = cgiName(n);
    if (dropped(n) || ["PROXY", "CONTENT_LENGTH", "CONTENT_TYPE"].includes(name) || ownedNames.has("HTTP_" + name)) return;
    if (emitted.has(name)) return;
    emitted.add(name);
    const values = headers.slice(i).filter(([m]) => cgiName(m) === name && !dropped(m)).map(([, v]) => latin1(v));
    pairs.push(["HTTP_" + name, values.join(name === "COOKIE" ? "; " : ", ")]);
  });
  if (c.format === "uwsgi" && pairs.some(([n, v]) => n.length > 0xffff || v.length > 0xffff)) return { error: "CGI_PARAM_TOO_LONG" };
  return { pairs };
}
