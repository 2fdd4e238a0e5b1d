// The client reader of edgepass serve: reads ahead up to a bound, then pauses; each wait ends
// with data, the end, or its own timeout, though one timer serves every wait.
import { EventEmitter } from "node:events";
import type net from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnReader } from "../../src/adapter/node/conn-reader";

class FakeSocket extends EventEmitter {
  paused = false;
  pauses = 0;
  resumes = 0;
  pause() {
    this.paused = true;
    this.pauses++;
    return this;
  }
  resume() {
    this.paused = false;
    this.resumes++;
    return this;
  }
  isPaused() {
    return this.paused;
  }
}

function reader() {
  const sock = new FakeSocket();
  return { sock, r: new ConnReader(sock as unknown as net.Socket) };
}

describe("ConnReader", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("keeps reading while little waits, and pauses once 16 KiB wait untaken", async () => {
    const { sock, r } = reader();
    sock.emit("data", Buffer.alloc(1000));
    expect(sock.pauses).toBe(0);
    sock.emit("data", Buffer.alloc(16 * 1024));
    expect(sock.paused).toBe(true);
    expect(r.buf.length).toBe(1000 + 16 * 1024);
    r.take(r.buf.length);
    const more = r.more(1000);
    expect(sock.paused).toBe(false);
    sock.emit("data", Buffer.from("x"));
    await expect(more).resolves.toBe("data");
  });

  it("a wait with no byte times out after its own time, not an earlier wait's", async () => {
    const { sock, r } = reader();
    // A long wait answered at once leaves its timer set...
    const first = r.more(60_000);
    sock.emit("data", Buffer.from("a"));
    await expect(first).resolves.toBe("data");
    r.take(1);
    // ...a shorter one still times out at its own time,
    const short = r.more(100);
    let shortHow: string | undefined;
    void short.then((h) => (shortHow = h));
    await vi.advanceTimersByTimeAsync(99);
    expect(shortHow).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2);
    expect(shortHow).toBe("timeout");
    // ...and a longer one after a shorter timer does not end when that timer fires.
    const s2 = r.more(10);
    sock.emit("data", Buffer.from("b"));
    await expect(s2).resolves.toBe("data");
    r.take(1);
    const long = r.more(500);
    let longHow: string | undefined;
    void long.then((h) => (longHow = h));
    await vi.advanceTimersByTimeAsync(100);
    expect(longHow).toBeUndefined();
    await vi.advanceTimersByTimeAsync(401);
    expect(longHow).toBe("timeout");
  });

  it("ends a wait at the end of the stream, and answers eof after it", async () => {
    const { sock, r } = reader();
    const w = r.more(1000);
    sock.emit("end");
    await expect(w).resolves.toBe("eof");
    await expect(r.more(1000)).resolves.toBe("eof");
  });

  it("leaves no timer behind a closed connection", async () => {
    const { sock, r } = reader();
    const w = r.more(60_000);
    sock.emit("data", Buffer.from("a"));
    await w;
    expect(vi.getTimerCount()).toBe(1);
    sock.emit("close");
    expect(vi.getTimerCount()).toBe(0);
  });
});
