// autoindex, nginx's: a directory with no index file answered with the list of what is in it,
// byte for byte as nginx writes it (HTML, JSON or XML), so scripts that read nginx's listings
// read ours. nginx's order: directories first, then by name (bytes); hidden (dot) files left
// out, and here also whatever [assets] exclude keeps from being served (*.php by default).
import { fieldsOf } from "../core/response-fields.js";
import { ownAnswer, type ClientResponse } from "../core/respond.js";
import type { DirEntry } from "./file-store.js";

export interface AutoindexOptions {
  format: "html" | "json" | "xml";
  /** autoindex_exact_size (HTML only), default true: sizes in bytes, else rounded to K, M, G. */
  exactSize: boolean;
  /** autoindex_localtime (HTML only), default false: times in GMT, else the host's zone. */
  localtime: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** How many characters of a name the HTML list shows; a longer one is cut to 47 and "..>". */
const NAME_LEN = 50;
const utf8 = new TextEncoder();

/** The listing of `uri` (decoded, ending in "/"), whose entries are `entries`. */
export function autoindexAnswer(uri: string, entries: readonly DirEntry[], o: AutoindexOptions, head: boolean): ClientResponse {
  const sorted = [...entries].filter((e) => !e.name.startsWith(".")).sort(byNginxOrder);
  const [type, text] =
    o.format === "json" ? ["application/json", json(sorted)] : o.format === "xml" ? ["text/xml; charset=utf-8", xml(sorted)] : ["text/html; charset=utf-8", html(uri, sorted, o)];
  const res = ownAnswer(200, fieldsOf([["content-type", type]]), text);
  if (head) res.body = null;
  return res;
}

function byNginxOrder(a: DirEntry, b: DirEntry): number {
  if (a.type === "directory" && b.type !== "directory") return -1;
  if (a.type !== "directory" && b.type === "directory") return 1;
  const x = utf8.encode(a.name);
  const y = utf8.encode(b.name);
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
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
  const two = (n: number) => String(n).padStart(2, "0");
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
    (e) => `\r\n{ "name":"${escapeJson(e.name)}", "type":"${e.type}", "mtime":"${e.mtime.toUTCString()}"${e.type === "file" ? `, "size":${e.size}` : ""} }`,
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
function escapeUriComponent(s: string): string {
  let out = "";
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function escapeJson(s: string): string {
  return s.replace(/["\\\u0000-\u001f]/g, (c) => {
    if (c === '"' || c === "\\") return `\\${c}`;
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
    return named[c] ?? `\\u00${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}
