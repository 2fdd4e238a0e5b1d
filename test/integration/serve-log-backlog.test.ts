// A log reader that stops reading: `edgepass serve` (and `edgepass dev`, which relays
// workerd's output through the same sink) keeps answering, holds no more than its bound of
// unwritten log in memory (the lines past it are dropped, where Node would keep them all), and
// once the reader is back says how many request lines it dropped, before the lines that
// follow. Judged on the process's own stdout pipe, which this test stops reading, with
// requests sent on raw sockets.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOTH_HOSTS, type Dev } from "../helpers/process.js";

const TOML = `[[routes]]\nmatch = "^~ /r/"\nreturn = "200 ok"\n`;

/** Sends `count` GETs of `target`, `batch` at a time pipelined on one connection, and counts
 *  the answers (each one "200 ok" with its length). */
function pipelined(port: number, target: string, count: number, batch: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const one = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    let sent = 0;
    let answered = 0;
    let pending = "";
    const send = () => {
      const n = Math.min(batch, count - sent);
      sent += n;
      sock.write(one.repeat(n));
    };
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      pending += d;
      for (let at = pending.indexOf("HTTP/1.1 200 "); at >= 0; at = pending.indexOf("HTTP/1.1 200 ")) {
        const end = pending.indexOf("\r\n\r\nok", at);
        if (end < 0) break;
        pending = pending.slice(end + 6);
        answered++;
      }
      if (answered === count) {
        sock.end();
        resolve(answered);
      } else if (answered === sent) send();
    });
    sock.on("error", reject);
    send();
  });
}

describe.each(BOTH_HOSTS)("%s, a log reader that stops", (_name, start) => {
  let gw: Dev;

  beforeAll(async () => {
    gw = await start(TOML);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it("drops request lines past its backlog bound, keeps answering, and reports the count once the reader is back", async () => {
    const { run } = gw;
    const port = Number(new URL(gw.base).port);
    const stdout = run.child.stdout!;
    run.stdout = "";
    // The reader stops: the kernel's pipe fills, then what the process cannot write waits in
    // its memory.
    stdout.pause();
    // Lines of about 2.2 KB (the path is logged up to 2,048 characters): 12,000 of them are
    // some 26 MB, past the 16 MiB the sink lets wait.
    const target = `/r/${"a".repeat(2000)}`;
    const counts = await Promise.all([0, 1, 2, 3].map(() => pipelined(port, target, 3000, 50)));
    expect(counts).toEqual([3000, 3000, 3000, 3000]);
    // The reader is back; one more request after the backlog drained.
    stdout.resume();
    const deadline = Date.now() + 20_000;
    let last = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      if (run.stdout.length === last) break;
      last = run.stdout.length;
    }
    expect(await pipelined(port, "/r/last", 1, 1)).toBe(1);
    while (!run.stdout.includes('"path":"/r/last"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const lines = run.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const gaps = lines.filter((l) => l.event === "log_lines_dropped");
    expect(gaps.length).toBe(1);
    const dropped = gaps[0].lines as number;
    const written = lines.filter((l) => l.event === "request" && String(l.path).startsWith("/r/a")).length;
    expect(dropped).toBeGreaterThan(0);
    // Every request is either in the log or in the count.
    expect(written + dropped).toBe(12_000);
    // The count comes where the gap is: before the line of the request after it.
    expect(lines.indexOf(gaps[0])).toBeLessThan(lines.findIndex((l) => l.path === "/r/last"));
  }, 60_000);
});
