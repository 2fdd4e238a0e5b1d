// Read memory used again (core/read-slabs.ts; Node's sockets and workerd read into it,
// adapter/node/read-slabs.ts) and the one-timer timeout (Watchdog): a slab comes
// back only when every piece of it that was handed on came back as it was, and a timeout
// fires only after a wait as long as its limit.
import { afterEach, describe, expect, it, vi } from "vitest";
import { giveBack, lend, narrowed, settle, SLAB_BYTES, slabMemory } from "../../src/core/read-slabs.js";
import { ReadMemory } from "../../src/adapter/node/read-slabs.js";
import { Watchdog } from "../../src/core/deadline.js";
import { createCodec } from "../../src/codec/index.js";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { FcgiResponse } from "../../src/protocol/fastcgi/response.js";
import { FcgiConnection } from "../../src/pool/connection.js";
import net from "node:net";
import { writeResponse } from "../../src/adapter/node/respond.js";
import type { ClientResponse } from "../../src/core/respond.js";
import { ResponseFields } from "../../src/core/response-fields.js";


/** The next slab a socket reads into and lends whole, marked so a reuse shows. */
function nextSlab(fill: number): Uint8Array {
  const socket = new ReadMemory();
  return socket.take(socket.next().fill(fill), SLAB_BYTES, true);
}

describe("read slabs", () => {
  it("a slab whose pieces all came back is the next one used", () => {
    const chunk = nextSlab(1);
    const a = chunk.subarray(0, 1000);
    const b = chunk.subarray(1000, 5000);
    settle(chunk, [a, b]);
    giveBack([a]);
    expect(nextSlab(2).buffer).not.toBe(chunk.buffer); // b is still out
    giveBack([b]);
    const again = nextSlab(3);
    expect(again.buffer).toBe(chunk.buffer);
    expect(again[0]).toBe(3);
    expect(a[0]).toBe(3); // what a reader would have seen had it kept `a`: why only the writer gives back
  });

  it("a piece given back that was not handed on as it is (a part, a copy) frees nothing", () => {
    const chunk = nextSlab(4);
    const piece = chunk.subarray(0, 8192);
    settle(chunk, [piece]);
    giveBack([piece.subarray(0, 100), piece.slice()]);
    expect(nextSlab(5).buffer).not.toBe(chunk.buffer);
    giveBack([piece]);
    expect(nextSlab(6).buffer).toBe(chunk.buffer);
  });

  it("a give-back before its reader settled the chunk frees nothing, ever", () => {
    const chunk = nextSlab(7);
    const piece = chunk.subarray(0, 100);
    giveBack([piece]);
    settle(chunk, [piece]);
    expect(nextSlab(8).buffer).not.toBe(chunk.buffer);
  });

  it("a chunk settled with no pieces handed on is free at once; one never settled never is", () => {
    const settled = nextSlab(9);
    settle(settled, []);
    const never = nextSlab(10);
    expect(never.buffer).toBe(settled.buffer);
    expect(nextSlab(11).buffer).not.toBe(never.buffer);
  });

  it("views of other memory are not counted against the slab", () => {
    const chunk = nextSlab(12);
    settle(chunk, [new Uint8Array(5000)]);
    expect(nextSlab(13).buffer).toBe(chunk.buffer);
  });

  it("a settle or give-back that comes again after the slab was freed does not free it twice", () => {
    const chunk = nextSlab(15);
    const piece = chunk.subarray(0, 100);
    settle(chunk, [piece]);
    giveBack([piece]);
    giveBack([piece]);
    settle(chunk, []);
    const first = nextSlab(16);
    expect(first.buffer).toBe(chunk.buffer);
    expect(nextSlab(17).buffer).not.toBe(first.buffer);
  });

  it("memory a BYOB read moved into a buffer of its own (workerd) comes back as that buffer", () => {
    const memory = slabMemory();
    // What readAtLeast(n, view) does: the view's buffer is transferred, the bytes come back
    // in a new ArrayBuffer over the same memory, and the old one is detached.
    const moved = new Uint8Array(structuredClone(memory.buffer, { transfer: [memory.buffer] }), 0, 6000).fill(18);
    expect(memory.byteLength).toBe(0);
    const chunk = lend(moved);
    const piece = chunk.subarray(0, 6000);
    settle(chunk, [piece]);
    expect(slabMemory().buffer).not.toBe(moved.buffer);
    giveBack([piece]);
    const again = slabMemory();
    expect(again.buffer).toBe(moved.buffer);
    expect(again.byteLength).toBe(SLAB_BYTES);
  });

  it("a record that went on only as its tail (the CGI head read, the body handed on) comes back with that tail", () => {
    const chunk = nextSlab(4);
    const record = chunk.subarray(8, 9000);
    const body = record.subarray(120);
    narrowed(record, body);
    settle(chunk, [record]);
    expect(nextSlab(5).buffer).not.toBe(chunk.buffer); // the body is still out
    giveBack([record]); // not what went on: frees nothing
    expect(nextSlab(6).buffer).not.toBe(chunk.buffer);
    giveBack([body]);
    expect(nextSlab(7).buffer).toBe(chunk.buffer);
  });

  it("a record of which nothing went on frees its slab at settle; narrowing after settle changes nothing", () => {
    const chunk = nextSlab(8);
    const head = chunk.subarray(8, 200);
    narrowed(head, head.subarray(head.byteLength));
    settle(chunk, [head]);
    expect(nextSlab(9).buffer).toBe(chunk.buffer);
    const again = nextSlab(10);
    const view = again.subarray(0, 100);
    settle(again, [view]);
    narrowed(view, view.subarray(50));
    giveBack([view.subarray(50)]);
    expect(nextSlab(11).buffer).not.toBe(again.buffer);
    giveBack([view]);
    expect(nextSlab(12).buffer).toBe(again.buffer);
  });

  it("a short read gets exactly its bytes, copied out of the slab, and the socket reads into its slab again", () => {
    const socket = new ReadMemory();
    const slab = socket.next().fill(14);
    const small = socket.take(slab, 100, true);
    expect(small.byteLength).toBe(100);
    expect(small.buffer).not.toBe(slab.buffer);
    expect(socket.next()).toBe(slab);
    // Short copies share a block of their own (no ArrayBuffer each); the next read into the
    // slab changes none of them.
    slab.fill(7);
    const next = socket.take(slab, 200, true);
    expect(next.buffer).toBe(small.buffer);
    expect(small.every((x) => x === 14)).toBe(true);
    expect(next.every((x) => x === 7)).toBe(true);
    slab.fill(14);
    const big = socket.take(slab, 5000, true);
    expect(big.byteLength).toBe(5000);
    expect(big.buffer).toBe(slab.buffer); // lent where it was read: no copy
    expect(big.every((x) => x === 14)).toBe(true);
    expect(socket.next()).not.toBe(slab); // the next read may not land on lent bytes
  });

  it("a reader that does not settle gets copies of big reads too, and a closed socket's slab is used again", () => {
    const socket = new ReadMemory();
    const slab = socket.next().fill(15);
    const copy = socket.take(slab, 5000, false);
    expect(copy.buffer).not.toBe(slab.buffer);
    expect(copy.byteLength).toBe(5000);
    slab.fill(0);
    expect(copy.every((x) => x === 15)).toBe(true);
    expect(socket.next()).toBe(slab);
    socket.release();
    expect(slabMemory().buffer).toBe(slab.buffer);
  });
});

