// A body held to learn its length (no Content-Length, an origin that needs one). On the plain
// server host: its first 64 KiB in memory, the rest in a temporary file of its own whose name
// is gone as soon as it is open. The point: the bytes come back exactly, in order, and no file
// or descriptor outlives the body, however it ends (read, refused as too large, broken by the
// client, dropped unread). On a host with no disk (the Worker): memory, within one budget for
// all requests, given back however each body ends.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkSpoolDir, defaultSpoolDir, fileSpool } from "../../src/adapter/node/body-spool.js";
import { memorySpool, prepareBody, SPOOL_AFTER, spoolRoom, type BodySpool } from "../../src/core/body.js";
import { GatewayError } from "../../src/core/errors.js";
import { piecesOf } from "../../src/core/pieces.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "edgepass-spool-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real spool, counting the files it opened. */
function counted(): BodySpool & { opened: number } {
  const real = fileSpool(dir);
  const s = { opened: 0, open: () => (s.opened++, real.open()) };
  return s;
}

/** `bytes` as a client's stream, in pieces of the given sizes (the last repeated). */
function streamOf(bytes: Buffer, sizes: number[], failAfter?: number): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (failAfter !== undefined && at >= failAfter) return c.error(new Error("the client went away"));
      if (at >= bytes.length) return c.close();
      const n = sizes[Math.min(i++, sizes.length - 1)];
      c.enqueue(bytes.subarray(at, at + n));
      at += n;
    },
  });
}

/** Descriptors of this process open on files in the spool's directory. */
function openInDir(): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
}

async function readAll(body: ReadableStream<Uint8Array> | import("../../src/core/pieces.js").PiecesBody): Promise<Buffer> {
  const pieces = piecesOf(body);
  const parts: Uint8Array[] = [];
  for (let got = await pieces.next(); got !== null; got = await pieces.next()) parts.push(...got);
  return Buffer.concat(parts);
}

describe("a body held to learn its length, with a file spool", () => {
  it("up to 64 KiB stays in memory: no file is made", async () => {
    const spool = counted();
    const bytes = randomBytes(SPOOL_AFTER);
    const prepared = (await prepareBody(streamOf(bytes, [1000]), null, 8 << 20, true, spool))!;
    expect(prepared.length).toBe(SPOOL_AFTER);
    expect(spool.opened).toBe(0);
    expect((await readAll(prepared.stream)).equals(bytes)).toBe(true);
  });

  it("a larger body comes back byte for byte from a file whose name is already gone, which closes once read", async () => {
    const spool = counted();
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const prepared = (await prepareBody(streamOf(bytes, [1, 7, 65_536, 100_000, 4096, 333_333]), null, 8 << 20, true, spool))!;
    expect(prepared.length).toBe(bytes.length);
    expect(spool.opened).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
    expect(openInDir()).toBe(1);
    expect((await readAll(prepared.stream)).equals(bytes)).toBe(true);
    expect(openInDir()).toBe(0);
  });

  it("the file closes as its last byte is handed out: a reader that knows the length never asks again", async () => {
    const bytes = randomBytes(200_000);
    const prepared = (await prepareBody(streamOf(bytes, [50_000]), null, 8 << 20, true, counted()))!;
    const pieces = piecesOf(prepared.stream);
    let got = 0;
    while (got < prepared.length!) for (const p of (await pieces.next())!) got += p.byteLength;
    expect(got).toBe(bytes.length);
    expect(openInDir()).toBe(0);
  });

  it("past max_body_buffer: 413, and the file is closed", async () => {
    const spool = counted();
    const err = await prepareBody(streamOf(randomBytes(300_000), [50_000]), null, 200_000, true, spool).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect([err.status, err.code]).toEqual([413, "BODY_TOO_LARGE"]);
    expect(spool.opened).toBe(1);
    expect(openInDir()).toBe(0);
  });

  it("a client whose body breaks halfway: 400, and the file is closed", async () => {
    const spool = counted();
    const err = await prepareBody(streamOf(randomBytes(1 << 20), [64 * 1024], 512 * 1024), null, 8 << 20, true, spool).catch((e) => e);
    expect([err.status, err.code]).toEqual([400, "BODY_READ_FAILED"]);
    expect(openInDir()).toBe(0);
  });

  it("a body never read (the request failed before it was sent) is closed when cancelled", async () => {
    const prepared = (await prepareBody(streamOf(randomBytes(200_000), [30_000]), null, 8 << 20, true, counted()))!;
    expect(openInDir()).toBe(1);
    piecesOf(prepared.stream).cancel();
    expect(openInDir()).toBe(0);
  });

  it("the files share one budget: the body that would pass it is 503 BODY_BUFFER_BUSY and its file closed; a body read or dropped gives its room back", async () => {
    const spool = fileSpool(dir, spoolRoom(1024 * 1024));
    const held = (n: number) => prepareBody(streamOf(randomBytes(n), [40_000]), null, 8 << 20, true, spool);
    const a = (await held(500_000))!;
    const b = (await held(500_000))!;
    expect(openInDir()).toBe(2);
    const refused = await held(200_000).catch((e) => e);
    expect([refused.status, refused.code, refused.retryAfter]).toEqual([503, "BODY_BUFFER_BUSY", 1]);
    expect(openInDir()).toBe(2);
    expect((await readAll(a.stream)).length).toBe(500_000);
    piecesOf(b.stream).cancel();
    expect(openInDir()).toBe(0);
    const whole = (await held(1024 * 1024 - 1))!;
    expect(whole.length).toBe(1024 * 1024 - 1);
    piecesOf(whole.stream).cancel();
  });

  it("a directory it cannot write in: 500 BODY_SPOOL_FAILED, saying why in the log's detail only; checkSpoolDir says so at load", async () => {
    const locked = mkdtempSync(path.join(dir, "locked-"));
    chmodSync(locked, 0o500);
    try {
      // Root writes anywhere: the case holds only for an ordinary user, so a missing directory
      // stands in for it there.
      const where = process.getuid?.() === 0 ? path.join(dir, "missing") : locked;
      const err = await prepareBody(streamOf(randomBytes(100_000), [100_000]), null, 8 << 20, true, fileSpool(where)).catch((e) => e);
      expect([err.status, err.code]).toEqual([500, "BODY_SPOOL_FAILED"]);
      expect(err.message).not.toContain(where);
      expect(err.detail).toContain(where);
      expect(checkSpoolDir(where)).toContain(where);
      expect(checkSpoolDir(dir)).toBeNull();
      expect(readdirSync(dir).filter((f) => f.startsWith("edgepass-body-"))).toEqual([]);
    } finally {
      chmodSync(locked, 0o700);
    }
  });
});

