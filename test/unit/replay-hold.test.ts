// A host's hold for request bodies over REPLAY_LIMIT (core/replay.ts): a body it has room for
// is held whole and can be sent again; one past the hold's limit, or past its budget while
// others are held, is not (it then goes on a new connection); the room comes back when the
// body is released, and a released body holds nothing more.
import { describe, expect, it } from "vitest";
import { PiecesBody } from "../../src/core/pieces.js";
import { REPLAY_LIMIT, ReplayableBody, replayHold, type BodyCursor } from "../../src/core/replay.js";

const KIB = 1024;

/** A body of `size` bytes handed out in 16 KiB pieces, each piece's bytes its index. */
function body(size: number) {
  let at = 0;
  const stream = new PiecesBody({
    next: async () => {
      if (at >= size) return null;
      const n = Math.min(16 * KIB, size - at);
      const piece = new Uint8Array(n).fill((at / (16 * KIB)) & 255);
      at += n;
      return [piece];
    },
    cancel: () => {},
  });
  return { length: size, stream };
}

async function readAll(cursor: BodyCursor): Promise<number[]> {
  const firsts: number[] = [];
  for (;;) {
    const p = await cursor.next();
    if (p === "end") return firsts;
    if (p === null) throw new Error("superseded");
    firsts.push(p[0]);
  }
}

describe("a host's hold for longer bodies", () => {
  it("a 256 KiB body the hold has room for is held whole and sent again from its first byte", async () => {
    const hold = replayHold(1024 * KIB, 4096 * KIB);
    const replay = new ReplayableBody(body(256 * KIB), hold);
    expect(replay.mayReplay).toBe(true);
    const first = await readAll(replay.cursor());
    expect(replay.canReplay).toBe(true);
    expect(await readAll(replay.cursor())).toEqual(first);
    expect(first).toHaveLength(16);
  });

  it("without a hold (the Worker), only REPLAY_LIMIT is held", async () => {
    const replay = new ReplayableBody(body(256 * KIB));
    expect(replay.mayReplay).toBe(false);
    await readAll(replay.cursor());
    expect(replay.canReplay).toBe(false);
    expect(new ReplayableBody(body(REPLAY_LIMIT)).mayReplay).toBe(true);
  });

  it("a body past the hold's limit is not held", async () => {
    const hold = replayHold(1024 * KIB, 4096 * KIB);
    const replay = new ReplayableBody(body(1024 * KIB + 1), hold);
    expect(replay.mayReplay).toBe(false);
    await readAll(replay.cursor());
    expect(replay.canReplay).toBe(false);
  });

  it("the budget is shared: a body it has no room for is not held, and the room comes back on release", async () => {
    const hold = replayHold(1024 * KIB, 512 * KIB);
    const a = new ReplayableBody(body(384 * KIB), hold);
    const b = new ReplayableBody(body(256 * KIB), hold);
    expect([a.mayReplay, b.mayReplay]).toEqual([true, false]);
    // A short body needs no room: it is always held.
    expect(new ReplayableBody(body(32 * KIB), hold).mayReplay).toBe(true);
    a.release();
    expect(new ReplayableBody(body(512 * KIB), hold).mayReplay).toBe(true);
  });

  it("room is given back once, whether a body is released, cancelled, or both", () => {
    const hold = replayHold(1024 * KIB, 300 * KIB);
    const a = new ReplayableBody(body(300 * KIB), hold);
    a.release();
    a.cancel();
    a.release();
    const b = new ReplayableBody(body(300 * KIB), hold);
    const c = new ReplayableBody(body(300 * KIB), hold);
    expect([b.mayReplay, c.mayReplay]).toEqual([true, false]);
    b.cancel();
    expect(new ReplayableBody(body(300 * KIB), hold).mayReplay).toBe(true);
  });

  it("once released, a body being sent holds nothing more and cannot be sent again", async () => {
    const hold = replayHold(1024 * KIB, 4096 * KIB);
    const replay = new ReplayableBody(body(256 * KIB), hold);
    const cursor = replay.cursor();
    await cursor.next();
    replay.release();
    expect((await readAll(cursor)).length).toBe(15);
    expect(replay.canReplay).toBe(false);
    expect(() => replay.cursor()).toThrow(/not held/);
  });
});
