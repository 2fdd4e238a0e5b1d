// What `edgepass serve` says at start about a config that works but will be slow for a reason
// outside edgepass, with what to change. Printed once, on stderr; the config is served as is.
import type { GatewayConfig } from "../../../config/types.js";

/** A FastCGI server on this machine reached over TCP with kept connections (the default):
 *  php-fpm writes its output in 8 KiB pieces with Nagle's algorithm on, so on a kept TCP
 *  connection each piece after the first waits for this side's delayed ACK, about 40 ms, once a
 *  connection has carried a few requests. Node cannot set TCP_QUICKACK on a socket; a Unix
 *  socket has no Nagle (bench/fpm-socket.bench.ts measures all three ways). */
export function startNotes(config: GatewayConfig): string[] {
  const notes: string[] = [];
  for (const [name, u] of Object.entries(config.upstreams)) {
    if (u.protocol !== "fastcgi" || u.pool.mode !== "pooled") continue;
    const local = u.servers.filter((s) => s.path === undefined && isThisMachine(s.host)).map((s) => (s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`));
    if (local.length === 0) continue;
    notes.push(
      `edgepass: note: upstream "${name}" reaches FastCGI on this machine over TCP (${local.join(", ")}). ` +
        `php-fpm leaves Nagle's algorithm on, so on a kept connection an answer of more than 8 KiB waits about 40 ms for each piece after the first ` +
        `(a 16 KiB page: 718 requests/s at p50 44 ms, against 5,790 over a Unix socket, npm run bench fpm-socket). ` +
        `Have php-fpm listen on a Unix socket (listen = /run/php/php-fpm.sock) and name it: servers = ["unix:/run/php/php-fpm.sock"].`,
    );
  }
  return notes;
}

function isThisMachine(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
