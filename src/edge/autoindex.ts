// autoindex, nginx's: a directory with no index file answered with the list of what is in it,
// byte for byte as nginx writes it (HTML, JSON or XML), so scripts that read nginx's listings
// read ours. nginx's order: directories first, then by name (bytes); hidden (dot) files left
// out, and here also whatever [assets] exclude keeps from being served (*.php by default).
import { MONTHS, two } from "../core/log-format.js";
import { fieldsOf } from "../core/response-fields.js";
import { ownAnswer, type ClientResponse } from "../core/respond.js";
import type { DirEntry } from "./file-store.js";
import { escapeBytes } from "./uri.js";

export interface AutoindexOptions {
  format: "html" | "json" | "xml";
  /** autoindex_exact_size (HTML only), default true: sizes in bytes, else rounded to K, M, G. */
  exactSize: boolean;
  /** autoindex_localtime (HTML only), default false: times in GMT, else the host's zone. */
  localtime: boolean;
}

/** How many characters of a name the HTML list shows; a longer one is cut to 47 and "..>". */
const NAME_LEN = 50;
const utf8 = new TextEncoder();

/** The listing of `uri` (decoded, ending in "/"), whose entries are `entries`. */
export function autoindexAnswer(uri: string, entries: readonly DirEntry[], o: AutoindexOptions, head: boolean): ClientResponse {
  const sorted = inNginxOrder(entries.filter((e) => !e.name.startsWith(".")));
  const [type, text] =
    o.format === "json" ? ["application/json", json(sorted)] : o.format === "xml" ? ["text/xml; charset=utf-8", xml(sorted)] : ["text/html; charset=utf-8", html(uri, sorted, o)];
  const res = ownAnswer(200, fieldsOf([["content-type", type]]), text);
  if (head) res.body = null;
  return res;
}

/** Directories first, then by the names' bytes (each name encoded once, not per comparison). */
function inNginxOrder(entries: DirEntry[]): DirEntry[] {
  const keyed = entries.map((e) => ({ e, dir: e.type === "directory", bytes: utf8.encode(e.name) }));
  keyed.sort((a, b) => {
    if (a.dir !== b.dir) return a.dir ? -1 : 1;
    const [x, y] = [a.bytes, b.bytes];
    for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
  return keyed.map((k) => k.e);
}

function html(uri: string, entries: readonly DirEntry[], o: AutoindexOptions): string {
  const out = [`<html>\r\n<head><title>Index of ${escapeHtml(uri)}</title></head>\r\n<body>\r\n<h1>Index of ${escapeHtml(uri)}</h1><hr><pre><a href="../">../</a>\r\n`];
  for (const e of entries) {
    const dir = e.type === "directory";
    const chars = [...e.name];
    let line = `<a href="${escapeUriComponent(e.name)}${dir ? "/" : ""}">`;
    if (chars.length > NAME_LEN) {
      line += `${escapeHtml(chars.slice(0, NAME_LEN - 3).join(""))}..&gt;</a>`;
    } else {
      const shown = chars.length + (dir && chars.length < NAME_LEN ? 1 : 0);
      line += `${escapeHtml(e.name)}${dir && chars.length < NAME_LEN ? "/" : ""}</a>${" ".repeat(NAME_LEN - shown)}`;
    }
    out.push(`${line} ${date(e.mtime, o.localtime)} ${size(e, o.exactSize)}\r\n`);
  }
  out.push("</pre><hr></body>\r\n</html>\r\n");
  return out.join("");
}

function date(mtime: Date, localtime: boolean): string {
  const t = localtime ? new Date(mtime.getTime() - mtime.getTimezoneOffset() * 60_000) : mtime;
  return `${two(t.getUTCDate())}-${MONTHS[t.getUTCMonth()]}-${t.getUTCFullYear()} ${two(t.getUTCHours())}:${two(t.getUTCMinutes())}`;
}

function size(e: DirEntry, exact: boolean): string {
  if (exact) return e.type === "directory" ? `${" ".repeat(18)}-` : String(e.size).padStart(19);
  if (e.type === "directory") return "      -";
  const n = e.size;
  // nginx rounds half up within each scale, and shows up to 9999 bytes as they are.
  const scaled = (unit: number, letter: string) => `${String(Math.floor(n / unit) + (n % unit > unit / 2 - 1 ? 1 : 0)).padStart(6)}${letter}`;
  if (n > 1024 ** 3 - 1) return scaled(1024 ** 3, "G");
  if (n > 1024 ** 2 - 1) return scaled(1024 ** 2, "M");
  if (n > 9999) return scaled(1024, "K");
  return ` ${String(n).padStart(6)}`;
}

function json(entries: readonly DirEntry[]): string {
  const items = entries.map(
    (e) => `\r\n{ "name":${JSON.stringify(e.name)}, "type":"${e.type}", "mtime":"${e.mtime.toUTCString()}"${e.type === "file" ? `, "size":${e.size}` : ""} }`,
  );
  return `[${items.join(",")}\r\n]`;
}

function xml(entries: readonly DirEntry[]): string {
  const items = entries.map((e) => {
    const mtime = e.mtime.toISOString().replace(/\.\d{3}Z$/, "Z");
    return `<${e.type} mtime="${mtime}"${e.type === "file" ? ` size="${e.size}"` : ""}>${escapeHtml(e.name)}</${e.type}>\r\n`;
  });
  return `<?xml version="1.0"?>\r\n<list>\r\n${items.join("")}</list>\r\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : "&quot;"));
}

/** nginx's NGX_ESCAPE_URI_COMPONENT: every byte but letters, digits and -._~ */
const URI_UNRESERVED = /[A-Za-z0-9\-._~]/;
const escapeUriComponent = (s: string): string => escapeBytes(s, /[^A-Za-z0-9\-._~]/, (b) => !URI_UNRESERVED.test(String.fromCharCode(b)), "%");
