// What `edgepass serve` notes at start: a FastCGI upstream on this machine reached over TCP
// with kept connections, where php-fpm's Nagle and this side's delayed ACK cost about 40 ms per
// page over 8 KiB (bench/fpm-socket.bench.ts); nothing for any other upstream.
import { describe, expect, it } from "vitest";
import { startNotes } from "../../src/adapter/node/cli/notes";
import { loadConfig } from "../../src/config/load";

const notes = (upstream: string) => startNotes(loadConfig(`${upstream}\n[[routes]]\nmatch = "/"\nupstream = "app"\n`, "t.toml", undefined, "server"));

describe("startNotes", () => {
  it("names a pooled FastCGI upstream on a loopback address, with the Unix socket to use instead", () => {
    for (const [server, shown] of [["127.0.0.1:9000", "127.0.0.1:9000"], ["localhost:9000", "localhost:9000"], ["[::1]:9000", "[::1]:9000"], ["127.0.1.1:9001", "127.0.1.1:9001"]]) {
      const n = notes(`[upstreams.app]\nprotocol = "fastcgi"\nservers = ["${server}"]`);
      expect(n, server).toHaveLength(1);
      expect(n[0]).toContain(`upstream "app" reaches FastCGI on this machine over TCP (${shown})`);
      expect(n[0]).toContain('servers = ["unix:/run/php/php-fpm.sock"]');
    }
  });

  it("says nothing for a Unix socket, another machine, pool = direct, or another protocol", () => {
    for (const upstream of [
      `[upstreams.app]\nprotocol = "fastcgi"\nservers = ["unix:/run/php/php-fpm.sock"]`,
      `[upstreams.app]\nprotocol = "fastcgi"\nservers = ["10.0.0.5:9000"]`,
      `[upstreams.app]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\npool = "direct"`,
      `[upstreams.app]\nprotocol = "http"\nservers = ["127.0.0.1:8000"]`,
      `[upstreams.app]\nprotocol = "scgi"\nservers = ["127.0.0.1:4000"]`,
    ]) {
      expect(notes(upstream), upstream).toEqual([]);
    }
  });
});
