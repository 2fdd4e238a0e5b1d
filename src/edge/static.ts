// Serving one request from a FileStore the way nginx's static module does: index files for
// directory URLs, "/dir" → 301 "/dir/", Content-Type by extension, ETag and Last-Modified with
// the conditional requests they allow, one byte range, HEAD, and a precompressed .br/.gz
// sibling for a client that accepts it (gzip_static), and with autoindex a directory's list.
// Paths the exclude list matches are never served, nor listed: a docroot holding the app's
// source can be used as the assets directory as it is.
import { autoindexAnswer, type AutoindexOptions } from "./autoindex.js";
import { preconditionStatus, rangeFor } from "./conditional.js";
import type { ExcludeMatcher } from "./exclude.js";
import type { FileStore, StoredFile } from "./file-store.js";
import { contentTypeFor } from "./mime.js";
import { encodePath } from "./uri.js";
import type { RequestFields } from "../core/gateway.js";
import { clientResponse, ownAnswer, streamOf, type ClientResponse } from "../core/respond.js";
import { fieldsOf } from "../core/response-fields.js";

export interface StaticOptions {
  exclude: ExcludeMatcher;
  indexFiles: readonly string[];
  gzipStatic: boolean;
  /** A directory with no index file is listed (on a store that can list). */
  autoindex?: AutoindexOptions;
}

export interface StaticRequest {
  method: string;
  headers: RequestFields;
  /** Decoded, normalized. */
  path: string;
  /** "?a=1" or "". */
  search: string;
  /** The client's Accept-Encoding. On Cloudflare the Worker's request carries the platform's
   *  ("br, gzip") instead; the client's own is request.cf.clientAcceptEncoding. */
  acceptEncoding: string | null;
}

export type StaticOutcome =
  | { kind: "response"; response: ClientResponse }
  /** A directory's index the exclude list keeps from being served (index.php): route it. */
  | { kind: "reroute"; path: string }
  | { kind: "missing" }
  /** A directory with no index file (nginx: "directory index … is forbidden"). */
  | { kind: "forbidden" };

/** Is there a file to serve at `path` (try_files' test)? Excluded files do not count. */
export async function fileExists(store: FileStore, path: string, exclude: ExcludeMatcher): Promise<boolean> {
  if (exclude(path)) return false;
  const hit = await store.open(path, { fileOnly: true });
  if (hit && hit !== "dir") hit.discard();
  return hit !== null && hit !== "dir";
}

/** Is `path` (ending in "/") a directory? A store blind to directories sees one by its index. */
export async function directoryExists(store: FileStore, path: string, indexFiles: readonly string[]): Promise<boolean> {
  const hit = await store.open(path.replace(/\/+$/, "") || "/");
  if (hit === "dir") return true;
  if (hit) hit.discard();
  for (const name of indexFiles) {
    const f = await store.open(path + name, { fileOnly: true });
    if (f && f !== "dir") {
      f.discard();
      return true;
    }
  }
  return false;
}

export async function serveStatic(store: FileStore, req: StaticRequest, opts: StaticOptions): Promise<StaticOutcome> {
  if (opts.exclude(req.path)) return { kind: "missing" };
  if (req.path.endsWith("/")) return serveIndex(store, req, opts);
  const hit = await store.open(req.path);
  if (hit === "dir" || (hit === null && (await directoryExists(store, req.path + "/", opts.indexFiles)))) {
    // The path is decoded: it goes back into a header as a request target (a name in any
    // script, or with a space, is valid only percent-encoded there).
    return { kind: "response", response: redirect(encodePath(req.path) + "/" + req.search) };
  }
  if (hit === null) return { kind: "missing" };
  return { kind: "response", response: await respondWithFile(store, hit, req.path, req, opts.gzipStatic) };
}

async function serveIndex(store: FileStore, req: StaticRequest, opts: StaticOptions): Promise<StaticOutcome> {
  for (const name of opts.indexFiles) {
    const candidate = req.path + name;
    const hit = await store.open(candidate, { fileOnly: true });
    if (hit === null || hit === "dir") continue;
    if (opts.exclude(candidate)) {
      hit.discard();
      return { kind: "reroute", path: candidate };
    }
    return { kind: "response", response: await respondWithFile(store, hit, candidate, req, opts.gzipStatic) };
  }
  if (opts.autoindex && store.list) return listing(store, req, opts, opts.autoindex);
  return (await directoryExists(store, req.path, [])) ? { kind: "forbidden" } : { kind: "missing" };
}

