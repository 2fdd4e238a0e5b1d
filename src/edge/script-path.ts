// From the raw request path to nginx's $uri, and from $uri to SCRIPT_NAME / PATH_INFO /
// SCRIPT_FILENAME. Both steps refuse (400) rather than guess: a path an origin could read
// differently from us is how upload-to-RCE tricks work (CVE-2019-11043, the cgi.fix_pathinfo
// upload trick, Caddy CVE-2026-27590).
import type { RouteConfig } from "../config/types.js";

export const PathErrors = {
  /** The path does not start with "/" (e.g. "*" or an absolute URI the caller did not reduce). */
  NOT_ABSOLUTE: "PATH_NOT_ABSOLUTE",
  /** A "%" not followed by two hex digits. */
  BAD_ENCODING: "PATH_BAD_ENCODING",
  /** The decoded bytes are not UTF-8 (including overlong forms such as %C0%AE for "."). */
  BAD_UTF8: "PATH_BAD_UTF8",
  /** A byte 0x00-0x1F or 0x7F, raw or percent-encoded. */
  CONTROL_BYTE: "PATH_CONTROL_BYTE",
  /** A ".." segment that would climb above "/". */
  ESCAPES_ROOT: "PATH_ESCAPES_ROOT",
  /** A segment that only an origin's case folding or Unicode normalization turns into a script. */
  EXTENSION_LOOKALIKE: "PATH_EXTENSION_LOOKALIKE",
  /** A "\" in a path that becomes a file name: a separator on Windows origins. */
  BACKSLASH: "PATH_BACKSLASH",
} as const;

export type PathErrorCode = (typeof PathErrors)[keyof typeof PathErrors];

export interface PathError {
  error: PathErrorCode;
  message: string;
}

export interface ScriptSplit {
  /** SCRIPT_NAME: "" in app mode. */
  scriptName: string;
  /** PATH_INFO: "" or starting with "/". */
  pathInfo: string;
  /** SCRIPT_FILENAME: "" in app mode (the caller omits the param then). */
  scriptFilename: string;
  /** DOCUMENT_ROOT: "" in app mode. */
  documentRoot: string;
}

const fail = (error: PathErrorCode, message: string): PathError => ({ error, message });

/** Double-quoted, with everything outside printable ASCII spelled \u{…}: messages land in
 *  logs and error bodies, where an invisible or right-to-left character would mislead. */
function quote(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += cp >= 0x20 && cp < 0x7f && ch !== '"' && ch !== "\\" ? ch : `\\u{${cp.toString(16)}}`;
  }
  return `"${out}"`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes and normalizes a request path the way nginx builds $uri: percent-decoding, then
 * merging "//" and resolving "." and ".." (so "%2e%2e" and "%2f" act as ".." and "/", as in
 * nginx). `rawPath` is the path of the request target; anything from a "?" or "#" on is not
 * part of it and is ignored. Non-ASCII characters already present in `rawPath` are taken as
 * the characters they are (encoded as UTF-8).
 */
export function normalizePath(rawPath: string): { path: string } | PathError {
  let end = rawPath.length;
  const q = rawPath.indexOf("?");
  if (q >= 0) end = q;
  const h = rawPath.indexOf("#");
  if (h >= 0 && h < end) end = h;
  const raw = end === rawPath.length ? rawPath : rawPath.slice(0, end);
  if (alreadyNormal(raw)) return { path: raw };
  if (!raw.startsWith("/")) {
    return fail(PathErrors.NOT_ABSOLUTE, `The request path must start with "/", got ${quote(raw.slice(0, 40))}.`);
  }

  const bytes = decodeToBytes(raw);
  if ("error" in bytes) return bytes;
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return fail(PathErrors.BAD_UTF8, "The request path decodes to bytes that are not valid UTF-8.");
  }
  return resolveDotSegments(decoded);
}

/** True when decoding and resolving would give `raw` back unchanged, so most paths skip both:
 *  it starts with "/" and has only printable ASCII other than "%", and no segment is empty,
 *  "." or ".." (no "/" is followed by "/" or "."). */
function alreadyNormal(raw: string): boolean {
  if (raw.charCodeAt(0) !== 0x2f) return false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x25) return false;
    if (c === 0x2f) {
      const next = raw.charCodeAt(i + 1);
      if (next === 0x2f || next === 0x2e) return false;
    }
  }
  return true;
}

