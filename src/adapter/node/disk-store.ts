// The FileStore for a directory on disk: `edgepass dev` (through a service binding, see
// src/edge/store-wire.ts) and the Node host. Every open() looks at the disk afresh, so files
// added while the gateway runs (uploads) are served at once, as nginx serves them.
import { createReadStream, promises as fs } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { nginxEtag, type FileStore } from "../../edge/file-store.js";

export function diskStore(directory: string): FileStore {
  const root = path.resolve(directory);
  return {
    async open(p) {
      // Paths come normalized ("/a/b", no dot-segments); refusing anything else keeps a
      // caller's mistake from reaching outside the directory.
      if (!p.startsWith("/") || p.includes("\0") || p.split("/").some((s) => s === "..")) return null;
      const file = path.join(root, p);
      if (file !== root && !file.startsWith(root + path.sep)) return null;
      let st;
      try {
        st = await fs.stat(file);
      } catch {
        return null;
      }
      if (st.isDirectory()) return "dir";
      if (!st.isFile()) return null;
      return {
        size: st.size,
        etag: nginxEtag(st.mtimeMs, st.size),
        lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
        read: async (range) => {
          const stream = createReadStream(file, range ? { start: range.start, end: range.end } : {});
          return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
        },
        discard: () => {},
      };
    },
  };
}
