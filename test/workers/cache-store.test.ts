// The Worker's cache store inside workerd: entries go into the Cache API and come back as
// they were put (status, fields, body, times, the Vary pointer with its variants, a HEAD's
// bodiless entry); a key never put is a miss, and a deleted one is gone. The routes' cache on
// the wire is test/integration/cache.test.ts.
import { describe, expect, it } from "vitest";
import { cloudflareCacheStore } from "../../src/adapter/cloudflare/cache-store.js";
import type { CacheEntry } from "../../src/core/cache.js";

describe("the Worker's cache store (Cloudflare's Cache API)", () => {
  it("an entry comes back as it was put; fields with bytes past ASCII, an empty body, a pointer", async () => {
    const store = cloudflareCacheStore(() => caches.open(`edgepass-test-${crypto.randomUUID()}`));
    const entry: CacheEntry = {
      status: 404,
      statusText: "Not Here",
      headers: [["content-type", "text/plain"], ["x-name", "caf\u00e9"], ["vary", "Accept-Language"]],
      body: new TextEncoder().encode("gone\n"),
      stored: 1_700_000_000_000,
      fresh: 1_700_000_060_000,
    };
    await store.put("https GET site.test /a", entry, 60_000);
    expect(await store.get("https GET site.test /a")).toEqual(entry);
    await store.put("https HEAD site.test /a", { ...entry, body: null, head: true }, 60_000);
    expect(await store.get("https HEAD site.test /a")).toEqual({ ...entry, body: null, head: true });
    const pointer: CacheEntry = { status: 0, statusText: "", headers: [], body: null, stored: 1, fresh: 2, vary: ["accept-language"], variants: ["k\naccept-language:en"] };
    await store.put("k", pointer, 60_000);
    expect(await store.get("k")).toEqual(pointer);
    await store.put("empty", { ...entry, body: new Uint8Array(0) }, 60_000);
    expect((await store.get("empty"))?.body).toEqual(new Uint8Array(0));
    expect(await store.get("never put")).toBeNull();
    // A purge's delete: true for an entry that was there, and it is gone.
    expect(await store.delete("https GET site.test /a")).toBe(true);
    expect(await store.get("https GET site.test /a")).toBeNull();
    expect(await store.delete("https GET site.test /a")).toBe(false);
  });
});
