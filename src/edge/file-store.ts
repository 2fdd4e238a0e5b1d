// Where static files come from, behind one small interface: Workers Static Assets or an R2
// bucket in the Worker (src/adapter/cloudflare), a directory on disk in `edgepass dev` and on
// the Node host (src/adapter/node). Everything HTTP about serving them (conditional requests,
// ranges, index files, precompressed siblings) is in static.ts and written once.

import type { Body } from "../core/exchange.js";

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface StoredFile {
  size: number;
  /** A quoted entity tag ("…" or W/"…"), when the store has one. */
  etag?: string;
  lastModified?: Date;
  /** The store's own idea of the type (R2 metadata, the assets manifest); else by extension. */
  contentType?: string;
  /** The bytes, whole or one range: at hand (a small file on disk, read at once) or as a
   *  stream. Stores make a stream's length known to the host where they can, so the client
   *  gets Content-Length. */
  read(range?: ByteRange): Promise<Body>;
  /** The file was not read after all (304, HEAD, 416): let go of what open() holds. */
  discard(): void;
}

export interface FileStore {
  /** `path` is decoded and normalized ("/css/site.css"). A file, "dir" for a directory, or null.
   *  A store that cannot see directories (Workers Static Assets) answers null for them; the
   *  caller then recognizes a directory by its index file. */
  open(path: string, opts?: OpenOptions): Promise<StoredFile | "dir" | null>;
  /** What the directory `path` ("/a/b/") holds, or null when it is no directory; absent on a
   *  store that cannot list (Workers Static Assets). For autoindex. */
  list?(path: string): Promise<DirEntry[] | null>;
}

export interface DirEntry {
  name: string;
  /** "other": neither (a socket, a link to nothing). */
  type: "directory" | "file" | "other";
  size: number;
  mtime: Date;
}

export interface OpenOptions {
  /** Only a file will do: a store may skip finding out whether the path is a directory (R2
   *  needs a list request for that; try_files and index lookups ask this way). */
  fileOnly?: boolean;
}

/** Several stores as one: the first that has the path wins (the deployed assets, then the
 *  run-time uploads in R2). */
export function layeredStore(stores: readonly FileStore[]): FileStore {
  if (stores.length === 1) return stores[0];
  const listing = stores.filter((s) => s.list);
  return {
    // The first store that lists the directory lists it.
    list: listing.length
      ? async (path) => {
          for (const s of listing) {
            const entries = await s.list!(path);
            if (entries) return entries;
          }
          return null;
        }
      : undefined,
    async open(path, opts) {
      let dir = false;
      for (const s of stores) {
        const hit = await s.open(path, opts);
        if (hit === "dir") dir = true;
        else if (hit) return hit;
      }
      return dir ? "dir" : null;
    },
  };
}

/** nginx's ETag for a file on disk: last-modified seconds and size, in hex. */
export function nginxEtag(mtimeMs: number, size: number): string {
  return `"${Math.floor(mtimeMs / 1000).toString(16)}-${size.toString(16)}"`;
}
