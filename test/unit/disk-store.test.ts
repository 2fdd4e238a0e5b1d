// The disk store behind [assets] on the Node host: a file's bytes, whole or a range, at hand
// when they fit in one piece, else in pieces of reusable read memory the host's writer takes
// straight from it and gives back; a file that changed after its stat gives what it
// has and no more; nothing stays open once the body is read or dropped.
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diskStore } from "../../src/adapter/node/disk-store";
import { piecesOf } from "../../src/core/pieces";
import { giveBack } from "../../src/core/read-slabs";
import type { StoredFile } from "../../src/edge/file-store";

const dir = mkdtempSync(path.join(tmpdir(), "edgepass-disk-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = diskStore(dir);
const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
const openFds = () => readdirSync("/proc/self/fd").length;

async function all(file: StoredFile, range?: { start: number; end: number }): Promise<{ bytes: Buffer; pieces: number[]; atHand?: boolean }> {
  const body = await file.read(range);
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body), pieces: [body.byteLength], atHand: true };
  const pieces = piecesOf(body);
  const got: Uint8Array[] = [];
  for (let p = await pieces.next(); p !== null; p = await pieces.next()) got.push(...p);
  return { bytes: Buffer.concat(got), pieces: got.map((g) => g.byteLength), atHand: false };
}

describe("diskStore", () => {
  it("reads a file whole and in ranges, in pieces of up to 64 KiB, byte for byte", async () => {
    const data = pattern(400_000);
    writeFileSync(path.join(dir, "a.bin"), data);
    const file = (await store.open("/a.bin")) as StoredFile;
    expect(file.size).toBe(400_000);
    const whole = await all(file);
    expect(whole.bytes.equals(data)).toBe(true);
    expect(whole.pieces).toEqual([65_536, 65_536, 65_536, 65_536, 65_536, 65_536, 6_784]);
    expect(whole.atHand).toBe(false);
    for (const [start, end] of [[0, 0], [131_071, 131_072], [1, 399_999], [200_000, 200_099]]) {
      expect((await all(file, { start, end })).bytes.equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it("reads a large file into memory used again once the writer gives each piece back", async () => {
    writeFileSync(path.join(dir, "r.bin"), pattern(300_000));
    const file = (await store.open("/r.bin")) as StoredFile;
    const body = await file.read();
    expect(body).not.toBeInstanceOf(Uint8Array);
    const pieces = piecesOf(body as Exclude<typeof body, Uint8Array | null>);
    expect(pieces.own).toBe(true);
    const memories = new Set<ArrayBufferLike>();
    const got: Buffer[] = [];
    for (let p = await pieces.next(); p !== null; p = await pieces.next()) {
      for (const piece of p) memories.add(piece.buffer);
      got.push(Buffer.from(p[0]));
      giveBack(p);
    }
    expect(Buffer.concat(got).equals(pattern(300_000))).toBe(true);
    // Each piece given back before the next read: one piece of memory serves the whole file.
    expect(memories.size).toBe(1);
  });

  it("a file or range of up to 128 KiB is read at once and handed over whole, closed already", async () => {
    const data = pattern(131_072 + 10);
    writeFileSync(path.join(dir, "s.bin"), data);
    const before = openFds();
    const file = (await store.open("/s.bin")) as StoredFile;
    for (const [start, end] of [[0, 131_071], [10, 131_081], [7, 7]]) {
      const got = await all(file, { start, end });
      expect(got.atHand, `${start}-${end}`).toBe(true);
      expect(got.bytes.equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    expect((await all(file)).atHand).toBe(false);
    writeFileSync(path.join(dir, "empty.bin"), "");
    const empty = (await store.open("/empty.bin")) as StoredFile;
    expect((await all(empty)).bytes.length).toBe(0);
    expect(openFds()).toBe(before);
  });

  it("a small file cut short after its stat gives the bytes it still has, nothing made up", async () => {
    writeFileSync(path.join(dir, "t.bin"), pattern(6_000));
    const file = (await store.open("/t.bin")) as StoredFile;
    truncateSync(path.join(dir, "t.bin"), 4_000);
    const got = await all(file);
    expect(got.atHand).toBe(true);
    expect(got.bytes.equals(pattern(4_000))).toBe(true);
  });

  it("a file cut short after its stat gives the bytes it still has, nothing made up", async () => {
    writeFileSync(path.join(dir, "b.bin"), pattern(200_000));
    const file = (await store.open("/b.bin")) as StoredFile;
    truncateSync(path.join(dir, "b.bin"), 70_000);
    const got = await all(file);
    expect(got.bytes.equals(pattern(70_000))).toBe(true);
  });

  it("leaves no file open once a body is read to its end, or dropped part way", async () => {
    writeFileSync(path.join(dir, "c.bin"), pattern(300_000));
    const before = openFds();
    const file = (await store.open("/c.bin")) as StoredFile;
    await all(file);
    const pieces = piecesOf((await file.read()) as ReadableStream<Uint8Array>);
    await pieces.next();
    expect(openFds()).toBe(before + 1);
    pieces.cancel();
    expect(openFds()).toBe(before);
  });

  it("answers null for what is not there or not a file, and dir for a directory", async () => {
    expect(await store.open("/missing.bin")).toBeNull();
    expect(await store.open("/../etc/passwd")).toBeNull();
    expect(await store.open("/")).toBe("dir");
  });
});
