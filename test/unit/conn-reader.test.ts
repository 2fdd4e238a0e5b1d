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
    /** A wait answered by a byte at once, which leaves the timer it set behind. */
    const answered = async (ms: number) => {
      const w = r.more(ms);
      sock.emit("data", Buffer.from("a"));
      await expect(w).resolves.toBe("data");
      r.take(1);
    };
    /** A wait with no byte: still on just before `ms`, timed out just after. */
    const timesOutAt = async (ms: number) => {
      let how: string | undefined;
      void r.more(ms).then((h) => (how = h));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(how, `${ms} ms wait, before its time`).toBeUndefined();
      await vi.advanceTimersByTimeAsync(2);
      expect(how, `${ms} ms wait, after its time`).toBe("timeout");
    };
    // A shorter wait after a long one's timer, and a longer one after a short one's.
    await answered(60_000);
    await timesOutAt(100);
    await answered(10);
    await timesOutAt(500);
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
