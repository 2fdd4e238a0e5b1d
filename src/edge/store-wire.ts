// A FileStore carried over fetch(): `edgepass dev` keeps the assets directory on the Node side
// (read live, so files added while it runs are served, as nginx serves them) and the Worker
// reaches it through a service binding. Runtime-free on both ends: serveStoreRequest() answers
// for a store, storeOverFetch() is the store the other side sees.
//   HEAD /<encoded path>            → 200 with X-Edgepass-Kind: file | dir, Content-Length,
//                                     ETag, Last-Modified, Content-Type (when the store knows)
//   GET  /<encoded path> [+ Range]  → the bytes (206 for a range)
//   GET  /<encoded path>?list       → the directory's entries as JSON (autoindex)
//   404                             → nothing there
import type { ByteRange, DirEntry, FileStore, StoredFile } from "./file-store.js";
import { encodePath } from "./uri.js";
import { platformBody } from "../core/respond.js";

const KIND = "x-edgepass-kind";

export function storeOverFetch(fetcher: (request: Request) => Promise<Response>, base = "http://files.internal"): FileStore {
  return {
    async list(path) {
      const res = await fetcher(new Request(`${base}${encodePath(path)}?list`));
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        return null;
      }
      if (!res.ok) throw new Error(`file store answered ${res.status} listing ${path}`);
      const entries = (await res.json()) as Array<Omit<DirEntry, "mtime"> & { mtime: number }>;
      return entries.map((e) => ({ ...e, mtime: new Date(e.mtime) }));
    },
    async open(path) {
      const head = await fetcher(new Request(base + encodePath(path), { method: "HEAD" }));
      await head.body?.cancel().catch(() => {});
      if (head.status === 404) return null;
      if (!head.ok) throw new Error(`file store answered ${head.status} for ${path}`);
      if (head.headers.get(KIND) === "dir") return "dir";
      const lm = head.headers.get("last-modified");
      const file: StoredFile = {
        size: Number(head.headers.get("content-length") ?? "0"),
        read: async (range?: ByteRange) => {
          const headers: Record<string, string> = range ? { range: `bytes=${range.start}-${range.end}` } : {};
          const res = await fetcher(new Request(base + encodePath(path), { headers }));
          if (!res.ok || !res.body) throw new Error(`file store answered ${res.status} reading ${path}`);
          return res.body;
        },
        discard: () => {},
      };
      const etag = head.headers.get("etag");
      if (etag) file.etag = etag;
      if (lm) file.lastModified = new Date(lm);
      const type = head.headers.get("content-type");
      if (type) file.contentType = type;
      return file;
    },
  };
}

export async function serveStoreRequest(store: FileStore, request: Request): Promise<Response> {
  const url = new URL(request.url);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return new Response(null, { status: 400 });
  }
  if (url.search === "?list") {
    const entries = store.list ? await store.list(path) : null;
    if (entries === null) return new Response(null, { status: 404 });
    return Response.json(entries.map((e) => ({ ...e, mtime: e.mtime.getTime() })));
  }
  const hit = await store.open(path);
  if (hit === null) return new Response(null, { status: 404 });
  if (hit === "dir") return new Response(null, { status: 200, headers: { [KIND]: "dir" } });
  const headers = new Headers({ [KIND]: "file" });
  if (hit.etag) headers.set("etag", hit.etag);
  if (hit.lastModified) headers.set("last-modified", hit.lastModified.toUTCString());
  if (hit.contentType) headers.set("content-type", hit.contentType);
  if (request.method === "HEAD") {
    hit.discard();
    headers.set("content-length", String(hit.size));
    return new Response(null, { status: 200, headers });
  }
  const m = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("range") ?? "");
  const range = m ? { start: Number(m[1]), end: Math.min(Number(m[2]), hit.size - 1) } : undefined;
  headers.set("content-length", String(range ? range.end - range.start + 1 : hit.size));
  return new Response(platformBody(await hit.read(range)), { status: range ? 206 : 200, headers });
}
