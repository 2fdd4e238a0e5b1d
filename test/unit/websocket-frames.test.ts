// The WebSocket frames the Worker's relay writes to an origin and reads from it
// (src/core/websocket-frames.ts), against RFC 6455's own examples and the ws package's
// encoder as an independent server, in every cut; and every server frame the relay must
// refuse, with the close code it answers.
import { describe, expect, it } from "vitest";
import * as ws from "ws";
import { clientFrame, closePayload, FrameError, readClose, ServerFrames, type Message } from "../../src/core/websocket-frames.js";

// ws's own frame writer and reader, which its types leave out.
const { Sender, Receiver } = ws as unknown as {
  Sender: { frame(data: Buffer, options: object): Buffer[] };
  Receiver: new (options: object) => NodeJS.WritableStream & { on(event: "message", f: (d: Buffer) => void): void };
};

/** Frames a server (ws's Sender, unmasked) writes for `data`. */
function serverFrames(parts: Array<{ data: Buffer; opcode: number; fin: boolean }>): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(...Sender.frame(p.data, { fin: p.fin, opcode: p.opcode, mask: false, readOnly: true, rsv1: false }));
  }
  return Buffer.concat(out);
}

function readAll(bytes: Uint8Array, cut: number, max = 1 << 20): Message[] {
  const r = new ServerFrames(max);
  const out: Message[] = [];
  for (let i = 0; i < bytes.length; i += cut) out.push(...r.push(bytes.subarray(i, i + cut)));
  return out;
}

const text = (m: Message) => ({ opcode: m.opcode, text: Buffer.from(m.payload).toString() });

describe("reading a server's frames", () => {
  it("reads RFC 6455 5.7's examples: a text frame, a fragmented one, a ping", () => {
    const single = Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    const fragmented = Buffer.from([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    const ping = Buffer.from([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    for (let cut = 1; cut <= 23; cut++) {
      expect(readAll(Buffer.concat([single, fragmented, ping]), cut).map(text)).toEqual([
        { opcode: 1, text: "Hello" },
        { opcode: 1, text: "Hello" },
        { opcode: 9, text: "Hello" },
      ]);
    }
  });

  it("joins a message fragmented around a control frame, for lengths at each size boundary, in any cut", () => {
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => i % 253));
      const half = Math.floor(n / 2);
      const bytes = serverFrames([
        { data: data.subarray(0, half), opcode: 2, fin: false },
        { data: Buffer.from("p"), opcode: 9, fin: true },
        { data: data.subarray(half), opcode: 0, fin: true },
      ]);
      for (const cut of [1, 7, 4096, bytes.length]) {
        if (n > 1000 && cut === 1) continue;
        const got = readAll(bytes, cut);
        expect(got.map((m) => m.opcode)).toEqual([9, 2]);
        expect(Buffer.from(got[1].payload).equals(data)).toBe(true);
      }
    }
  });

  const refused: Array<[string, number[], number]> = [
    ["a masked frame", [0x81, 0x81, 1, 2, 3, 4, 0x41], 1002],
    ["an extension bit", [0xc1, 0x01, 0x41], 1002],
    ["an unknown data opcode", [0x83, 0x00], 1002],
    ["an unknown control opcode", [0x8b, 0x00], 1002],
    ["a fragmented control frame", [0x09, 0x00], 1002],
    ["a control frame over 125 bytes", [0x89, 0x7e, 0x00, 0x7e], 1002],
    ["a continuation with nothing to continue", [0x80, 0x00], 1002],
    ["a new message inside a fragmented one", [0x01, 0x01, 0x41, 0x81, 0x01, 0x42], 1002],
    ["a length past 2^53", [0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 1009],
  ];
  it.each(refused)("refuses %s", (_name, bytes, code) => {
    const r = new ServerFrames(1 << 20);
    let caught: unknown;
    try {
      r.push(Uint8Array.from(bytes));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).status).toBe(code);
  });

  it("refuses a message longer than its limit before it arrives, whole or in fragments (1009)", () => {
    const r = new ServerFrames(100);
    expect(() => r.push(Uint8Array.from([0x82, 0x7e, 0x00, 0x65]))).toThrow(FrameError);
    const f = new ServerFrames(100);
    f.push(Uint8Array.from([0x02, 60, ...new Array(60).fill(0)]));
    try {
      f.push(Uint8Array.from([0x80, 60]));
      expect.unreachable();
    } catch (e) {
      expect((e as FrameError).status).toBe(1009);
    }
  });
});

describe("writing a client's frames", () => {
  it("writes masked frames that an independent server reads back, at every length encoding", async () => {
    for (const n of [0, 5, 125, 126, 65535, 65536, 100_000]) {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 256));
      const frame = clientFrame(2, data);
      // Masked (bit 7 of the second byte), and with a key of its own each time.
      expect(frame[1] & 0x80).toBe(0x80);
      const receiver = new Receiver({ isServer: true, maxPayload: 0 });
      const got = new Promise<Buffer>((resolve) => receiver.on("message", (d: Buffer) => resolve(d)));
      receiver.write(Buffer.from(frame));
      expect((await got).equals(data)).toBe(true);
    }
    expect(Buffer.from(clientFrame(1, new Uint8Array(4))).subarray(2, 6)).not.toEqual(Buffer.from(clientFrame(1, new Uint8Array(4))).subarray(2, 6));
  });

  it("writes and reads close payloads", () => {
    expect(readClose(closePayload(4001, "bye"))).toEqual({ code: 4001, reason: "bye" });
    expect(readClose(new Uint8Array(0))).toEqual({ code: 1005, reason: "" });
    // A reason is cut to fit a control frame (125 bytes with the code).
    expect(closePayload(1000, "x".repeat(300)).byteLength).toBe(125);
    expect(() => readClose(Uint8Array.from([0x03, 0xed]))).toThrow(FrameError); // 1005 may not be sent
    expect(() => readClose(Uint8Array.from([0x03, 0xe8, 0xff]))).toThrow(FrameError); // not UTF-8
  });
});
