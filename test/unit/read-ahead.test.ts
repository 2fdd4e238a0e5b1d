// An origin's answer read ahead of a slow reader (core/read-ahead.ts) into memory and then
// serve's temporary file (adapter/node/ahead-file.ts, a real file in a directory of the
// test's): every byte in order, the origin read to its end before the reader takes much, the
// bounds (memory, the file's largest size, the process's room) and what happens at each. On
// the wire, with php-fpm and a client that stops reading: test/integration/buffering.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { aheadPieces, buffersAnswer, DEFAULT_MAX_TEMP_FILE } from "../../src/core/read-ahead.js";
import { AHEAD_MEMORY, aheadStore } from "../../src/adapter/node/ahead-file.js";
import { spoolRoom } from "../../src/core/body.js";
import { requestLogger } from "../../src/core/log.js";
import type { Pieces } from "../../src/core/pieces.js";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgepass-ahead-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const quiet = requestLogger("t", () => {});

const PIECE = 16 * 1024;

/** `count` pieces of PIECE bytes, piece i filled with i's low byte and its offset's; each read
 *  answered at once (an origin far faster than its client), and what happened told. */
function origin(count: number, failAfter?: number) {
  const seen = { given: 0, ended: false, cancelled: null as unknown, reads: 0, concurrent: 0, most: 0 };
  const src: Pieces = {
    async next() {
      seen.reads++;
      seen.most = Math.max(seen.most, ++seen.concurrent);
      await new Promise((r) => setImmediate(r));
      seen.concurrent--;
      if (failAfter !== undefined && seen.given === failAfter) throw new Error("the origin's connection broke");
      if (seen.given === count) {
        seen.ended = true;
        return null;
      }
      const i = seen.given++;
      const p = new Uint8Array(PIECE);
      for (let j = 0; j < PIECE; j++) p[j] = (i * 7 + j) & 0xff;
      return [p];
    },
    cancel(reason) {
      seen.cancelled = reason ?? true;
    },
  };
  return { src, seen };
}

function expected(count: number): Buffer {
  const out = Buffer.alloc(count * PIECE);
  for (let i = 0; i < count; i++) for (let j = 0; j < PIECE; j++) out[i * PIECE + j] = (i * 7 + j) & 0xff;
  return out;
}

async function readAll(p: Pieces): Promise<Buffer> {
  const got: Uint8Array[] = [];
  for (let x = await p.next(); x !== null; x = await p.next()) got.push(...x);
  return Buffer.concat(got);
}

const settle = async (turns = 50) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
};

