// The timeouts of one upstream connection on one timer: connect_timeout, then send_timeout
// and read_timeout for its writes and reads (UpstreamIO). Each still ends its own wait at its
// own time with its own error, and nothing is left behind when the connection closes.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionTimers, Deadlines } from "../../src/core/deadline";
import { GatewayError } from "../../src/core/errors";
import type { Duplex } from "../../src/core/transport";
import { UpstreamIO } from "../../src/core/upstream-io";

/** A connection whose reads and writes wait until the test settles them; closing it ends the
 *  pending read with the end of the stream and fails the pending writes, as a socket does. */
function connection(timers: ConnectionTimers) {
  const reads: Array<(chunk: Uint8Array | null) => void> = [];
  const writes: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  let closed = 0;
  const conn: Duplex = {
    get readable(): never {
      throw new Error("not used");
    },
    get writable(): never {
      throw new Error("not used");
    },
    close: async () => {
      closed++;
      for (const r of reads.splice(0)) r(null);
      for (const w of writes.splice(0)) w.reject(new Error("socket closed"));
    },
    direct: {
      read: () => new Promise((r) => reads.push(r)),
      write: () => new Promise<void>((resolve, reject) => writes.push({ resolve, reject })),
    },
    timers,
  };
  return { conn, reads, writes, closed: () => closed };
}

const code = (e: unknown) => (e instanceof GatewayError ? [e.status, e.code] : e);

describe("ConnectionTimers", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sets one timer for the connect, every write and every read, and clears it at close", async () => {
    const set = vi.spyOn(globalThis, "setTimeout");
    const timers = new ConnectionTimers();
    await timers.race("connect", Promise.resolve(), 5_000, () => new GatewayError("UPSTREAM_CONNECT_TIMEOUT", 504, "connect"));
    const { conn, reads, writes } = connection(timers);
    const io = new UpstreamIO(conn, "origin:9000", 60_000, 60_000);
    for (let i = 0; i < 3; i++) {
      const written = io.write(new Uint8Array(8));
      writes.shift()!.resolve();
      await written;
      const read = io.read();
      reads.shift()!(new Uint8Array(8));
      expect((await read)!.length).toBe(8);
    }
    expect(set).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
    await io.close();
    expect(vi.getTimerCount()).toBe(0);
    set.mockRestore();
  });

  it("connect_timeout rejects the connect with the caller's error", async () => {
    const timers = new ConnectionTimers();
    const connect = timers.race("connect", new Promise(() => {}), 1_000, () => new GatewayError("UPSTREAM_CONNECT_TIMEOUT", 504, "connect"));
    const outcome = connect.catch(code);
    await vi.advanceTimersByTimeAsync(999);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toEqual([504, "UPSTREAM_CONNECT_TIMEOUT"]);
  });

  it("send_timeout closes the connection and fails the write and the read with 504 UPSTREAM_SEND_TIMEOUT", async () => {
    const timers = new ConnectionTimers();
    const { conn, closed } = connection(timers);
    const io = new UpstreamIO(conn, "origin:9000", 60_000, 1_000);
    const write = io.write(new Uint8Array(8)).catch(code);
    const read = io.read().catch(code);
    await vi.advanceTimersByTimeAsync(999);
    expect(closed()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed()).toBe(1);
    expect(await write).toEqual([504, "UPSTREAM_SEND_TIMEOUT"]);
    expect(await read).toEqual([504, "UPSTREAM_SEND_TIMEOUT"]);
  });

  it("a write taken in time stops its deadline; the read waits out its own read_timeout", async () => {
    const timers = new ConnectionTimers();
    const { conn, writes, closed } = connection(timers);
    const io = new UpstreamIO(conn, "origin:9000", 5_000, 1_000);
    const write = io.write(new Uint8Array(8));
    const read = io.read().catch(code);
    await vi.advanceTimersByTimeAsync(500);
    writes.shift()!.resolve();
    await write;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(closed()).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(await read).toEqual([504, "UPSTREAM_READ_TIMEOUT"]);
    expect(closed()).toBe(1);
  });

  it("send_timeout runs from the latest write while several wait, as nginx's between two writes", async () => {
    const timers = new ConnectionTimers();
    const { conn, writes, closed } = connection(timers);
    const io = new UpstreamIO(conn, "origin:9000", 0, 1_000);
    const first = io.write(new Uint8Array(8));
    await vi.advanceTimersByTimeAsync(600);
    const second = io.write(new Uint8Array(8)).catch(code);
    // The first is taken: the second is still timed, from its own start.
    writes.shift()!.resolve();
    await first;
    await vi.advanceTimersByTimeAsync(900);
    expect(closed()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(closed()).toBe(1);
    expect(await second).toEqual([504, "UPSTREAM_SEND_TIMEOUT"]);
  });

  it("a write that fails on its own is 502 UPSTREAM_IO", async () => {
    const timers = new ConnectionTimers();
    const { conn, writes } = connection(timers);
    const io = new UpstreamIO(conn, "origin:9000", 0, 1_000);
    const write = io.write(new Uint8Array(8)).catch(code);
    writes.shift()!.reject(new Error("EPIPE"));
    expect(await write).toEqual([502, "UPSTREAM_IO"]);
    await io.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("many waits on one connection: each fires at its own time, a stopped one never, whatever order they stop in", () => {
    const timers = new ConnectionTimers<object>();
    const keys = Array.from({ length: 5 }, () => ({}));
    const fired: number[] = [];
    keys.forEach((k, i) => timers.start(k, 1_000 * (i + 1), () => fired.push(i)));
    // Stopping the first and a middle one moves later waits into their places.
    timers.stop(keys[0]);
    timers.stop(keys[2]);
    // A wait started again replaces its deadline; a stopped key may start again.
    timers.start(keys[4], 500, () => fired.push(40));
    timers.start(keys[2], 6_000, () => fired.push(20));
    vi.advanceTimersByTime(600);
    expect(fired).toEqual([40]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([40, 1, 3, 20]);
    expect(vi.getTimerCount()).toBe(0);
    timers.start(keys[1], 1_000, () => fired.push(10));
    timers.dispose();
    vi.advanceTimersByTime(2_000);
    expect(fired).toEqual([40, 1, 3, 20]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a wait that ends another as it fires leaves the rest to fire in time", () => {
    const timers = new ConnectionTimers<string>();
    const fired: string[] = [];
    timers.start("a", 1_000, () => (fired.push("a"), timers.stop("b")));
    timers.start("b", 1_000, () => fired.push("b"));
    timers.start("c", 1_000, () => fired.push("c"));
    timers.start("d", 1_000, () => fired.push("d"));
    vi.advanceTimersByTime(1_001);
    expect(fired.sort()).toEqual(["a", "c", "d"]);
  });
});

describe("Deadlines", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a disarmed key never falls due until it is set again", () => {
    const due: Array<[object, string]> = [];
    const d = new Deadlines<object, string>((k, v) => due.push([k, v]));
    const a = {};
    const b = {};
    d.set(a, Date.now() + 1_000, "a1");
    d.set(b, Date.now() + 2_000, "b1");
    d.disarm(a);
    vi.advanceTimersByTime(1_500);
    expect(due).toEqual([]);
    d.set(a, Date.now() + 1_000, "a2");
    vi.advanceTimersByTime(1_000);
    expect(due).toEqual([
      [b, "b1"],
      [a, "a2"],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
