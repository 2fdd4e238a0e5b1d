// error_pages: a page from the assets in place of an error's body, keeping the status (nginx's
// `error_page 404 /404.html`, without "=code"). The gateway's own errors always get it; the
// origin's only on routes with intercept_errors. A missing page leaves the answer as it was.
import type { GatewaySettings, RouteConfig } from "../config/types.js";
import type { FileStore } from "./file-store.js";
import { contentTypeFor } from "./mime.js";
import { cancelBody, clientResponse, streamOf, type ClientResponse } from "../core/respond.js";
import { fieldsOf } from "../core/response-fields.js";

/** Headers of the original answer that stay on the page: the error code and request id (the
 *  operator's handles), and what a client should do next (Retry-After, Allow, Content-Range,
 *  and a 401's WWW-Authenticate, without which a browser does not ask for a password). */
const KEPT = ["x-edgepass-error", "x-request-id", "retry-after", "allow", "content-range", "www-authenticate"];

export function errorPagePath(status: number, route: RouteConfig | undefined, settings: GatewaySettings): string | undefined {
  const pages = route?.errorPages ?? settings.errorPages;
  return pages[status];
}

/** The page in place of `res`'s body, or null when the store does not have it. */
export async function withErrorPage(res: ClientResponse, page: string, store: FileStore, method: string): Promise<ClientResponse | null> {
  const hit = await store.open(page, { fileOnly: true });
  if (hit === null || hit === "dir") return null;
  const headers = fieldsOf([
    ["content-type", hit.contentType ?? contentTypeFor(page)],
    ["content-length", String(hit.size)],
  ]);
  for (const name of KEPT) {
    const v = res.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  cancelBody(res.body);
  const answer = clientResponse(res.status, "", headers, null, hit.size, false);
  if (method === "HEAD") {
    hit.discard();
    return answer;
  }
  let body = await hit.read();
  // A page cut since its size was read goes out as a cut body (see respondWithFile).
  if (body instanceof Uint8Array && body.byteLength !== hit.size) body = streamOf(body);
  answer.body = body;
  return answer;
}
