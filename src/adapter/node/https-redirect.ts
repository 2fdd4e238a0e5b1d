// `edgepass serve --redirect-port 80`: a plain HTTP listener beside the HTTPS one whose every
// request is sent to the same URL over https://, as the server block every nginx site with TLS
// has (`listen 80; return 301 https://$host$request_uri;`) and Caddy opens by itself. A GET or
// HEAD gets 301 (what that block answers); any other method 308, so a form posted to http://
// is posted again to https:// instead of turning into a GET that loses its body.
import { newRecord, since, writeRecord } from "../../core/access-log.js";
import { requestLogger, type LogSink } from "../../core/log.js";
import { ownAnswer, type ClientResponse } from "../../core/respond.js";
import type { ServeRequest } from "./request.js";

/** The answer to `request` on the redirect port, its request line written when `log`. */
export function httpsRedirect(request: ServeRequest, info: { requestId: string; remoteAddr?: string }, httpsPort: number, log: { sink?: LogSink; on: boolean }): ClientResponse {
  const { requestId } = info;
  const started = performance.now();
  const u = request.parsed;
  const location = `https://${u.hostname}${httpsPort === 443 ? "" : `:${httpsPort}`}${u.pathname}${u.search}`;
  const status = request.method === "GET" || request.method === "HEAD" ? 301 : 308;
  const text = `${status} ${status === 301 ? "Moved Permanently" : "Permanent Redirect"}\n\nThis site is served over HTTPS: ${location}\n`;
  const res = ownAnswer(status, new Headers({ location, "content-type": "text/plain; charset=utf-8" }), text);
  if (log.on) writeRecord(requestLogger(requestId, log.sink), { ...newRecord(requestId, request.method, u.pathname, info.remoteAddr), status, from: "gateway", bytes_out: res.length ?? 0, total_ms: since(started) });
  return res;
}