function decodeToBytes(raw: string): Uint8Array | PathError {
  const out = new Uint8Array(raw.length * 3);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) {
        return fail(
          PathErrors.BAD_ENCODING,
          `The request path has a "%" at offset ${i} that is not followed by two hex digits (${quote(raw.slice(i, i + 3))}).`,
        );
      }
      c = (hi << 4) | lo;
      i += 2;
    } else if (c >= 0x80) {
      const cp = raw.codePointAt(i)!;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        return fail(PathErrors.BAD_UTF8, "The request path contains an unpaired UTF-16 surrogate.");
      }
      if (cp > 0xffff) i++;
      n = putUtf8(out, n, cp);
      continue;
    }
    if (c < 0x20 || c === 0x7f) {
      return fail(
        PathErrors.CONTROL_BYTE,
        `The request path contains the control byte 0x${c.toString(16).padStart(2, "0")} (raw or percent-encoded); no file or route name can hold one.`,
      );
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function putUtf8(out: Uint8Array, n: number, cp: number): number {
  if (cp < 0x800) {
    out[n++] = 0xc0 | (cp >> 6);
  } else if (cp < 0x10000) {
    out[n++] = 0xe0 | (cp >> 12);
    out[n++] = 0x80 | ((cp >> 6) & 0x3f);
  } else {
    out[n++] = 0xf0 | (cp >> 18);
    out[n++] = 0x80 | ((cp >> 12) & 0x3f);
    out[n++] = 0x80 | ((cp >> 6) & 0x3f);
  }
  out[n++] = 0x80 | (cp & 0x3f);
  return n;
}

// RFC 3986 section 5.2.4 on an already-decoded path, plus nginx's merge_slashes. A trailing
// "/", "/." or "/.." leaves the result ending in "/" (it names a directory).
function resolveDotSegments(decoded: string): { path: string } | PathError {
  const segments = decoded.split("/");
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === "" || seg === ".") {
      trailingSlash = last;
    } else if (seg === "..") {
      if (out.length === 0) {
        return fail(PathErrors.ESCAPES_ROOT, `The request path climbs above "/" with "..".`);
      }
      out.pop();
      trailingSlash = last;
    } else {
      out.push(seg);
      trailingSlash = false;
    }
  }
  if (out.length === 0) return { path: "/" };
  return { path: "/" + out.join("/") + (trailingSlash ? "/" : "") };
}

/**
 * Splits a normalized path into SCRIPT_NAME and PATH_INFO for `route`.
 *
 * App mode (no root): the whole path is PATH_INFO; there is no script file.
 * Front controller (root and script): the script is route.script whatever the path.
 * With a root: the script ends at the FIRST segment that literally ends in one of
 * `route.split` (with at least one character before the extension), and PATH_INFO is the
 * rest. The match is on the path exactly as decoded: never on a lower-cased or normalized
 * copy, whose offsets need not line up with the original (CVE-2026-27590). Instead, every
 * segment up to and including the script is checked for a look-alike of an extension
 * ("x.PHP", "x.ｐｈｐ", "x.php.", "x.php\u200b"…) and the request is refused, because an origin
 * on a case-insensitive or normalizing file system would execute that file.
 * When no segment is a script and the path ends in "/", `route.index` is appended, as
 * nginx's fastcgi_index does ("/a.php/" is script "/a.php" with PATH_INFO "/", not an index).
 */