async function listing(store: FileStore, req: StaticRequest, opts: StaticOptions, o: AutoindexOptions): Promise<StaticOutcome> {
  const entries = await store.list!(req.path);
  // A store that cannot list may still hold it (Workers Static Assets beside R2).
  if (entries === null) return (await directoryExists(store, req.path, [])) ? { kind: "forbidden" } : { kind: "missing" };
  if (req.method !== "GET" && req.method !== "HEAD") return { kind: "response", response: notAllowed() };
  const shown = entries.filter((e) => !opts.exclude(req.path + e.name + (e.type === "directory" ? "/" : "")));
  return { kind: "response", response: autoindexAnswer(req.path, shown, o, req.method === "HEAD") };
}

function notAllowed(): ClientResponse {
  return ownAnswer(405, fieldsOf([["allow", "GET, HEAD"], ["content-type", "text/plain; charset=utf-8"]]), "405 Method Not Allowed\n\nFiles answer GET and HEAD only.\n");
}

function redirect(location: string): ClientResponse {
  return ownAnswer(301, fieldsOf([["location", location]]));
}

const ENCODINGS: ReadonlyArray<[token: string, suffix: string]> = [
  ["br", ".br"],
  ["gzip", ".gz"],
];

/** The file's answer: 200, 206, 304, 412 or 416, with the body only for GET. `name` gives
 *  the Content-Type (for an index file, the index's name). Made as the pipeline carries an
 *  answer (no fetch Response in between): a small file read whole goes out with its head in
 *  one write. */
export async function respondWithFile(store: FileStore | null, file: StoredFile, name: string, req: StaticRequest, gzipStatic: boolean): Promise<ClientResponse> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    file.discard();
    return notAllowed();
  }
  const headers = fieldsOf([["content-type", file.contentType ?? contentTypeFor(name)]]);
  let chosen = file;
  if (store && gzipStatic && !req.headers.has("range")) {
    const accepted = acceptedEncodings(req.acceptEncoding);
    for (const [token, suffix] of ENCODINGS) {
      if (!accepted.has(token)) continue;
      const sibling = await store.open(name + suffix, { fileOnly: true });
      if (sibling === null || sibling === "dir") continue;
      file.discard();
      chosen = sibling;
      headers.set("content-encoding", token);
      headers.set("vary", "Accept-Encoding");
      break;
    }
  }
  if (chosen.etag) headers.set("etag", chosen.etag);
  if (chosen.lastModified) headers.set("last-modified", chosen.lastModified.toUTCString());
  const validators = { etag: chosen.etag, lastModified: chosen.lastModified };
  const pre = preconditionStatus(req.method, req.headers, validators);
  if (pre !== null) {
    chosen.discard();
    if (pre === 304) headers.delete("content-type");
    return ownAnswer(pre, headers);
  }
  headers.set("accept-ranges", "bytes");
  const range = rangeFor(req.headers, chosen.size, validators);
  if (range.kind === "unsatisfiable") {
    chosen.discard();
    headers.set("content-range", `bytes */${chosen.size}`);
    headers.set("content-length", "0");
    return clientResponse(416, "", headers, null, 0, false);
  }
  const status = range.kind === "partial" ? 206 : 200;
  const length = range.kind === "partial" ? range.range.end - range.range.start + 1 : chosen.size;
  if (range.kind === "partial") headers.set("content-range", `bytes ${range.range.start}-${range.range.end}/${chosen.size}`);
  headers.set("content-length", String(length));
  // A precompressed body is already encoded: the host must send its bytes as they are.
  const encoded = headers.has("content-encoding");
  if (req.method === "HEAD") {
    chosen.discard();
    return clientResponse(status, "", headers, null, length, encoded);
  }
  let body = await chosen.read(range.kind === "partial" ? range.range : undefined);
  // A file cut since its size was read: as a stream, which every host holds to the declared
  // length, so the client sees a cut connection rather than a short message.
  if (body instanceof Uint8Array && body.byteLength !== length) body = streamOf(body);
  return clientResponse(status, "", headers, body, length, encoded);
}

/** Encodings the client takes (q > 0), from Accept-Encoding; "*" stands for any. */
export function acceptedEncodings(header: string | null): Set<string> {
  const out = new Set<string>();
  if (!header) return out;
  const refused = new Set<string>();
  let star = false;
  for (const part of header.split(",")) {
    const [token, ...params] = part.trim().toLowerCase().split(";");
    if (!token) continue;
    const q = params.map((p) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(p)).find(Boolean);
    const ok = !q || Number(q[1]) > 0;
    if (token === "*") star = ok;
    else if (ok) out.add(token);
    else refused.add(token);
  }
  if (star) for (const [t] of ENCODINGS) if (!refused.has(t)) out.add(t);
  return out;
}
