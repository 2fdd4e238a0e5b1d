// Every way the gateway reaches an origin: each protocol, direct, and pooled where the
// protocol has a pool (FastCGI keep-alive, HTTP/1.1 keep-alive; SCGI and uwsgi servers close
// after every response, so those are always direct), and HTTP through the platform's fetch().
// One config holds them all: /<id>/… goes to the conformance app, /rogue-<id>/… to the
// scripted origin of that protocol.
import type { ConformanceOrigins } from "./origins.js";

export type Protocol = "fastcgi" | "scgi" | "uwsgi" | "http";

export interface Variant {
  /** For test names. */
  name: string;
  /** Upstream name and route prefix. */
  id: string;
  protocol: Protocol;
  /** The upstream's pool/via keys. */
  keys: string;
  /** Whether /rogue-<id>/ routes to a scripted origin (not through fetch(), whose parser is
   *  the platform's). */
  rogue: boolean;
  /** Through the platform's fetch(), not a socket of ours. */
  viaFetch?: boolean;
}

export const variants: Variant[] = [
  { name: "fastcgi direct", id: "fastcgi-direct", protocol: "fastcgi", keys: 'pool = "direct"', rogue: true },
  { name: "fastcgi pooled", id: "fastcgi-pooled", protocol: "fastcgi", keys: 'pool = "pooled"\nmax_connections = 4', rogue: true },
  { name: "scgi", id: "scgi", protocol: "scgi", keys: "", rogue: true },
  { name: "uwsgi", id: "uwsgi", protocol: "uwsgi", keys: "", rogue: true },
  { name: "http direct", id: "http-direct", protocol: "http", keys: 'pool = "direct"', rogue: true },
  { name: "http pooled", id: "http-pooled", protocol: "http", keys: 'pool = "pooled"\nmax_connections = 4', rogue: true },
  { name: 'http via = "fetch"', id: "http-fetch", protocol: "http", keys: 'via = "fetch"', rogue: false, viaFetch: true },
];

export function conformanceConfig(o: ConformanceOrigins): string {
  let toml =
    // The uwsgi 16-bit vars case needs a head past serve's default 32k max_header to reach
    // the uwsgi encoder; dev and the Worker ignore [serve].
    `[serve]\nmax_header = "128k"\n\n`;
  for (const v of variants) {
    const target =
      v.viaFetch ? `url = "http://127.0.0.1:${o.app.http}"` : `servers = ["127.0.0.1:${o.app[v.protocol]}"]`;
    toml += `[upstreams.${v.id}]\nprotocol = "${v.protocol}"\n${target}\nread_timeout = "10s"\n${v.keys}\n\n`;
    toml += `[[routes]]\nmatch = "^~ /${v.id}/"\nupstream = "${v.id}"\n\n`;
    if (!v.rogue) continue;
    const rogue = v.protocol === "fastcgi" ? o.rogueFastcgi : o.rogueStream;
    toml += `[upstreams.rogue-${v.id}]\nprotocol = "${v.protocol}"\nservers = ["127.0.0.1:${rogue}"]\nread_timeout = "2s"\n${v.keys}\n\n`;
    toml += `[[routes]]\nmatch = "^~ /rogue-${v.id}/"\nupstream = "rogue-${v.id}"\n\n`;
  }
  return toml;
}
