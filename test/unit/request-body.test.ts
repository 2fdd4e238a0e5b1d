// edgepass serve's request body (adapter/node/request-body.ts): the pieces read from the
// client's connection, framed by its head, with no web stream made for them; and the replay
// buffer (core/replay.ts) that sends such a body on.
import { EventEmitter } from "node:events";
import v8 from "node:v8";
import vm from "node:vm";
import type net from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { ConnReader } from "../../src/adapter/node/conn-reader.js";
import { requestBody, type BodyState } from "../../src/adapter/node/request-body.js";
import { createCodec } from "../../src/codec/index.js";
import type { Codec } from "../../src/codec/types.js";
import { Codes } from "../../src/core/errors.js";
import { PiecesBody } from "../../src/core/pieces.js";
import { ReplayableBody } from "../../src/core/replay.js";

let codec: Codec;
beforeAll(() => {
  codec = createCodec(loadWasmModuleFromDisk());
});

/** A connection the test feeds by hand. */
function connection() {
  const sock = Object.assign(new EventEmitter(), { paused: false, pause() { this.paused = true; }, resume() { this.paused = false; }, isPaused() { return this.paused; } });
  const reader = new ConnReader(sock as unknown as net.Socket);
  return {
    reader,
    send: (text: string) => sock.emit("data", Buffer.from(text)),
    end: () => sock.emit("end"),
    /** The body framed as given, read from this connection (body_timeout `ms`). */
    body(framing: { kind: "length"; length: number } | { kind: "chunked" }, ms = 1000) {
      const state: BodyState = { complete: false, failure: null };
      return { state, pieces: requestBody(reader, framing, codec, ms, state, () => {}).pieces() };
    },
  };
}

const text = (p: Uint8Array) => Buffer.from(p).toString();

describe("a request body on serve", () => {
  it("with a length: the bytes that came with the head are handed over at once, and the next request stays", async () => {
    const c = connection();
    c.send("a=1&b=2GET /next HTTP/1.1\r\n");
    const { state, pieces } = c.body({ kind: "length", length: 7 });
    expect((await pieces.next())!.map(text)).toEqual(["a=1&b=2"]);
    expect(state.complete).toBe(true);
    expect(await pieces.next()).toBeNull();
    expect(text(c.reader.buf)).toBe("GET /next HTTP/1.1\r\n");
  });

  it("chunked: each chunk's data as it arrives, intact after the next one is decoded, then the end", async () => {
    const c = connection();
    c.send("4\r\nabcd\r\n");
    const { state, pieces } = c.body({ kind: "chunked" });
    const first = (await pieces.next())!;
    const second = pieces.next();
    c.send("4\r\nwxyz\r\n0\r\n\r\n");
    expect((await second)!.map(text)).toEqual(["wxyz"]);
    expect(first.map(text)).toEqual(["abcd"]);
    expect(await pieces.next()).toBeNull();
    expect(state.complete).toBe(true);
  });

  it("a body that stops arriving fails at body_timeout, and every read after it fails the same", async () => {
    const c = connection();
    c.send("a=");
    const { state, pieces } = c.body({ kind: "length", length: 7 }, 30);
    expect((await pieces.next())!.map(text)).toEqual(["a="]);
    await expect(pieces.next()).rejects.toMatchObject({ code: Codes.CLIENT_BODY_TIMEOUT, status: 408 });
    expect(state.failure?.code).toBe(Codes.CLIENT_BODY_TIMEOUT);
    await expect(pieces.next()).rejects.toMatchObject({ code: Codes.CLIENT_BODY_TIMEOUT });
    expect(state.complete).toBe(false);
  });

  it("a client that closes mid-body: 400 BODY_READ_FAILED", async () => {
    const c = connection();
    const { pieces } = c.body({ kind: "length", length: 7 });
    const read = pieces.next();
    c.end();
    await expect(read).rejects.toMatchObject({ code: Codes.BODY_READ_FAILED, status: 400 });
  });
});

describe("the replay buffer over a request body", () => {
  it("a body read to its declared length is over: its end is not waited for when the request ends", async () => {
    const bytes = new TextEncoder().encode("a=1");
    let handed = false;
    // A source whose end never comes: only a drain would wait for it.
    const body = new PiecesBody({
      next: () => (handed ? new Promise<never>(() => {}) : ((handed = true), Promise.resolve([bytes]))),
      cancel: () => {},
    });
    const replay = new ReplayableBody({ length: 3, stream: body });
    const cursor = replay.cursor();
    expect(await cursor.next()).toEqual(bytes);
    expect(cursor.complete).toBe(true);
    replay.cancel();
    const settled = await Promise.race([replay.settled().then(() => "settled"), new Promise((r) => setTimeout(() => r("waiting"), 200))]);
    expect(settled).toBe("settled");
  });
});

describe("a finished request's body", () => {
  /** A replay buffer over a body whose source hands out "a=1", then its end; the test holds
   *  the buffer and only a WeakRef to the source. */
  function held(length: number | null) {
    let handed = false;
    let source: object | null = { next: async () => (handed ? null : ((handed = true), [new TextEncoder().encode("a=1")])), cancel() {} };
    const replay = new ReplayableBody({ length, stream: new PiecesBody(source as never) });
    const gone = new WeakRef(source);
    source = null;
    return { replay, gone };
  }

  /** Whether the source was collected (a WeakRef holds its target until the current job ends:
   *  looked at in a later one). */
  async function collected(gone: WeakRef<object>): Promise<boolean> {
    await new Promise((r) => setTimeout(r, 0));
    collector()();
    return gone.deref() === undefined;
  }

  it("is let go by the replay buffer as soon as every declared byte is read, and a second try still gets it whole", async () => {
    const { replay, gone } = held(3);
    await replay.cursor().next();
    expect(await collected(gone)).toBe(true);
    const again = replay.cursor();
    expect(Buffer.from((await again.next()) as Uint8Array).toString()).toBe("a=1");
    expect(await again.next()).toBe("end");
  });

  it("one of unknown length that its request left unread is let go once the request ends and the rest is drained", async () => {
    const { replay, gone } = held(null);
    await replay.cursor().next();
    replay.cancel();
    await replay.settled();
    expect(await collected(gone)).toBe(true);
    expect(replay.mayReplay).toBe(false);
  });
});

/** The engine's full collection (V8's gc(), exposed for this). */
function collector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