describe("where bodies go without [serve] body_temp", () => {
  it("$TMPDIR when set, else /var/tmp (on disk where /tmp is memory), else the system's temporary directory", () => {
    const had = process.env.TMPDIR;
    try {
      process.env.TMPDIR = dir;
      expect(defaultSpoolDir()).toBe(dir);
      delete process.env.TMPDIR;
      // Every Debian system has /var/tmp, open to all (mode 1777).
      expect(defaultSpoolDir()).toBe("/var/tmp");
    } finally {
      if (had === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = had;
    }
  });
});

describe("a body held to learn its length, in memory within a budget (a host with no disk)", () => {
  const held = (spool: BodySpool, n: number) => prepareBody(streamOf(randomBytes(n), [40_000]), null, 8 << 20, true, spool);

  it("bodies share the budget; the one that would pass it is 503 BODY_BUFFER_BUSY (Retry-After: 1); handed on or dropped, the room comes back", async () => {
    const spool = memorySpool(1024 * 1024);
    const a = (await held(spool, 500_000))!;
    const b = (await held(spool, 500_000))!;
    const refused = await held(spool, 200_000).catch((e) => e);
    expect(refused).toBeInstanceOf(GatewayError);
    expect([refused.status, refused.code, refused.retryAfter]).toEqual([503, "BODY_BUFFER_BUSY", 1]);
    expect(refused.message).toContain("send a Content-Length");
    // A body within the first 64 KiB needs no room.
    expect((await held(spool, SPOOL_AFTER))!.length).toBe(SPOOL_AFTER);
    const pieces = piecesOf(a.stream);
    await pieces.next();
    piecesOf(b.stream).cancel();
    const c = (await held(spool, 900_000))!;
    expect(c.length).toBe(900_000);
    // A refused body gave back what it had taken: once c is gone, the whole budget is free.
    piecesOf(c.stream).cancel();
    expect((await held(spool, 1024 * 1024 - 1))!.length).toBe(1024 * 1024 - 1);
  });

  it("the bytes come back exactly", async () => {
    const bytes = randomBytes(700_001);
    const prepared = (await prepareBody(streamOf(bytes, [1, 65_535, 3, 100_000]), null, 8 << 20, true, memorySpool(1 << 20)))!;
    expect((await readAll(prepared.stream)).equals(bytes)).toBe(true);
  });
});

describe("a body with a Content-Length held whole before the origin is asked (request_buffering)", () => {
  const declared = (spool: BodySpool, bytes: Buffer, o: { sizes?: number[]; failAfter?: number; length?: number } = {}) =>
    prepareBody(streamOf(bytes, o.sizes ?? [40_000], o.failAfter), String(o.length ?? bytes.length), 8 << 20, false, spool, true);

  it("is read to its end before prepareBody returns: memory up to 64 KiB, then a file reserved for its whole length", async () => {
    const room = spoolRoom(1 << 30);
    const taken: number[] = [];
    const spool: BodySpool = { open: (reserve) => (taken.push(reserve ?? 0), fileSpool(dir, room).open(reserve)), holds: true };
    const small = randomBytes(SPOOL_AFTER);
    const a = (await declared(spool, small))!;
    expect(taken).toEqual([]);
    expect((await readAll(a.stream)).equals(small)).toBe(true);
    const big = randomBytes(3 * 1024 * 1024 + 17);
    let pulled = 0;
    const source = streamOf(big, [40_000]);
    const counting = source.pipeThrough(new TransformStream({ transform: (c, ctl) => ((pulled += c.byteLength), ctl.enqueue(c)) }));
    const b = (await prepareBody(counting, String(big.length), 8 << 20, false, spool, true))!;
    // Every byte was read before the body was handed on: the origin is asked only now.
    expect(pulled).toBe(big.length);
    expect(taken).toEqual([big.length]);
    expect(b.length).toBe(big.length);
    expect(openInDir()).toBe(1);
    expect((await readAll(b.stream)).equals(big)).toBe(true);
    expect(openInDir()).toBe(0);
  });

  it("up to 1 MiB stays in memory while the process's room for that lasts: no file", async () => {
    const spool = fileSpool(dir, spoolRoom(1 << 30));
    const bytes = randomBytes(1024 * 1024);
    const r = (await declared(spool, bytes))!;
    expect(openInDir()).toBe(0);
    expect((await readAll(r.stream)).equals(bytes)).toBe(true);
  });

  it("without room for its whole length it streams as it comes, as with request_buffering = false, and takes no room", async () => {
    const room = spoolRoom(3 * 1024 * 1024);
    const spool = fileSpool(dir, room);
    const keep = (await prepareBody(streamOf(randomBytes(2_500_000), [40_000]), null, 8 << 20, true, spool))!;
    const big = randomBytes(1_500_000);
    const body = streamOf(big, [40_000]);
    const r = (await prepareBody(body, String(big.length), 8 << 20, false, spool, true))!;
    expect(r.stream).toBe(body);
    expect(openInDir()).toBe(1);
    expect((await readAll(r.stream)).equals(big)).toBe(true);
    piecesOf(keep.stream).cancel();
    // The room is whole again: a body of the full budget is held.
    const whole = (await declared(spool, randomBytes(3 * 1024 * 1024)))!;
    expect(openInDir()).toBe(1);
    piecesOf(whole.stream).cancel();
    expect(openInDir()).toBe(0);
  });

  it("a client that leaves before its declared length: 400 BODY_READ_FAILED, and its file and room are let go", async () => {
    const room = spoolRoom(1 << 30);
    const spool = fileSpool(dir, room);
    const bytes = randomBytes(1_500_000);
    const broken = (await declared(spool, bytes, { failAfter: 700_000 }).catch((e: unknown) => e)) as GatewayError;
    expect([broken.status, broken.code]).toEqual([400, "BODY_READ_FAILED"]);
    expect(openInDir()).toBe(0);
    const short = (await declared(spool, bytes.subarray(0, 1_200_000), { length: 1_500_000 }).catch((e: unknown) => e)) as GatewayError;
    expect([short.status, short.code]).toEqual([400, "BODY_READ_FAILED"]);
    expect(openInDir()).toBe(0);
    expect(room.used).toBe(0);
  });

  it("a Worker told request_buffering = true holds it in memory the same way", async () => {
    const bytes = randomBytes(700_000);
    const a = (await prepareBody(streamOf(bytes, [40_000]), String(bytes.length), 8 << 20, false, undefined, true))!;
    expect((await readAll(a.stream)).equals(bytes)).toBe(true);
  });
});