describe("serve's writer and a body at hand", () => {
  it("gives a body read into a slab back once written, copied with its head (small) or sent as it is (over 16 KiB)", async () => {
    const server = net.createServer((s) => s.resume());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const sock = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    try {
      for (const size of [4_000, 40_000]) {
        const chunk = nextSlab(7);
        const body = chunk.subarray(100, 100 + size);
        settle(chunk, [body]);
        const res: ClientResponse = { status: 200, statusText: "", headers: new ResponseFields(), body, length: size, encoded: false };
        const w = writeResponse(sock, res, { method: "GET", version: 11, keepAlive: true, sendTimeoutMs: 5_000, log: { log: () => {}, line: () => {} } });
        // Sent as it is, it waits in the socket until this turn's writes go out together: its
        // memory must not be read into before then.
        if (size > 16 * 1024) expect(nextSlab(9).buffer, "given back before it was written").not.toBe(chunk.buffer);
        expect(typeof w === "boolean" ? w : await w).toBe(true);
        for (let i = 0; i < 50 && sock.writableLength > 0; i++) await new Promise((r) => setTimeout(r, 2));
        await new Promise((r) => setImmediate(r));
        expect(nextSlab(8).buffer, `${size} bytes`).toBe(chunk.buffer);
      }
    } finally {
      sock.destroy();
      server.close();
    }
  });
});

describe("Watchdog", () => {
  afterEach(() => vi.useRealTimers());

  it("fires once a wait has lasted its limit, not before, and counts each wait from its start", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const w = new Watchdog(1000, fired);
    w.start();
    vi.advanceTimersByTime(600);
    w.stop();
    w.start(); // a new wait: the limit counts from here
    vi.advanceTimersByTime(900);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(fired).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("does not fire when no wait is on, and leaves no timer once disposed", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const w = new Watchdog(1000, fired);
    w.start();
    w.stop();
    vi.advanceTimersByTime(3000);
    expect(fired).not.toHaveBeenCalled();
    w.start();
    w.dispose();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(3000);
    expect(fired).not.toHaveBeenCalled();
  });
});

