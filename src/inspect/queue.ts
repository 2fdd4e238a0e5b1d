// The bytes of one direction not yet decoded, and where they sit in that direction's stream.
import { concatBytes } from "../core/bytes.js";

export class ByteQueue {
  private buf: Uint8Array = new Uint8Array(0);
  /** Stream offset of the first byte still held. */
  offset = 0;

  push(bytes: Uint8Array): void {
    this.buf = this.buf.length ? concatBytes([this.buf, bytes]) : bytes;
  }

  get bytes(): Uint8Array {
    return this.buf;
  }

  get length(): number {
    return this.buf.length;
  }

  /** Removes and returns the first `n` bytes. */
  take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += out.length;
    return out;
  }
}
