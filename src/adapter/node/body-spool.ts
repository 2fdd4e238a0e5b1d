// Where `edgepass serve` keeps a request body it holds to learn its length (core/body.ts), past
// its first 64 KiB: a temporary file of its own, as nginx writes client_body_temp_path, so the
// memory a request takes stays small however many upload at once. The file's name is removed
// as soon as it is open (unnamedFile), so nothing is left behind, not even by a crash; its
// blocks go when the descriptor closes. Its writes and reads block, as nginx's do without aio:
// each is a copy to or from the page cache, and a trip through libuv's thread pool for each
// piece would cost more than the copy.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { roomTaken, spoolRoom, type BodySpool, type SpooledBody, type SpoolRoom } from "../../core/body.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { Pieces } from "../../core/pieces.js";
import { randomId } from "../../core/random-id.js";

/** The most one read of a spooled body brings back. */
const READ = 64 * 1024;

/** Where bodies go when [serve] body_temp is not set: $TMPDIR when the user set one, else
 *  /var/tmp, which is on disk where /tmp is memory (tmpfs: Debian 13, Fedora, Arch), else the
 *  system's temporary directory. */
export function defaultSpoolDir(): string {
  if (process.env.TMPDIR) return os.tmpdir();
  return checkSpoolDir(VAR_TMP) === null ? VAR_TMP : os.tmpdir();
}
const VAR_TMP = "/var/tmp";

/** Bytes all of a process's spooled bodies may take on disk together: past it, 503
 *  BODY_BUFFER_BUSY, as when a Worker's memory for them is full. A directory on tmpfs is
 *  memory, and even a disk fills. */
export const SPOOL_BUDGET = 1024 * 1024 * 1024;

/** A spool in `dir`, within `room` for all of them (one per process: a reload's spool shares
 *  its predecessor's). */
export function fileSpool(dir: string, room: SpoolRoom = PROCESS_ROOM): BodySpool {
  return { open: (reserve = 0) => spoolFile(dir, room, reserve), holds: true };
}
const PROCESS_ROOM = spoolRoom(SPOOL_BUDGET);

/** Bytes this process's held request bodies take in their files now (serve's metrics). */
export const spooledBytes = (): number => PROCESS_ROOM.used;

/** Refuses a directory the spool could not write a file in (checked when a config is loaded,
 *  as the TLS files are). */
export function checkSpoolDir(dir: string): string | null {
  try {
    spoolFile(dir).discard();
    return null;
  } catch (e) {
    return e instanceof GatewayError ? String(e.detail) : String(e);
  }
}

/** A new file in `dir`, open for reading and writing, its name already removed (so nothing is
 *  left behind, even by a crash); throws an Error that says what failed. */
export function unnamedFile(dir: string, kind: string): number {
  const file = path.join(dir, `edgepass-${kind}-${randomId()}`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (e) {
    throw new Error(`cannot create a file in ${dir}: ${String(e)}`);
  }
  try {
    fs.unlinkSync(file);
  } catch (e) {
    fs.closeSync(fd);
    throw new Error(`cannot remove ${file} once open: ${String(e)}`);
  }
  return fd;
}

function spoolFile(dir: string, room?: SpoolRoom, reserve = 0): SpooledBody {
  // The room first: a body refused for it leaves no file to remove.
  const taken = roomTaken(room, reserve);
  let fd: number;
  try {
    fd = unnamedFile(dir, "body");
  } catch (e) {
    taken.giveBack();
    throw failed((e as Error).message);
  }
  let size = 0;
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      fs.closeSync(fd);
      taken.giveBack();
    }
  };
  return {
    write(piece) {
      try {
        taken.grow(piece.byteLength);
      } catch (e) {
        close();
        throw e;
      }
      try {
        for (let done = 0; done < piece.byteLength; ) done += fs.writeSync(fd, piece, done, piece.byteLength - done, size + done);
      } catch (e) {
        close();
        throw failed(`cannot write to a file in ${dir}: ${String(e)}`);
      }
      size += piece.byteLength;
    },
    pieces(): Pieces {
      let at = 0;
      return {
        async next() {
          if (at >= size) {
            close();
            return null;
          }
          // Cancelled, or the spool failed: never a short body that looks whole.
          if (!open) throw new Error(`the spooled body was let go after ${at} of ${size} bytes`);
          const piece = Buffer.allocUnsafe(Math.min(READ, size - at));
          const n = fs.readSync(fd, piece, 0, piece.byteLength, at);
          if (n === 0) {
            close();
            throw new Error(`the spooled body ended after ${at} of ${size} bytes`);
          }
          at += n;
          // A reader that knows the length stops asking once it has every byte.
          if (at >= size) close();
          return [piece.subarray(0, n)];
        },
        cancel: close,
      };
    },
    discard: close,
  };
}

function failed(detail: string): GatewayError {
  return new GatewayError(Codes.BODY_SPOOL_FAILED, 500, "The request body could not be stored before it was sent on.", detail);
}
