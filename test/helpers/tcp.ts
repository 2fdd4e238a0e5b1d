// What the kernel says of this machine's TCP connections, for tests that must know a
// connection is open before they go on (a queue's order, a pool's count) without a timer.
import { readFileSync } from "node:fs";

/** Established TCP connections whose far end is 127.0.0.1:`port` (Linux /proc/net/tcp). */
export function connectionsTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[2] === `0100007F:${hex}` && f[3] === "01";
    }).length;
}
