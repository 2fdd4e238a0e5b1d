// FileStores over the Worker's bindings: Workers Static Assets (the files deployed with the
// Worker, fixed at deploy) and an R2 bucket (files added at run time, such as uploads).
// The platform's own conditional and range handling is not used: static.ts does it once for
// every host. Assets have no modification time, so they carry their ETag only.
import type { DirEntry, FileStore, StoredFile } from "../../edge/file-store.js";
import { encodePath } from "../../edge/uri.js";

/** env.ASSETS, with html_handling = "none" and not_found_handling = "none" (wrangler.toml), so
 *  a path means that file and nothing else. Directories are invisible to it. */
export function assetsStore(assets: Fetcher): FileStore {
  return {
    async open(path) {
      if (path.endsWith("/")) return null;
      const res = await assets.fetch(new Request("https://assets.internal" + encodePath(path)));
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel().catch(() => {});
        return null;
      }
      let body: ReadableStream<Uint8Array> | ArrayBuffer = res.body;
      let size = Number(res.headers.get("content-length") ?? NaN);
      if (!Number.isFinite(size)) {
        body = await res.arrayBuffer();
        size = body.byteLength;
      }
      const file: StoredFile = {
        size,
        read: async (range) => sliced(body, size, range),
        discard: () => {
          if (!(body instanceof ArrayBuffer)) body.cancel().catch(() => {});
        },
      };
      const etag = res.headers.get("etag");
      if (etag) file.etag = etag;
      const type = res.headers.get("content-type");
      if (type) file.contentType = type;
      return file;
    },
  };
}

/** The bytes [start, end] of a body, as a stream of known length (so the client gets
 *  Content-Length rather than chunked). */
function sliced(body: ReadableStream<Uint8Array> | ArrayBuffer, size: number, range?: { start: number; end: number }): ReadableStream<Uint8Array> {
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = end - start + 1;
  if (body instanceof ArrayBuffer) return new Blob([body.slice(start, end + 1)]).stream();
  if (!range) return body;
  const fixed = new FixedLengthStream(length);
  let pos = 0;
  const cut = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      const from = Math.max(start - pos, 0);
      const to = Math.min(end + 1 - pos, chunk.length);
      if (to > from) ctl.enqueue(chunk.subarray(from, to));
      pos += chunk.length;
      if (pos > end) ctl.terminate();
    },
  });
  body.pipeThrough(cut).pipeTo(fixed.writable).catch(() => {});
  return fixed.readable;
}

/** Entries one R2 listing shows at most: a Worker's memory and time are bounded, nginx's are not. */
const MAX_LISTED = 10_000;

/** An R2 bucket: keys are paths without the leading "/". A prefix with objects under it is a
 *  directory. */
export function r2Store(bucket: R2Bucket): FileStore {
  return {
    async list(path) {
      const prefix = path.slice(1);
      const entries: DirEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, delimiter: "/", cursor });
        for (const o of page.objects) entries.push({ name: o.key.slice(prefix.length), type: "file", size: o.size, mtime: o.uploaded });
        // R2 keeps no time for a prefix: its directories show the epoch.
        for (const p of page.delimitedPrefixes) entries.push({ name: p.slice(prefix.length, -1), type: "directory", size: 0, mtime: new Date(0) });
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor !== undefined && entries.length < MAX_LISTED);
      return entries.length === 0 && prefix !== "" ? null : entries;
    },
    async open(path, opts) {
      const key = path.slice(1);
      if (key === "" || key.endsWith("/")) return !opts?.fileOnly && (await isPrefix(bucket, key)) ? "dir" : null;
      const head = await bucket.head(key);
      if (head === null) return !opts?.fileOnly && (await isPrefix(bucket, key + "/")) ? "dir" : null;
      const file: StoredFile = {
        size: head.size,
        etag: head.httpEtag,
        lastModified: head.uploaded,
        read: async (range) => {
          const obj = await bucket.get(key, range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : {});
          if (obj === null) throw new Error(`R2 object ${key} went away`);
          return obj.body;
        },
        discard: () => {},
      };
      if (head.httpMetadata?.contentType) file.contentType = head.httpMetadata.contentType;
      return file;
    },
  };
}

async function isPrefix(bucket: R2Bucket, prefix: string): Promise<boolean> {
  const list = await bucket.list({ prefix, limit: 1 });
  return list.objects.length > 0 || list.delimitedPrefixes.length > 0;
}
