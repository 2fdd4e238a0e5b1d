// WebSocket frames (RFC 6455 section 5) for a host that speaks WebSocket to its client itself
// and relays the messages to an origin as the client side of a second WebSocket (the Worker:
// adapter/cloudflare/websocket.ts). What it sends the origin are a client's frames: whole
// messages, FIN set, masked with a fresh key each. What it reads from the origin must be a
// server's frames: unmasked, no extension bits (none was negotiated with the origin),
// control frames short and whole, data frames joined into one message at most `maxMessage`
// long. Anything else is a protocol error the relay answers with a close.
import { concatBytes } from "./bytes.js";

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

/** A close the relay sends because of what it read: the status code (RFC 6455 7.4.1) and why. */
export class FrameError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A whole message (text, binary) or a control frame (close, ping, pong). */
export interface Message {
  opcode: number;
  payload: Uint8Array;
}

/** A client's frame: FIN, `opcode`, masked with a random key (RFC 6455 5.3). */
export function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.byteLength;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = 2 + lengthBytes + 4;
  // Placed so the payload starts on a 4-byte boundary, where it is masked a word at a time.
  const pad = (4 - (head % 4)) % 4;
  const out = new Uint8Array(pad + head + n).subarray(pad);
  out[0] = 0x80 | opcode;
  if (lengthBytes === 0) out[1] = 0x80 | n;
  else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    const view = new DataView(out.buffer, out.byteOffset);
    view.setUint32(2, Math.floor(n / 2 ** 32));
    view.setUint32(6, n >>> 0);
  }
  const key = out.subarray(head - 4, head);
  crypto.getRandomValues(key);
  out.set(payload, head);
  mask(out.subarray(head), key);
  return out;
}

/** XORs `data` in place with the 4-byte `key`, four bytes at a time where `data` starts on a
 *  4-byte boundary (clientFrame places it so). */
function mask(data: Uint8Array, key: Uint8Array): void {
  const n = data.byteLength;
  let i = 0;
  if (data.byteOffset % 4 === 0 && n >= 16) {
    const words = new Uint32Array(data.buffer, data.byteOffset, n >>> 2);
    const k = new Uint32Array(key.slice().buffer)[0];
    for (let w = 0; w < words.length; w++) words[w] ^= k;
    i = words.length * 4;
  }
  for (; i < n; i++) data[i] ^= key[i & 3];
}

/** The payload of a close frame: the code, then the reason in UTF-8 (at most 123 bytes). */
export function closePayload(code: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + Math.min(text.byteLength, 123));
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text.subarray(0, out.byteLength - 2), 2);
  return out;
}

/** A close frame's code and reason; 1005 ("no status") when it carried none. */
export function readClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.byteLength === 0) return { code: 1005, reason: "" };
  if (payload.byteLength === 1) throw new FrameError(1002, "a close frame with a one-byte body");
  const code = (payload[0] << 8) | payload[1];
  if (!sendableCode(code)) throw new FrameError(1002, `a close frame with code ${code}, which may not be sent`);
  let reason: string;
  try {
    reason = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(payload.subarray(2));
  } catch {
    throw new FrameError(1007, "a close reason that is not UTF-8");
  }
  return { code, reason };
}

/** Codes a close frame may carry (RFC 6455 7.4: 1000-1003, 1007-1014 and 3000-4999). */
export const sendableCode = (code: number): boolean => (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);

/** Reads a server's frames as they arrive, in any cuts. */
export class ServerFrames {
  /** Bytes not yet read as frames: store[start..end), grown by doubling, so a large frame
   *  arriving in many reads is copied a bounded number of times. */
  private store = new Uint8Array(4096);
  private start = 0;
  private end = 0;
  /** A fragmented message being joined: its opcode and pieces so far. */
  private opcode = -1;
  private pieces: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxMessage: number) {}

  /** The messages and control frames `bytes` completes, in order. */
  push(bytes: Uint8Array): Message[] {
    // Nothing held back: the frames are read from `bytes` itself (every payload is copied out
    // anyway), and only an unfinished tail is kept.
    const direct = this.start === this.end;
    if (!direct) this.append(bytes);
    let buf = direct ? bytes : this.store.subarray(this.start, this.end);
    const out: Message[] = [];
    for (;;) {
      if (buf.byteLength < 2) break;
      const b0 = buf[0];
      const b1 = buf[1];
      if (b0 & 0x70) throw new FrameError(1002, "a frame with extension bits set, though no extension was agreed");
      if (b1 & 0x80) throw new FrameError(1002, "a masked frame, which a server must not send");
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      let len = b1 & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.byteLength < 4) break;
        len = (buf[2] << 8) | buf[3];
        at = 4;
      } else if (len === 127) {
        if (buf.byteLength < 10) break;
        const high = ((buf[2] << 24) >>> 0) + (buf[3] << 16) + (buf[4] << 8) + buf[5];
        if (high > 0x1fffff) throw new FrameError(1009, "a frame longer than any message this relay takes");
        len = high * 2 ** 32 + (((buf[6] << 24) >>> 0) + (buf[7] << 16) + (buf[8] << 8) + buf[9]);
        at = 10;
      }
      const control = opcode >= 8;
      if (control && (len > 125 || !fin)) throw new FrameError(1002, "a control frame that is fragmented or longer than 125 bytes");
      if (!control && opcode !== OP_CONTINUATION && opcode !== OP_TEXT && opcode !== OP_BINARY) throw new FrameError(1002, `a frame with the unknown opcode ${opcode}`);
      if (control && opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) throw new FrameError(1002, `a frame with the unknown opcode ${opcode}`);
      if (!control && this.size + len > this.maxMessage) throw new FrameError(1009, `a message longer than ${this.maxMessage} bytes`);
      if (buf.byteLength < at + len) break;
      const payload = buf.subarray(at, at + len);
      buf = buf.subarray(at + len);
      if (control) {
        out.push({ opcode, payload: payload.slice() });
        continue;
      }
      if (opcode === OP_CONTINUATION) {
        if (this.opcode < 0) throw new FrameError(1002, "a continuation frame with no message to continue");
      } else if (this.opcode >= 0) {
        throw new FrameError(1002, "a new message before the last one ended");
      } else if (fin) {
        out.push({ opcode, payload: payload.slice() });
        continue;
      } else {
        this.opcode = opcode;
      }
      this.pieces.push(payload.slice());
      this.size += len;
      if (fin) {
        out.push({ opcode: this.opcode, payload: concatBytes(this.pieces) });
        this.opcode = -1;
        this.pieces = [];
        this.size = 0;
      }
    }
    if (direct) {
      this.start = this.end = 0;
      if (buf.byteLength) this.append(buf);
    } else {
      this.start = this.end - buf.byteLength;
      if (this.start === this.end) this.start = this.end = 0;
    }
    return out;
  }

  private append(bytes: Uint8Array): void {
    const live = this.end - this.start;
    if (this.end + bytes.byteLength > this.store.byteLength) {
      if (live + bytes.byteLength <= this.store.byteLength) {
        this.store.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.max(2 * this.store.byteLength, 2 * (live + bytes.byteLength)));
        grown.set(this.store.subarray(this.start, this.end));
        this.store = grown;
      }
      this.start = 0;
      this.end = live;
    }
    this.store.set(bytes, this.end);
    this.end += bytes.byteLength;
  }
}
