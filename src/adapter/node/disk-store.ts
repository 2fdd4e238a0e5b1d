// The FileStore for a directory on disk: `edgepass dev` (through a service binding, see
// src/edge/store-wire.ts) and the Node host. Every open() looks at the disk afresh, so files
// added while the gateway runs (uploads) are served at once, as nginx serves them.
//
// The metadata and the bytes are read with blocking calls, 128 KiB at most at a time, as nginx
// reads them without `aio`: on a file in the page cache each takes microseconds, where a
// promise of node:fs is a trip through libuv's thread pool and back, and four of them per
// request (stat, open, read, close) held a small file to a thirtieth of nginx's requests/s. As
// for an nginx worker, a slow disk (a network mount) holds back the whole process. The host's
// writer takes the pieces straight from here (PiecesBody), not through a web stream.
import { closeSync, lstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { nginxEtag, type ByteRange, type DirEntry, type FileStore } from "../../edge/file-store.js";
import { PiecesBody, type Pieces } from "../../core/pieces.js";
import { lend, settle, slabMemory, unused } from "../../core/read-slabs.js";
import { bytesToFill } from "./read-slabs.js";

/** Up to this much is read at once, with blocking calls, and handed over whole (a 100 KiB image
 *  in one read instead of two took 0.82x the CPU per request under wrk -c32); larger files go
 *  in pieces of read memory used again (filePieces). */
const PIECE = 128 * 1024;

export function diskStore(directory: string): FileStore {
  const root = path.resolve(directory);
  // Paths come normalized ("/a/b", no dot-segments); refusing anything else keeps a caller's
  // mistake from reaching outside the directory.
  const inside = (p: string): string | null => {
    if (!p.startsWith("/") || p.includes("\0") || p.split("/").some((s) => s === "..")) return null;
    const file = path.join(root, p);
    return file === root || file.startsWith(root + path.sep) ? file : null;
  };
  return {
    async list(p) {
      const dir = inside(p);
      if (dir === null) return null;
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return null;
      }
      const entries: DirEntry[] = [];
      for (const name of names) {
        // As nginx: a link is what it points to; one to nothing is itself; one not allowed to be
        // looked at is left out.
        const at = path.join(dir, name);
        let st;
        try {
          st = statSync(at, { throwIfNoEntry: false }) ?? lstatSync(at, { throwIfNoEntry: false });
        } catch {
          continue;
        }
        if (!st) continue;
        const type = st.isDirectory() ? "directory" : st.isFile() ? "file" : "other";
        entries.push({ name, type, size: st.size, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) });
      }
      return entries;
    },
    async open(p) {
      const file = inside(p);
      if (file === null) return null;
      let st;
      try {
        st = statSync(file, { throwIfNoEntry: false });
      } catch {
        return null;
      }
      if (!st) return null;
      if (st.isDirectory()) return "dir";
      if (!st.isFile()) return null;
      const size = st.size;
      return {
        size,
        etag: nginxEtag(st.mtimeMs, size),
        lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
        read: async (range) => {
          const r = range ?? { start: 0, end: size - 1 };
          // What fits in one piece is read now and handed over whole: no stream to make for it.
          if (r.end - r.start < PIECE) return readWhole(file, r);
          return new PiecesBody(filePieces(file, r));
        },
        discard: () => {},
      };
    },
  };
}

/** The bytes of `range` (at most a piece) in `file`: fewer when the file was cut since its
 *  stat (respondWithFile sends those as a cut body). */
function readWhole(file: string, range: ByteRange): Uint8Array {
  const size = range.end + 1 - range.start;
  if (size === 0) return new Uint8Array(0);
  // Not zeroed first (half the cost of a 6 KiB buffer): only the bytes read are handed on.
  const buf = bytesToFill(size);
  const fd = openSync(file, "r");
  try {
    const n = readSync(fd, buf, 0, buf.length, range.start);
    return n === buf.length ? buf : buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The bytes of `range` in `file`, as pieces of up to SLAB_BYTES. A file that changed size
 *  since its stat ends the body short, which the host's writer, held to the declared length,
 *  turns into a cut connection. */
function filePieces(file: string, range: ByteRange): Pieces {
  let at = range.start;
  const end = range.end + 1;
  let fd: number | null = null;
  const finish = () => {
    at = end;
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  return {
    async next() {
      if (at >= end) {
        finish();
        return null;
      }
      fd ??= openSync(file, "r");
      // Read into memory used again once the writer gave the piece back (core/read-slabs.ts):
      // a fresh 64 KiB per piece was zeroed, and a download's worth of them at a time kept
      // the collector's major marking busy (together a quarter of a 4 MiB file's CPU).
      const memory = slabMemory();
      let n: number;
      try {
        n = readSync(fd, memory, 0, Math.min(memory.length, end - at), at);
      } catch (e) {
        unused(memory);
        finish();
        throw e;
      }
      at += n;
      // The last piece, or the file ended early: closed before the bytes are handed on.
      if (n === 0 || at >= end) finish();
      if (n === 0) {
        unused(memory);
        return null;
      }
      const piece = lend(memory.subarray(0, n));
      settle(piece, [piece]);
      return [piece];
    },
    own: true,
    cancel() {
      finish();
    },
  };
}
