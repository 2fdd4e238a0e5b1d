// Content codings between origin and client. The origin's encoded body passes through byte
// for byte when the client accepts its coding; when it does not, the body is decoded (nginx's
// `gunzip on`) for the codings every host can decode (gzip, deflate), and any other coding
// passes with its Content-Encoding, so a client never gets encoded bytes without the header.

/** Is `coding` acceptable to a client that sent `acceptEncoding` (RFC 9110 12.5.3)? A request
 *  without the field is treated as accepting none, as nginx's gzip and gunzip modules do: a
 *  client that says nothing (curl without --compressed, many scripts) cannot be assumed to
 *  decode. "x-gzip" is "gzip" (RFC 9110 8.4.1.3); q=0 refuses; "*" stands for the rest. */
export function acceptsCoding(acceptEncoding: string | null | undefined, coding: string): boolean {
  return codingQuality(acceptEncoding, coding) > 0;
}

/** The q-value the client gives `coding` (0: refused, or not named and no "*"). */
export function codingQuality(acceptEncoding: string | null | undefined, coding: string): number {
  if (!acceptEncoding) return 0;
  const want = canonical(coding);
  let star: number | null = null;
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.split(";");
    const c = canonical(name.trim());
    if (!c) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Math.min(1, Number(m[1]) || 0);
    }
    if (c === want) return q;
    if (c === "*") star = q;
  }
  return star ?? 0;
}

const canonical = (c: string): string => {
  const l = c.trim().toLowerCase();
  return l === "x-gzip" ? "gzip" : l;
};

/** The DecompressionStream format for a coding, or null when the host cannot decode it. */
export function decoderFor(coding: string): "gzip" | "deflate" | null {
  const c = canonical(coding);
  return c === "gzip" ? "gzip" : c === "deflate" ? "deflate" : null;
}

/** The single coding of a Content-Encoding value, "" for none/identity, or null when it lists
 *  several (stacked codings are passed through untouched). */
export function contentCoding(value: string | null): string | null {
  if (value === null) return "";
  const parts = value
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p && p !== "identity");
  if (parts.length === 0) return "";
  return parts.length === 1 ? parts[0] : null;
}
