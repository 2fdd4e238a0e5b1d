// What is left of a request body after the gateway has answered without it (an error before
// the origin took it, an app that answered without reading it): read and dropped, up to a
// bound, so the client's connection can carry its next request, as nginx discards an unread
// body. A host that finds a body unread after the response closes the connection instead, and
// a client that sent its next request on it meanwhile sees a reset. Past the bound the body is
// cancelled and that is what happens.

import { within } from "./deadline.js";
import type { GatewayRequest, RequestInfo } from "./gateway.js";
import { streamPieces, type Pieces, type StreamBody } from "./pieces.js";

/** Bytes read and dropped at most. */
export const DRAIN_LIMIT = 1024 * 1024;
/** How long a drain may take at most. */
export const DRAIN_MS = 2000;

export async function drain(reader: Pieces, limit = DRAIN_LIMIT, ms = DRAIN_MS): Promise<void> {
  const deadline = Date.now() + ms;
  let left = limit;
  try {
    while (left > 0) {
      const wait = deadline - Date.now();
      if (wait <= 0) break;
      const got = await within(reader.next(), wait);
      if (got === undefined) break;
      if (got === null) return;
      for (const p of got) left -= p.byteLength;
    }
  } catch {
    return; // the client's stream failed: nothing more to save
  }
  reader.cancel();
}

/** Drains a body nobody has started to read. */
export async function drainUnread(body: StreamBody | null): Promise<void> {
  if (!body || body.locked) return;
  await drain(streamPieces(body));
}

/** Before an answer that does not need the body (an error, an authorizer's refusal): the body
 *  nobody read is read and dropped, unless the client waits to be asked for it (Expect:
 *  100-continue), where reading would ask for bytes only to drop them, or wait for ones that
 *  never come; the host closes the connection after such an answer, as nginx does. Asked only
 *  on these paths, so a served request never looks at the Expect field. */
export function dropUnread(request: GatewayRequest, info: RequestInfo): Promise<void> | void {
  const waits = info.awaitsContinue ?? request.headers.get("expect")?.trim().toLowerCase() === "100-continue";
  if (!waits) return drainUnread(request.body);
}
