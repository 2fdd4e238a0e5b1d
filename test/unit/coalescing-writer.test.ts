// The Node host's socket writer: what a turn of the event loop writes to a socket leaves in one
// system call, every socket written in the turn is released at its end (or early, in a large
// burst, or when one is full), and nothing is lost or reordered. Real loopback sockets.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CoalescingWriter, WRITE_AHEAD } from "../../src/adapter/node/socket-streams";

const open: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** `n` connected pairs: our end (written) and the peer's (read). */
async function pairs(n: number): Promise<Array<{ ours: net.Socket; peer: net.Socket }>> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const ours: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    ours.push(s);
  }
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
  open.push(...ours, ...accepted);
  // Accepted in the order connected: each peer is found by the port it sees.
  return ours.map((s) => ({ ours: s, peer: accepted.find((a) => a.remotePort === s.localPort)! }));
}

function received(peer: net.Socket, bytes: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  return new Promise((resolve) => {
    peer.on("data", (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= bytes) resolve(Buffer.concat(got));
    });
  });
}

const turnEnd = () => new Promise((r) => setImmediate(r));

describe("CoalescingWriter", () => {
  it("sends what one turn wrote to a socket in one system call", async () => {
    const [{ ours, peer }] = await pairs(1);
    const calls = { write: 0, writev: 0 };
    const sock = ours as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = sock._write.bind(ours);
    const writev = sock._writev.bind(ours);
    sock._write = (...a) => (calls.write++, write(...a));
    sock._writev = (...a) => (calls.writev++, writev(...a));
    const body = received(peer, 12);
    const w = new CoalescingWriter(ours);
    expect(w.write("HTTP")).toBeNull();
    expect(w.write(Buffer.from("/1.1"), " 200")).toBeNull();
    // Held until the turn ends.
    expect(calls).toEqual({ write: 0, writev: 0 });
    await turnEnd();
    expect(calls).toEqual({ write: 0, writev: 1 });
    expect((await body).toString()).toBe("HTTP/1.1 200");
    expect(ours.writableCorked).toBe(0);
  });

  it("sends a write that must not wait at once, unless the socket holds writes already", async () => {
    const [{ ours, peer }] = await pairs(1);
    let writes = 0;
    const sock = ours as unknown as { _write: (...a: unknown[]) => void };
    const write = sock._write.bind(ours);
    sock._write = (...a) => (writes++, write(...a));
    const body = received(peer, 9);
    const w = new CoalescingWriter(ours);
    expect(w.writeNow([Buffer.from("now;")])).toBeNull();
    expect(writes).toBe(1);
    w.write("held;");
    // Behind a held write, it waits with it: the order on the wire is the order written.
    w.writeNow([Buffer.from("x")]);
    expect(writes).toBe(1);
    await turnEnd();
    expect((await body).toString()).toBe("now;held;x");
  });

  it("releases every socket of a large burst, in order, none left held", async () => {
    const all = await pairs(150);
    const bodies = all.map(({ peer }, i) => received(peer, `first ${i};second ${i};`.length));
    for (let i = 0; i < all.length; i++) new CoalescingWriter(all[i].ours).write(`first ${i};`);
    for (let i = 0; i < all.length; i++) new CoalescingWriter(all[i].ours).write(`second ${i};`);
    // The first ones of the burst did not wait for the turn to end.
    expect(all[0].ours.writableCorked).toBe(0);
    await turnEnd();
    for (const { ours } of all) expect(ours.writableCorked).toBe(0);
    const texts = await Promise.all(bodies);
    texts.forEach((t, i) => expect(t.toString()).toBe(`first ${i};second ${i};`));
  });

  it("sends at once and waits for the kernel when a socket is full", async () => {
    const [{ ours, peer }] = await pairs(1);
    peer.pause();
    const big = Buffer.alloc(WRITE_AHEAD + 1, 7);
    const w = new CoalescingWriter(ours);
    const full = w.write(big);
    expect(full).toBeInstanceOf(Promise);
    expect(ours.writableCorked).toBe(0);
    const body = received(peer, big.length);
    peer.resume();
    await full;
    expect((await body).equals(big)).toBe(true);
  });

  it("refuses a write to a closed socket and says the bytes are done with", async () => {
    const [{ ours }] = await pairs(1);
    ours.destroy();
    let done = false;
    await expect(new CoalescingWriter(ours).writeThen(["x"], () => (done = true))).rejects.toThrow(/closed/);
    expect(done).toBe(true);
  });
});
