// fcgiwrap on a free loopback port: the FastCGI-to-CGI bridge nginx sites use for CGI
// scripts. It runs the file named by SCRIPT_FILENAME, so the gateway needs a `root`.
import { freePort } from "../php-fpm.js";
import { findProgram, launch, type Server } from "./launch.js";

export interface FcgiwrapOptions {
  /** Preforked processes (-c); each serves one FastCGI connection at a time. Default 2. */
  children?: number;
}

export async function startFcgiwrap(opts: FcgiwrapOptions = {}): Promise<Server> {
  const bin = findProgram("fcgiwrap", "fcgiwrap");
  const port = await freePort();
  // No -f: a script's stderr stays in this log instead of travelling as FCGI_STDERR.
  return launch({ name: "fcgiwrap", command: bin, args: ["-c", String(opts.children ?? 2), "-s", `tcp:127.0.0.1:${port}`], port });
}
