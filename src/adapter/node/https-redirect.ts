// `edgepass serve --redirect-port 80`: a plain HTTP listener beside the HTTPS one whose every
// request is sent to the same URL over https://, as the server block every nginx site with TLS
// has (`listen 80; return 301 https://$host$request_uri;`) and Caddy opens by itself. A GET or
// HEAD gets 301 (what that block answers); any other method 308, so a form posted to http://
// is posted again to https:// instead of turning into a GET that loses its body.
import net from "node:net";
import type { Codec } from "../../codec/types.js";
import type { ServeSettings } from "../../config/types.js";
import { newRecord, since, writeRequestLine } from "../../core/access-log.js";
import { requestLogger, type LogSink } from "../../core/log.js";
import { ownAnswer, type ClientResponse } from "../../core/respond.js";
import { serveConnection } from "./connection.js";
import type { ServeRequest } from "./request.js";

export interface RedirectDeps {
  codec: Codec;
  /** The [serve] settings of the config of the moment. */
  settings: () => ServeSettings;
  draining: () => boolean;
  sink?: LogSink;
  requestLog: () => string;
  /** The server's open connections, each with whether it waits for a request (a stop ends
   *  those at once). */
  sockets: Map<net.Socket, { idle: boolean }>;
  failed: (e: unknown) => void;
  /** Reads what comes before HTTP on a new connection ([serve] proxy_protocol's header). */
  accept?: (sock: net.Socket, next: (sock: net.Socket) => void) => void;
}

/** The listener: each connection read as any plain HTTP/1.1 one (keep-alive, timeouts, a
 *  body read and dropped), every request answered by httpsRedirect. */
export function redirectServer(httpsPort: number, d: RedirectDeps): net.Server {
  const take = (sock: net.Socket) => {
    const state = { idle: false };
    d.sockets.set(sock, state);
    void serveConnection(sock, {
      codec: d.codec,
      scheme: "http",
      settings: d.settings(),
      draining: d.draining,
      idle: (yes) => (state.idle = yes),
      sink: d.sink,
      requestLog: d.requestLog,
      handle: async (request, info) => httpsRedirect(request, info, httpsPort, { sink: d.sink, setting: d.requestLog() }),
    })
      .catch(d.failed)
      .finally(() => {
        sock.destroy();
        d.sockets.delete(sock);
      });
  };
  return net.createServer({ allowHalfOpen: true }, d.accept ? (sock) => d.accept!(sock, take) : take);
}

/** The answer to `request` on the redirect port, its request line written as [gateway] log says. */
function httpsRedirect(request: ServeRequest, info: { requestId: string; remoteAddr?: string }, httpsPort: number, log: { sink?: LogSink; setting: string }): ClientResponse {
  const { requestId } = info;
  const started = performance.now();
  const u = request.parsed;
  const location = `https://${u.hostname}${httpsPort === 443 ? "" : `:${httpsPort}`}${u.pathname}${u.search}`;
  const status = request.method === "GET" || request.method === "HEAD" ? 301 : 308;
  const text = `${status} ${status === 301 ? "Moved Permanently" : "Permanent Redirect"}\n\nThis site is served over HTTPS: ${location}\n`;
  const res = ownAnswer(status, new Headers({ location, "content-type": "text/plain; charset=utf-8" }), text);
  writeRequestLine(log.setting, requestLogger(requestId, log.sink), { ...newRecord(requestId, request.method, u.pathname, info.remoteAddr), status, from: "gateway", bytes_out: res.length ?? 0, total_ms: since(started) });
  return res;
}
