// The client side of one connection as a buffer the request loop takes bytes from. The socket
// reads on until READ_AHEAD bytes wait untaken, then pauses until the loop asks for more, so a
// client sending faster than edgepass forwards fills its own TCP window, not our memory
// (pipelined requests beyond that wait in the kernel too). Pausing after every read, and a
// timer per wait, cost a small request a few microseconds: the socket is resumed only when it
// was paused, and one Watchdog per connection times every wait.
import type net from "node:net";
import { Watchdog } from "../../core/deadline.js";

export type More = "data" | "eof" | "timeout";

/** Untaken bytes at which the socket stops reading. */
const READ_AHEAD = 16 * 1024;

export class ConnReader {
  /** Bytes received and not yet taken. */
  buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  /** How the wait on now ends. */
  private settle: ((how: More) => void) | null = null;
  private readonly watch = new Watchdog(0, () => this.settle?.("timeout"));

  private readonly onData = (d: Buffer): void => {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.buf.length >= READ_AHEAD) this.sock.pause();
    this.wake?.();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };

  constructor(private readonly sock: net.Socket) {
    sock.on("data", this.onData);
    sock.on("end", this.onEnd);
    sock.on("close", () => {
      this.onEnd();
      this.watch.dispose();
    });
  }

  /** Stops reading for the request loop and hands over what was read and not taken: the
   *  connection is someone else's from now on (a switched one, adapter/node/tunnel.ts). */
  detach(): Buffer {
    this.sock.off("data", this.onData);
    this.sock.off("end", this.onEnd);
    this.watch.dispose();
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  get eof(): boolean {
    return this.ended;
  }

  /** Waits for at least one more byte, the end of the stream, or `ms` without a byte. */
  more(ms: number): Promise<More> {
    if (this.ended) return Promise.resolve("eof");
    return new Promise<More>((resolve) => {
      const have = this.buf.length;
      this.settle = (how: More) => {
        this.watch.stop();
        this.wake = null;
        this.settle = null;
        resolve(how);
      };
      this.wake = () => {
        if (this.buf.length > have) this.settle?.("data");
        else if (this.ended) this.settle?.("eof");
      };
      this.watch.start(ms);
      if (this.sock.isPaused()) this.sock.resume();
    });
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}
