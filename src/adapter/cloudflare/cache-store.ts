// The routes' cache in the Worker: Cloudflare's cache of the data center the request reached
// (the Cache API), shared by every isolate there. An entry is one cached object under a URL of
// its key's digest, kept as long as the entry may be (its max-age); its status and fields go
// in front of its body, so none of them is read or changed as a cached object's own (a
// Set-Cookie, a 206 or a Vary, which the Cache API treats as its own, never reach it).
import type { CacheEntry, CacheStore } from "../../core/cache.js";
import { sha256 } from "../../edge/digests.js";

const ORIGIN = "https://edgepass-cache.invalid/";
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function cloudflareCacheStore(open: () => Promise<Cache> = () => caches.open("edgepass")): CacheStore {
  let cache: Promise<Cache> | null = null;
  const get = () => (cache ??= open());
  return {
    async get(key) {
      const res = await (await get()).match(urlOf(key));
      if (!res) return null;
      return decode(new Uint8Array(await res.arrayBuffer()));
    },
    async put(key, entry, keepMs) {
      const res = new Response(encode(entry), {
        headers: { "content-type": "application/octet-stream", "cache-control": `max-age=${Math.ceil(keepMs / 1000)}` },
      });
      await (await get()).put(urlOf(key), res);
    },
    async delete(key) {
      return (await get()).delete(urlOf(key));
    },
  };
}

function urlOf(key: string): string {
  let hex = "";
  for (const b of sha256(utf8.encode(key))) hex += b.toString(16).padStart(2, "0");
  return ORIGIN + hex;
}

/** [4-byte length of the record][the record as JSON][the body]. */
function encode(entry: CacheEntry): Uint8Array {
  const { body, ...rest } = entry;
  const record = utf8.encode(JSON.stringify({ ...rest, hasBody: body !== null }));
  const out = new Uint8Array(4 + record.byteLength + (body?.byteLength ?? 0));
  new DataView(out.buffer).setUint32(0, record.byteLength);
  out.set(record, 4);
  if (body) out.set(body, 4 + record.byteLength);
  return out;
}

function decode(bytes: Uint8Array): CacheEntry | null {
  if (bytes.byteLength < 4) return null;
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
  if (4 + n > bytes.byteLength) return null;
  try {
    const { hasBody, ...rest } = JSON.parse(fromUtf8.decode(bytes.subarray(4, 4 + n))) as Omit<CacheEntry, "body"> & { hasBody: boolean };
    return { ...rest, body: hasBody ? bytes.slice(4 + n) : null };
  } catch {
    return null;
  }
}
