// spawn-fcgi launching fcgiwrap: spawn-fcgi binds the loopback port and hands the listening
// socket to fcgiwrap as its stdin (the classic Debian/lighttpd way to run a FastCGI program).
import { freePort } from "../php-fpm.js";
import { findProgram, launch, type Server } from "./launch.js";

export interface SpawnFcgiOptions {
  /** fcgiwrap's preforked processes (-c). Default 2. */
  children?: number;
}

export async function startSpawnFcgi(opts: SpawnFcgiOptions = {}): Promise<Server> {
  const spawnFcgi = findProgram("spawn-fcgi", "spawn-fcgi");
  const fcgiwrap = findProgram("fcgiwrap", "fcgiwrap");
  const port = await freePort();
  // As root, drop to nobody the way a real deployment does (the scripts must then be
  // world-readable: see appsCopy()).
  const user = process.getuid?.() === 0 ? ["-u", "nobody", "-g", "nogroup"] : [];
  return launch({
    name: "spawn-fcgi + fcgiwrap",
    command: spawnFcgi,
    // -n: exec fcgiwrap in place of spawn-fcgi, so the process we stop is the FastCGI server.
    args: ["-a", "127.0.0.1", "-p", String(port), "-n", ...user, "--", fcgiwrap, "-c", String(opts.children ?? 2)],
    port,
  });
}
