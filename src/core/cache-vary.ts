// An answer with Vary is kept under its variant's key (the route's key and the request's value
// of each field it names), and the route's key holds a pointer: the names, for a lookup to find
// the request's variant, and the variants kept so far, for a purge to find every one.
import type { GatewayRequest } from "./gateway.js";
import type { CacheEntry, CacheStore } from "./cache.js";

/** Variants a pointer lists: past it, the oldest are forgotten, and may outlive a purge until
 *  they expire. */
const MAX_VARIANTS = 64;

export function variantKey(key: string, names: string[], request: GatewayRequest): string {
  return `${key}\n${names.map((n) => `${n}:${request.headers.get(n) ?? ""}`).join("\n")}`;
}

/** Pointer writes under way, by store and key. */
const pointerWrites = new WeakMap<CacheStore, Map<string, Promise<unknown>>>();

/** Keeps `entry` as the request's variant under `key`, varying by `vary`. The pointer is read,
 *  extended and written again; two variants stored at once (a route without the lock) would
 *  each read the list before the other wrote it, and one would be left off, so in one process
 *  the writes to one key's pointer take turns. */
export async function putVariant(store: CacheStore, key: string, vary: string[], request: GatewayRequest, entry: CacheEntry, keepMs: number): Promise<void> {
  const variant = variantKey(key, vary, request);
  let writes = pointerWrites.get(store);
  if (!writes) pointerWrites.set(store, (writes = new Map()));
  const before = writes.get(key);
  const mine = (async () => {
    await before?.catch(() => {});
    const kept = (await store.get(key))?.variants ?? [];
    const variants = [...kept.filter((v) => v !== variant).slice(-(MAX_VARIANTS - 1)), variant];
    const pointer: CacheEntry = { status: 0, statusText: "", headers: [], body: null, stored: entry.stored, fresh: entry.fresh, vary, variants };
    await store.put(key, pointer, keepMs);
  })();
  writes.set(key, mine);
  try {
    await mine;
  } finally {
    if (writes.get(key) === mine) writes.delete(key);
  }
  await store.put(variant, entry, keepMs);
}
