// The header fields of an answer as the pipeline carries and changes them (ClientResponse):
// what it reads of a fetch Headers, which either one is. An origin's answer gets a
// ResponseFields: a fetch Headers checks each field again that the codec's parsers already
// checked, and sorts every field anew each time it is read through; in `edgepass serve` that
// was a tenth of a small request's CPU. Each host turns it into its own form when it writes
// (the Worker: a Headers for its Response; serve: the head's lines).

/** What the pipeline does with an answer's fields; a fetch Headers has all of it (and both
 *  have getSetCookie, which the platform's types do not all declare). */
export interface Fields extends Iterable<[string, string]> {
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
}

/** RFC 9110 token: a field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a value may not hold once its outer whitespace is gone: NUL, CR, LF (Fetch: a header
 *  value), or a character that is not one byte (a fetch Headers takes ByteStrings only). */
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;
const OUTER_SPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** Fields as a fetch Headers holds them: names in lower case, a value trimmed of outer
 *  whitespace and refused (TypeError) with a NUL, CR, LF or a character above U+00FF, as is a
 *  name that is not a token,
 *  so nothing added later (add_header, an X-Accel redirect) can split the head; repeats read
 *  as one value joined by ", ", except Set-Cookie, which stays one field per cookie. Fields
 *  come out in the order their names first arrived (the origin's), not sorted. */
export class ResponseFields implements Fields {
  /** Each name's value, repeats joined; Set-Cookie's are in `cookies` too, one by one. */
  private readonly map = new Map<string, string>();
  private cookies: string[] | null = null;

  append(name: string, value: string): void {
    const k = fieldName(name);
    const v = checkValue(name, value);
    const had = this.map.get(k);
    this.map.set(k, had === undefined ? v : `${had}, ${v}`);
    if (k === "set-cookie") (this.cookies ??= []).push(v);
  }

  set(name: string, value: string): void {
    const k = fieldName(name);
    const v = checkValue(name, value);
    // A name already here keeps its place: Map.set changes the value where it is.
    this.map.set(k, v);
    if (k === "set-cookie") this.cookies = [v];
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  delete(name: string): void {
    const k = name.toLowerCase();
    this.map.delete(k);
    if (k === "set-cookie") this.cookies = null;
  }

  getSetCookie(): string[] {
    return this.cookies?.slice() ?? [];
  }

  /** Each field as a head's line, "name: value", onto `out`, but those named in `skip`: what a
   *  host that writes the head itself wants, without a pair made per field. */
  headLines(skip: ReadonlySet<string>, out: string[]): void {
    for (const [k, v] of this.map) {
      if (skip.has(k)) continue;
      if (k === "set-cookie" && this.cookies!.length > 1) for (const c of this.cookies!) out.push(`${k}: ${c}`);
      else out.push(`${k}: ${v}`);
    }
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, v] of this.map) {
      if (k === "set-cookie" && this.cookies!.length > 1) for (const c of this.cookies!) out.push([k, c]);
      else out.push([k, v]);
    }
    return out[Symbol.iterator]();
  }
}

/** Names already checked, as given, to their lower case: an origin sends the same few. */
const NAMES = new Map<string, string>();
const NAMES_KEPT = 512;

/** A field name's lower case, checked (a TypeError for a name that is no token). */
export function fieldName(name: string): string {
  const known = NAMES.get(name);
  if (known !== undefined) return known;
  if (!TOKEN.test(name)) throw new TypeError(`"${name}" is an invalid header name.`);
  const k = name.toLowerCase();
  if (NAMES.size < NAMES_KEPT) NAMES.set(name, k);
  return k;
}

function checkValue(name: string, value: string): string {
  // Most values have no outer whitespace to strip: one look at each end instead of a replace.
  const v = value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32 ? value.replace(OUTER_SPACE, "") : value;
  if (BAD_VALUE.test(v)) throw new TypeError(`The value of header "${name}" is invalid: it holds a NUL, CR, LF or a character above U+00FF.`);
  return v;
}

/** Fields set from `pairs`, in order (an answer of the gateway's own). */
export function fieldsOf(pairs: ReadonlyArray<readonly [string, string]>): ResponseFields {
  const f = new ResponseFields();
  for (const [k, v] of pairs) f.set(k, v);
  return f;
}

/** The fields as a platform Response takes them: a Headers as it is, ours as a list of
 *  pairs (one call into the platform, not one per field). */
export function headersInit(f: Fields): Headers | Array<[string, string]> {
  return f instanceof Headers ? f : [...f];
}
