// PURGE on a route whose cache allows it (`purge_from`): the entries for the request's URL
// removed, the answer to GET and to HEAD with every variant, as ngx_cache_purge's
// `fastcgi_cache_purge PURGE from …` in the same location does; what WordPress's cache purge
// plugins send when a post changes. Only the listed addresses may purge: anyone else gets 403.
import type { CacheRule } from "../config/types.js";
import { inAny } from "../edge/cidr.js";
import { expandVariables, type RequestVars } from "../edge/variables.js";
import type { CacheStore } from "./cache.js";
import { Codes, GatewayError } from "./errors.js";
import { ownAnswer, type ClientResponse } from "./respond.js";
import { fieldsOf } from "./response-fields.js";

export const PURGE_METHOD = "PURGE";

/** The answer to a PURGE: 200 with how many entries went, 404 when none was kept. */
export async function purge(rule: CacheRule, store: CacheStore, vars: RequestVars): Promise<ClientResponse> {
  if (!inAny(rule.purgeFrom ?? [], vars.remoteAddr)) {
    throw new GatewayError(Codes.ACCESS_DENIED, 403, "This address may not purge the cache.", `client ${vars.remoteAddr ?? "unknown"}`);
  }
  // The key as a GET and a HEAD of this URL make it (the default key names the method).
  const keys = new Set(["GET", "HEAD"].map((method) => expandVariables(rule.key, { ...vars, method })));
  let removed = 0;
  for (const key of keys) removed += await remove(store, key);
  const text = removed ? `Purged ${vars.requestUri} (${removed} ${removed === 1 ? "entry" : "entries"}).\n` : `Not in the cache: ${vars.requestUri}\n`;
  return ownAnswer(removed ? 200 : 404, fieldsOf([["content-type", "text/plain; charset=utf-8"]]), text);
}

/** The entry under `key`, and when it only names the fields its answer varies by, every
 *  variant it lists; how many answers went. */
async function remove(store: CacheStore, key: string): Promise<number> {
  const entry = await store.get(key);
  if (!entry) return 0;
  let removed = 0;
  for (const v of entry.vary ? (entry.variants ?? []) : []) if (await store.delete(v)) removed++;
  await store.delete(key);
  return entry.vary ? removed : 1;
}
