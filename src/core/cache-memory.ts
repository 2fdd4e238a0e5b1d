// The routes' cache in a process's memory (`edgepass serve`): entries up to `maxBytes` in all,
// the least recently used dropped first, each dropped when its time is up.
import type { CacheEntry, CacheStore } from "./cache.js";

interface Held {
  entry: CacheEntry;
  size: number;
  until: number;
}

/** What an entry is counted as besides its body and fields: the key, the record, the map's own. */
const OVERHEAD = 256;

export function memoryCacheStore(maxBytes: number, now: () => number = Date.now): CacheStore & { readonly bytes: number; readonly count: number } {
  // A Map keeps insertion order: taking an entry out and putting it back makes it the newest.
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
      held.delete(key);
      held.set(key, h);
      return h.entry;
    },
    put(key, entry, keepMs) {
      let size = OVERHEAD + key.length + (entry.body?.byteLength ?? 0);
      for (const [n, v] of entry.headers) size += n.length + v.length;
      const old = held.get(key);
      if (old) drop(key, old);
      if (size > maxBytes) return;
      for (const [k, h] of held) {
        if (bytes + size <= maxBytes) break;
        drop(k, h);
      }
      held.set(key, { entry, size, until: now() + keepMs });
      bytes += size;
    },
  };
}