export function splitScript(route: RouteConfig, path: string): ScriptSplit | PathError {
  if (route.root === undefined) {
    return { scriptName: "", pathInfo: path, scriptFilename: "", documentRoot: "" };
  }
  if (route.script !== undefined) {
    // Front controller: the request path never becomes a file name, only REQUEST_URI.
    return { scriptName: route.script, pathInfo: "", scriptFilename: joinRoot(route.root, route.script), documentRoot: route.root };
  }
  if (path.includes("\\")) {
    return fail(
      PathErrors.BACKSLASH,
      `The request path contains "\\", which a Windows origin reads as a directory separator; refusing to build a file name from it.`,
    );
  }

  const split = route.split;
  let scriptEnd = -1; // offset just past the script segment
  let start = 1;
  while (start <= path.length) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const seg = path.slice(start, end);
    if (seg !== "" && split.length > 0) {
      if (endsInExtension(seg, split)) {
        scriptEnd = end;
        break;
      }
      const lookalike = lookalikeOf(seg, split);
      if (lookalike !== null) {
        return fail(
          PathErrors.EXTENSION_LOOKALIKE,
          `The path segment ${quote(seg)} is not a "${lookalike}" file, but case folding or Unicode ` +
            `normalization on the origin could turn it into one; refusing it.`,
        );
      }
    }
    start = end + 1;
  }

  let scriptName: string;
  let pathInfo: string;
  if (scriptEnd >= 0) {
    scriptName = path.slice(0, scriptEnd);
    pathInfo = path.slice(scriptEnd);
  } else {
    scriptName = path.endsWith("/") ? path + (route.index ?? "index.php") : path;
    pathInfo = "";
  }
  return { scriptName, pathInfo, scriptFilename: joinRoot(route.root, scriptName), documentRoot: route.root };
}

function joinRoot(root: string, scriptName: string): string {
  // loadConfig() already trims the root; routes built by hand may not be.
  return root.replace(/\/+$/, "") + scriptName;
}

function endsInExtension(seg: string, split: readonly string[]): boolean {
  for (const ext of split) if (seg.length > ext.length && seg.endsWith(ext)) return true;
  return false;
}

/** The extension `seg` only becomes after folding, or null. Called after the literal test
 *  failed, so any hit here is a look-alike rather than the real thing. */
function lookalikeOf(seg: string, split: readonly string[]): string | null {
  const folded = foldForComparison(seg);
  for (const ext of split) {
    const e = ext.toLowerCase();
    if (folded.length > e.length && folded.endsWith(e)) return ext;
  }
  return null;
}

// Latin small capitals have no compatibility decomposition and no case mapping, so NFKC and
// lower-casing leave "x.ᴘʜᴘ" alone, yet it is "x.php" to a reader and to any matcher that
// compares letters loosely (the CVE-2026-27590 family). They are folded explicitly.
const SMALL_CAPITALS: Readonly<Record<string, string>> = {
  "\u1D00": "a", "\u0299": "b", "\u1D04": "c", "\u1D05": "d", "\u1D07": "e", "\uA730": "f",
  "\u0262": "g", "\u029C": "h", "\u026A": "i", "\u1D0A": "j", "\u1D0B": "k", "\u029F": "l",
  "\u1D0D": "m", "\u0274": "n", "\u1D0F": "o", "\u1D18": "p", "\uA7AF": "q", "\u0280": "r",
  "\uA731": "s", "\u1D1B": "t", "\u1D1C": "u", "\u1D20": "v", "\u1D21": "w", "\u028F": "y",
  "\u1D22": "z",
};
const SMALL_CAPITAL_RE = new RegExp(`[${Object.keys(SMALL_CAPITALS).join("")}]`, "g");
// Zero-width and other default-ignorable characters, and combining marks (accents).
const INVISIBLE_RE = /[\p{Default_Ignorable_Code_Point}\p{M}]/gu;
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;

/**
 * The name as the most forgiving origin file system could see it: compatibility-normalized
 * (fullwidth, superscript and letter-like forms become ASCII), lower-cased, stripped of
 * accents and invisible characters, small capitals read as letters, and with what Windows
 * ignores at the end of a name removed (trailing dots and spaces, the "::$DATA" stream).
 * Used only to detect look-alikes, never to compute offsets into the original.
 */
export function foldForComparison(name: string): string {
  let s = name;
  if (!PRINTABLE_ASCII_RE.test(s)) {
    s = s
      .normalize("NFKD")
      .toLowerCase()
      .normalize("NFKD")
      .replace(INVISIBLE_RE, "")
      .replace(SMALL_CAPITAL_RE, (c) => SMALL_CAPITALS[c]);
  }
  s = s.toLowerCase();
  for (;;) {
    const t = s.replace(/[. ]+$/, "").replace(/::\$data$/, "");
    if (t === s) return s;
    s = t;
  }
}

/** strip_prefix: "/app/x" → "/x", "/app" → "/"; a path without the prefix stays. */
export function stripPrefix(prefix: string | undefined, path: string): string {
  if (prefix === undefined) return path;
  if (path === prefix) return "/";
  return path.startsWith(prefix + "/") ? path.slice(prefix.length) : path;
}
