// The client side of one connection as a buffer the request loop takes bytes from. The socket
// stays paused until the loop asks for more, so a client sending faster than edgepass forwards
// fills its own TCP window, not our memory (pipelined requests wait in the kernel too).
import type net from "node:net";

export type More = "data" | "eof" | "timeout";

export class ConnReader {
  /** Bytes received and not yet taken. */
  buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly sock: net.Socket) {
    sock.pause();
    sock.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      sock.pause();
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    sock.on("end", end);
    sock.on("close", end);
  }

  get eof(): boolean {
    return this.ended;
  }

  /** Waits for at least one more byte, the end of the stream, or `ms` without a byte. */
  more(ms: number): Promise<More> {
    if (this.ended) return Promise.resolve("eof");
    return new Promise<More>((resolve) => {
      const have = this.buf.length;
      const timer = setTimeout(() => settle("timeout"), ms);
      const settle = (how: More) => {
        clearTimeout(timer);
        this.wake = null;
        this.sock.pause();
        resolve(how);
      };
      this.wake = () => {
        if (this.buf.length > have) settle("data");
        else if (this.ended) settle("eof");
      };
      this.sock.resume();
    });
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}
