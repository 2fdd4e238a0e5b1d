// The listener behind [serve] metrics_listen, opened by the serving process or, with
// --workers, by the primary (which renders what every worker reports).
import http from "node:http";
import { Codes, GatewayError } from "../../core/errors.js";
import { cannotListenBecause } from "./listen-defaults.js";

/** The metrics listener: GET /metrics only, on its own address (a loopback or private one),
 *  so the public listener never shows it. */
export async function listenMetrics(at: { host: string; port: number }, render: () => string | Promise<string>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("404 Not Found\n\nMetrics are at /metrics.\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("405 Method Not Allowed\n");
      return;
    }
    Promise.resolve()
      .then(render)
      .then(
        (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(req.method === "HEAD" ? undefined : text),
        (e) => res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`500 Internal Server Error\n\n${e instanceof Error ? e.message : String(e)}\n`),
      );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new GatewayError(Codes.CONFIG_INVALID, 500, `[serve] metrics_listen ${at.host}:${at.port}: cannot listen (${cannotListenBecause(e, { port: "metrics_listen", host: "metrics_listen" })})`)));
    server.listen(at.port, at.host, () => resolve());
  });
  return server;
}
