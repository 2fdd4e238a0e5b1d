// The routes' cache in a process's memory (`edgepass serve`): entries up to `maxBytes` in all,
// each dropped when its time is up. When room is needed the oldest entry goes first, unless it
// was read since it was last passed over: then it moves to the back and the next is looked at
// (the "second chance" approximation of least recently used). A hit only marks its entry; a
// Map's delete and set on every hit, to keep exact recency, cost a tenth of a cached answer.
import type { CacheEntry, CacheStore } from "./cache.js";

interface Held {
  entry: CacheEntry;
  size: number;
  until: number;
  read: boolean;
}

/** What an entry is counted as besides its body and fields: the key, the record, the map's own. */
const OVERHEAD = 256;

export function memoryCacheStore(maxBytes: number, now: () => number = Date.now): CacheStore & { readonly bytes: number; readonly count: number } {
  // A Map keeps insertion order: the oldest first.
  const held = new Map<string, Held>();
  let bytes = 0;
  const drop = (key: string, h: Held) => {
    held.delete(key);
    bytes -= h.size;
  };
  return {
    get bytes() {
      return bytes;
    },
    get count() {
      return held.size;
    },
    get(key) {
      const h = held.get(key);
      if (!h) return null;
      if (h.until <= now()) {
        drop(key, h);
        return null;
      }
      h.read = true;
      return h.entry;
    },
    put(key, entry, keepMs) {
      let size = OVERHEAD + key.length + (entry.body?.byteLength ?? 0);
      for (const [n, v] of entry.headers) size += n.length + v.length;
      const old = held.get(key);
      if (old) drop(key, old);
      if (size > maxBytes) return;
      while (bytes + size > maxBytes) {
        const [k, h] = held.entries().next().value as [string, Held];
        held.delete(k);
        if (h.read && h.until > now()) {
          h.read = false;
          held.set(k, h);
        } else bytes -= h.size;
      }
      held.set(key, { entry, size, until: now() + keepMs, read: false });
      bytes += size;
    },
    delete(key) {
      const h = held.get(key);
      if (h) drop(key, h);
      return h !== undefined;
    },
  };
}