const codec = createCodec(loadWasmModuleFromDisk());

/** A FastCGI record of request 1 (spec 3.3), padded to 8 bytes. */
function fcgiRecord(type: number, content: Uint8Array): Uint8Array {
  const pad = (8 - (content.length % 8)) % 8;
  const out = new Uint8Array(8 + content.length + pad);
  out.set([1, type, 0, 1, content.length >> 8, content.length & 0xff, pad, 0]);
  out.set(content, 8);
  return out;
}

// The record that carries the CGI head and the body's first bytes: read into a slab, its head
// parsed, its body part handed on. The slab may come back only with that body part.
describe("a FastCGI answer's first read", () => {
  const log = { log: () => {}, line: () => {} };

  it("lends the slab until the body part it handed on comes back", () => {
    const body = new Uint8Array(6000).fill(0x61);
    const stdout = new Uint8Array([...new TextEncoder().encode("Content-Type: text/plain\r\n\r\n"), ...body]);
    const bytes = new Uint8Array([...fcgiRecord(6, stdout), ...fcgiRecord(6, new Uint8Array(0)), ...fcgiRecord(3, new Uint8Array(8))]);
    const socket = new ReadMemory();
    const slab = socket.next();
    slab.set(bytes);
    const chunk = socket.take(slab, bytes.length, true);
    const decoder = codec.fcgiDecoder("client");
    decoder.track(1);
    const res = new FcgiResponse(codec, decoder, 1, 8192, log, "php");
    res.feed(chunk, settle);
    expect(res.head?.headers).toEqual([["Content-Type", "text/plain"]]);
    expect(res.pending).toHaveLength(1);
    const [piece] = res.pending;
    expect(piece.buffer).toBe(slab.buffer);
    expect(piece.every((x) => x === 0x61)).toBe(true);
    expect(slabMemory().buffer).not.toBe(slab.buffer); // the body part is still out
    giveBack([piece]);
    expect(slabMemory().buffer).toBe(slab.buffer);
  });
});

// A kept connection reads on after a request is given up on (its client left): the rest of
// that answer goes nowhere, so each of those reads' slabs must come back at once.
describe("a kept FastCGI connection after its request was given up on", () => {
  it("uses the slabs of the answer's unwanted rest again", async () => {
    const head = new TextEncoder().encode("Content-Type: text/plain\r\n\r\n");
    // Three reads: the head and some body, then two reads of body nobody wants any more.
    const reads = [fcgiRecord(6, new Uint8Array([...head, ...new Uint8Array(8000).fill(1)])), fcgiRecord(6, new Uint8Array(20_000).fill(2)), fcgiRecord(6, new Uint8Array(20_000).fill(3))];
    const socket = new ReadMemory();
    const lentSlabs: ArrayBufferLike[] = [];
    let next = 0;
    let wake: (() => void) | null = null;
    const io = {
      read: async () => {
        if (next === 1) await new Promise<void>((r) => (wake = r)); // until the request is given up on
        if (next >= reads.length) return new Promise<null>(() => {});
        const slab = socket.next();
        slab.set(reads[next]);
        const chunk = socket.take(slab, reads[next++].length, true);
        lentSlabs.push(chunk.buffer);
        return chunk;
      },
      write: () => null,
      settle,
    };
    const conn = new FcgiConnection(
      { readable: null as never, writable: null as never, close: async () => {}, direct: io },
      "php",
      codec,
      1000,
      { room: () => {}, closed: () => {}, values: () => {}, warn: () => {} },
    );
    const got: Uint8Array[] = [];
    const id = conn.start({ event: (ev) => void (ev.kind === "stream" && ev.data.byteLength && got.push(ev.data)), fail: () => {}, buffered: 0 });
    await vi.waitFor(() => expect(got).toHaveLength(1));
    conn.abandon(id, false);
    wake!();
    await vi.waitFor(() => expect(next).toBe(3));
    await new Promise((r) => setTimeout(r, 10));
    // The first read went to the request (it holds the view); the two after it went nowhere.
    const free = [slabMemory().buffer, slabMemory().buffer];
    expect(free).toContain(lentSlabs[1]);
    expect(free).toContain(lentSlabs[2]);
    expect(free).not.toContain(lentSlabs[0]);
    conn.close();
  });
});
