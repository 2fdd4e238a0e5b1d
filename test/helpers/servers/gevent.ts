// gevent's WSGIServer (gevent.pywsgi) serving a WSGI app over HTTP/1.1 on a free loopback
// port: a plain Python HTTP server with keep-alive and chunked responses.
import { join } from "node:path";
import { freePort } from "../php-fpm.js";
import { debianPython } from "./apps.js";
import { launch, type Server } from "./launch.js";

export interface GeventOptions {
  /** The directory holding serve_gevent.py and the app.py it serves (test/fixtures/apps/wsgi). */
  appDir: string;
}

export async function startGevent(opts: GeventOptions): Promise<Server> {
  const python = debianPython("gevent", "python3-gevent");
  const port = await freePort();
  return launch({
    name: "gevent WSGIServer",
    command: python,
    args: [join(opts.appDir, "serve_gevent.py"), String(port)],
    port,
  });
}
