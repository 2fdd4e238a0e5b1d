// What is left of a request body after the gateway has answered without it (an error before
// the origin took it, an app that answered without reading it): read and dropped, up to a
// bound, so the client's connection can carry its next request, as nginx discards an unread
// body. A host that finds a body unread after the response closes the connection instead, and
// a client that sent its next request on it meanwhile sees a reset. Past the bound the body is
// cancelled and that is what happens.

import type { BodyReads } from "./body.js";
import { within } from "./deadline.js";

/** Bytes read and dropped at most. */
export const DRAIN_LIMIT = 1024 * 1024;
/** How long a drain may take at most. */
export const DRAIN_MS = 2000;

export async function drain(reader: BodyReads, limit = DRAIN_LIMIT, ms = DRAIN_MS): Promise<void> {
  const deadline = Date.now() + ms;
  let left = limit;
  try {
    while (left > 0) {
      const wait = deadline - Date.now();
      if (wait <= 0) break;
      const r = await within(reader.read(), wait);
      if (r === undefined) break;
      if (r.done) return;
      left -= r.value.byteLength;
    }
  } catch {
    return; // the client's stream failed: nothing more to save
  }
  await reader.cancel().catch(() => {});
}

/** Drains a body nobody has started to read. */
export async function drainUnread(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body || body.locked) return;
  await drain(body.getReader());
}
