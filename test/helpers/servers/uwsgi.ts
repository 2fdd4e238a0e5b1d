// uWSGI serving a WSGI app on a free loopback port, speaking the protocol asked for: FastCGI
// (--fastcgi-socket), SCGI (--scgi-socket) or its own uwsgi protocol (--socket). Debian's
// uWSGI is modular: the Python 3 plugin comes from uwsgi-plugin-python3.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { freePort } from "../php-fpm.js";
import { findProgram, launch, requireFile, type Server } from "./launch.js";

export type UwsgiSocket = "fastcgi" | "scgi" | "uwsgi";

export interface UwsgiOptions {
  socket: UwsgiSocket;
  /** The WSGI file defining `application`. */
  wsgiFile: string;
  /** Worker processes. Default 2. */
  processes?: number;
}

const SOCKET_FLAG: Record<UwsgiSocket, string> = { fastcgi: "--fastcgi-socket", scgi: "--scgi-socket", uwsgi: "--socket" };

export async function startUwsgi(opts: UwsgiOptions): Promise<Server> {
  const bin = findProgram("uwsgi", "uwsgi");
  requireFile("/usr/lib/uwsgi/plugins/python3_plugin.so", "uWSGI's Python 3 plugin", "uwsgi-plugin-python3");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `edgepass-uwsgi-${opts.socket}-`));
  return launch({
    name: `uWSGI (${opts.socket})`,
    command: bin,
    args: [
      "--plugin", "python3",
      SOCKET_FLAG[opts.socket], `127.0.0.1:${port}`,
      "--chdir", dirname(opts.wsgiFile),
      "--wsgi-file", basename(opts.wsgiFile),
      "--need-app", // a broken app is a startup failure, not a 500 per request
      "--master",
      "--processes", String(opts.processes ?? 2),
      // uWSGI 2.0 takes SIGTERM as "reload"; the tests mean "exit".
      "--die-on-term",
      "--pidfile", join(dir, "uwsgi.pid"),
      // Room for long CGI params (the default 4 KiB request-vars buffer is the usual
      // "invalid request block size" error behind a gateway).
      "--buffer-size", "32768",
    ],
    port,
    dir,
  });
}

export interface UwsgiAllProtocols {
  ports: Record<UwsgiSocket | "http", number>;
  server: Server;
}

/** One uWSGI serving `wsgiFile` on a FastCGI, an SCGI, a uwsgi and an HTTP socket at once:
 *  the same app behind all four protocols, so every difference a suite sees is the gateway's. */
export async function startUwsgiAllProtocols(wsgiFile: string): Promise<UwsgiAllProtocols> {
  const bin = findProgram("uwsgi", "uwsgi");
  requireFile("/usr/lib/uwsgi/plugins/python3_plugin.so", "uWSGI's Python 3 plugin", "uwsgi-plugin-python3");
  const ports = { fastcgi: await freePort(), scgi: await freePort(), uwsgi: await freePort(), http: await freePort() };
  const server = await launch({
    name: "uWSGI (all protocols)",
    command: bin,
    args: [
      "--plugin", "python3",
      "--fastcgi-socket", `127.0.0.1:${ports.fastcgi}`,
      "--scgi-socket", `127.0.0.1:${ports.scgi}`,
      "--socket", `127.0.0.1:${ports.uwsgi}`,
      "--http-socket", `127.0.0.1:${ports.http}`,
      "--chdir", dirname(wsgiFile),
      "--wsgi-file", basename(wsgiFile),
      "--need-app", "--master", "--processes", "2", "--die-on-term",
      "--buffer-size", "32768",
      // --http-socket answers HTTP/1.1 and closes the connection after every response without
      // saying so; a client that keeps it (the platform's fetch()) fails its next request on
      // it. This makes it say so. (--http11-socket keeps connections, but answers a HEAD with
      // the body too and takes 4 s for the 4 MiB page, one delayed ACK per chunk.)
      "--add-header", "Connection: close",
    ],
    port: ports.http,
  });
  return { ports, server };
}
