// The client side of one connection as a buffer the request loop takes bytes from. The socket
// reads on until READ_AHEAD bytes wait untaken, then pauses until the loop asks for more, so a
// client sending faster than edgepass forwards fills its own TCP window, not our memory
// (pipelined requests beyond that wait in the kernel too). Pausing after every read, and a
// timer per wait, cost a small request a few microseconds: the socket is resumed only when it
// was paused, and one timer per connection serves every wait.
import type net from "node:net";

export type More = "data" | "eof" | "timeout";

/** Untaken bytes at which the socket stops reading. */
const READ_AHEAD = 16 * 1024;

export class ConnReader {
  /** Bytes received and not yet taken. */
  buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  /** The wait on now: when it times out (Date.now() time) and how it ends. */
  private until = 0;
  private settle: ((how: More) => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  constructor(private readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      if (this.buf.length >= READ_AHEAD) sock.pause();
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    sock.on("end", end);
    sock.on("close", () => {
      end();
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
    });
  }

  get eof(): boolean {
    return this.ended;
  }

  /** Waits for at least one more byte, the end of the stream, or `ms` without a byte. */
  more(ms: number): Promise<More> {
    if (this.ended) return Promise.resolve("eof");
    return new Promise<More>((resolve) => {
      const have = this.buf.length;
      this.until = Date.now() + ms;
      this.settle = (how: More) => {
        this.wake = null;
        this.settle = null;
        resolve(how);
      };
      this.wake = () => {
        if (this.buf.length > have) this.settle?.("data");
        else if (this.ended) this.settle?.("eof");
      };
      // The timer set for an earlier wait serves this one when it fires no later.
      if (this.until < this.timerAt) this.arm(this.until);
      if (this.sock.isPaused()) this.sock.resume();
    });
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
    // What waits is held by the socket, never by this timer.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.settle === null) return;
    if (Date.now() >= this.until) this.settle("timeout");
    else this.arm(this.until);
  };
}
