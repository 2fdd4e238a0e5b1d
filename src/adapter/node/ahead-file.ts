// Where `edgepass serve` keeps what an origin's answer brought past the memory its client has
// not taken yet (core/read-ahead.ts): a temporary file per answer, as nginx writes
// proxy_temp_path, its name removed as soon as it is open (unnamedFile). Writes and reads block,
// as the request body spool's do: each is a copy to or from the page cache. The file is a queue:
// written at its end, read from its start, and emptied (truncated) whenever the client has
// caught up, so an answer that streams for hours through a client a little slower than its
// origin does not grow it past `max`.
import fs from "node:fs";
import type { AheadFile, AheadStore } from "../../core/read-ahead.js";
import { lend, settle, slabMemory, SLAB_BYTES } from "../../core/read-slabs.js";
import { unnamedFile } from "./body-spool.js";
import { spoolRoom, type SpoolRoom } from "../../core/body.js";

/** Bytes an answer keeps in memory before its file (nginx's proxy_buffers: 8 of 4 or 8 KiB). */
export const AHEAD_MEMORY = 64 * 1024;

/** Bytes all of a process's answers may keep in files together: past it an answer waits for
 *  its client, as without buffering. */
export const AHEAD_BUDGET = 1024 * 1024 * 1024;

/** Room for the files' bytes, shared by all of a process's answers (the request bodies' kind
 *  of room, asked before it is taken: a full one means waiting, not an error). */
const PROCESS_ROOM = spoolRoom(AHEAD_BUDGET);

/** Bytes this process's answers take in their files now (serve's metrics). */
export const aheadBytes = (): number => PROCESS_ROOM.used;

/** Files in `dir`, within `room` for all of them. */
export function aheadStore(dir: string, room: SpoolRoom = PROCESS_ROOM): AheadStore {
  return {
    memory: AHEAD_MEMORY,
    open: (max) => (room.used >= room.budget ? null : aheadFile(unnamedFile(dir, "answer"), max, room)),
  };
}

function aheadFile(fd: number, max: number, room: SpoolRoom): AheadFile {
  let start = 0;
  let end = 0;
  let open = true;
  return {
    append(pieces, n) {
      if (!open || end + n > max || room.used + n > room.budget) return false;
      let at = end;
      for (const p of pieces) {
        for (let done = 0; done < p.byteLength; ) done += fs.writeSync(fd, p, done, p.byteLength - done, at + done);
        at += p.byteLength;
      }
      room.take(n);
      end = at;
      return true;
    },
    take(most) {
      const want = Math.min(most, end - start, SLAB_BYTES);
      const memory = slabMemory();
      let n = 0;
      while (n < want) {
        const got = fs.readSync(fd, memory, n, want - n, start + n);
        if (got === 0) throw new Error(`a temporary file ended after ${start + n} of ${end} bytes`);
        n += got;
      }
      start += n;
      // The client caught up: the file starts again from nothing.
      if (start === end) empty();
      // Lent and settled at once: the writer that gives it back frees it for another read.
      const piece = lend(memory.subarray(0, n));
      settle(piece, [piece]);
      return piece;
    },
    close() {
      if (!open) return;
      open = false;
      room.give(end);
      fs.closeSync(fd);
    },
  };
  function empty() {
    fs.ftruncateSync(fd, 0);
    room.give(end);
    start = end = 0;
  }
}
