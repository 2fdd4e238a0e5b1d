// gunicorn (sync workers) serving a WSGI app over HTTP/1.1 on a free loopback port. Sync
// workers answer one request per connection and then close it (no keep-alive).
import { basename, dirname } from "node:path";
import { freePort } from "../php-fpm.js";
import { findProgram, launch, type Server } from "./launch.js";

export interface GunicornOptions {
  /** The Python module file defining `application`. */
  wsgiFile: string;
  workers?: number;
}

export async function startGunicorn(opts: GunicornOptions): Promise<Server> {
  const bin = findProgram("gunicorn", "gunicorn");
  const port = await freePort();
  const module = basename(opts.wsgiFile).replace(/\.py$/, "");
  return launch({
    name: "gunicorn",
    command: bin,
    args: [
      "--bind", `127.0.0.1:${port}`,
      "--workers", String(opts.workers ?? 2),
      "--chdir", dirname(opts.wsgiFile),
      "--graceful-timeout", "2",
      "--error-logfile", "-",
      `${module}:application`,
    ],
    port,
  });
}