describe("an answer read ahead of its reader", () => {
  it("is read to its end while the reader takes nothing, past memory into the file, and comes out whole and in order", async () => {
    const room = spoolRoom(1 << 30);
    const { src, seen } = origin(64); // 1 MiB: 64 KiB in memory, the rest in the file
    const ahead = aheadPieces(src, aheadStore(dir, room), DEFAULT_MAX_TEMP_FILE, quiet);
    const first = await ahead.next();
    expect(first?.[0].byteLength).toBe(PIECE);
    await settle(200);
    expect(seen.ended).toBe(true);
    expect(room.used).toBeGreaterThanOrEqual(64 * PIECE - AHEAD_MEMORY - 2 * PIECE);
    // The file's name was removed once it was open: nothing of it is in the directory.
    expect(fs.readdirSync(dir)).toEqual([]);
    const rest = await readAll(ahead);
    expect(Buffer.concat([first![0], rest]).equals(expected(64))).toBe(true);
    expect(room.used).toBe(0);
    expect(seen.most).toBe(1);
  });

  it("keeps memory only with max_temp_file_size 0: reading stops past it and goes on as the reader takes", async () => {
    const room = spoolRoom(1 << 30);
    const { src, seen } = origin(32);
    const ahead = aheadPieces(src, aheadStore(dir, room), 0, quiet);
    const first = await ahead.next();
    await settle(100);
    // Memory's worth after the first piece, and the one read that went past it.
    expect(seen.given).toBe(1 + AHEAD_MEMORY / PIECE + 1);
    expect(room.used).toBe(0);
    const rest = await readAll(ahead);
    expect(Buffer.concat([first![0], rest]).equals(expected(32))).toBe(true);
  });

  it("holds no more than the file's largest size and memory while the reader waits; the file starts over once read", async () => {
    const room = spoolRoom(1 << 30);
    const { src, seen } = origin(64);
    const max = 8 * PIECE;
    const ahead = aheadPieces(src, aheadStore(dir, room), max, quiet);
    const got = [...((await ahead.next()) ?? [])];
    await settle(100);
    const held = seen.given - 1;
    expect(held * PIECE).toBeLessThanOrEqual(AHEAD_MEMORY + max + PIECE);
    expect(held * PIECE).toBeGreaterThanOrEqual(AHEAD_MEMORY + max);
    expect(room.used).toBe(max);
    // The reader takes a little at a time: memory never grows past its bound meanwhile.
    for (let i = 0; i < 12; i++) {
      got.push(...((await ahead.next()) ?? []));
      await settle(10);
      const read = got.reduce((n, p) => n + p.byteLength, 0);
      expect(seen.given * PIECE - read).toBeLessThanOrEqual(AHEAD_MEMORY + max + PIECE);
    }
    const rest = await readAll(ahead);
    expect(Buffer.concat([...got, rest]).equals(expected(64))).toBe(true);
    expect(room.used).toBe(0);
  });

  it("waits for its reader, with no error, when the process's room for files is used up", async () => {
    const room = spoolRoom(4 * PIECE);
    const { src, seen } = origin(32);
    const ahead = aheadPieces(src, aheadStore(dir, room), DEFAULT_MAX_TEMP_FILE, quiet);
    const first = await ahead.next();
    await settle(100);
    expect(seen.ended).toBe(false);
    expect(room.used).toBe(4 * PIECE);
    const rest = await readAll(ahead);
    expect(Buffer.concat([first![0], rest]).equals(expected(32))).toBe(true);
    expect(room.used).toBe(0);
  });

  it("hands on every byte that came before the origin failed, then the failure", async () => {
    const { src } = origin(64, 40);
    const ahead = aheadPieces(src, aheadStore(dir, spoolRoom(1 << 30)), DEFAULT_MAX_TEMP_FILE, quiet);
    const got: Uint8Array[] = [];
    const err = await (async () => {
      try {
        for (let x = await ahead.next(); x !== null; x = await ahead.next()) {
          got.push(...x);
          await settle(20);
        }
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.message).toBe("the origin's connection broke");
    expect(Buffer.concat(got).equals(expected(40))).toBe(true);
  });

  it("a reader that leaves stops the origin's read and frees the file's room", async () => {
    const room = spoolRoom(1 << 30);
    const { src, seen } = origin(1000);
    const ahead = aheadPieces(src, aheadStore(dir, room), DEFAULT_MAX_TEMP_FILE, quiet);
    await ahead.next();
    await settle(100);
    expect(room.used).toBeGreaterThan(0);
    ahead.cancel(new Error("the client went away"));
    const given = seen.given;
    await settle(50);
    expect(room.used).toBe(0);
    expect(String(seen.cancelled)).toContain("the client went away");
    expect(seen.given).toBeLessThanOrEqual(given + 1);
  });

  it("a directory it cannot write in is logged, and the answer goes on whole at its reader's pace", async () => {
    const lines: string[] = [];
    const log = requestLogger("req-7", (_level, line) => lines.push(line));
    const { src, seen } = origin(32);
    const ahead = aheadPieces(src, aheadStore(path.join(dir, "missing"), spoolRoom(1 << 30)), DEFAULT_MAX_TEMP_FILE, log);
    const first = await ahead.next();
    await settle(100);
    expect(seen.ended).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/"event":"response_temp_failed".*"request_id":"req-7"|"request_id":"req-7".*"event":"response_temp_failed"/);
    expect(lines[0]).toContain("cannot create a file in");
    const rest = await readAll(ahead);
    expect(Buffer.concat([first![0], rest]).equals(expected(32))).toBe(true);
  });
});

describe("whether an answer is read ahead", () => {
  const UP = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
  const route = (lines: string) => loadConfig(`${UP}[[routes]]\nmatch = "/"\nupstream = "php"\n${lines}\n`, "site.toml").routes[0];

  it("the origin's X-Accel-Buffering decides, else the route's buffering, on by default", () => {
    expect(buffersAnswer(route(""), null)).toBe(true);
    expect(buffersAnswer(route(""), "no")).toBe(false);
    expect(buffersAnswer(route(""), "No")).toBe(false);
    expect(buffersAnswer(route("buffering = false"), null)).toBe(false);
    expect(buffersAnswer(route("buffering = false"), "yes")).toBe(true);
    expect(buffersAnswer(route("buffering = false"), "maybe")).toBe(false);
  });

  it("buffering and max_temp_file_size load; nginx's names are pointed to them", () => {
    expect(route("").buffering).toBeUndefined();
    expect(route(`buffering = false`).buffering).toEqual({ on: false, maxTempFile: DEFAULT_MAX_TEMP_FILE });
    expect(route(`max_temp_file_size = "256m"`).buffering).toEqual({ on: true, maxTempFile: 256 * 1024 * 1024 });
    expect(messageOf(() => route(`fastcgi_buffering = false`))).toContain('edgepass calls this "buffering"');
    expect(messageOf(() => route(`proxy_max_temp_file_size = "256m"`))).toContain('edgepass calls this "max_temp_file_size"');
    expect(route(`max_temp_file_size = 0`).buffering).toEqual({ on: true, maxTempFile: 0 });
    expect(messageOf(() => route(`max_temp_file_size = "lots"`))).toMatch(/routes\[0\]\.max_temp_file_size[\s\S]*0 to keep an answer in memory only/);
    expect(messageOf(() => route(`buffering = "on"`))).toMatch(/routes\[0\]\.buffering/);
  });

  it("[serve] response_temp is a directory; nginx's names are pointed to it", () => {
    const serve = (line: string) => loadConfig(`${UP}[serve]\n${line}\n[[routes]]\nmatch = "/"\nupstream = "php"\n`, "site.toml").serve;
    expect(serve(`response_temp = "/var/cache/edgepass"`).responseTemp).toBe("/var/cache/edgepass");
    expect(messageOf(() => serve(`fastcgi_temp_path = "/var/cache/edgepass"`))).toContain('edgepass calls this "response_temp"');
    expect(messageOf(() => serve(`response_temp = ""`))).toMatch(/serve\.response_temp/);
  });
});
