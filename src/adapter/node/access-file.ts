// [serve] access_log: the request lines appended to a file, as nginx's access_log. After
// logrotate moves the file, SIGUSR1 (or a reload) opens the path again, so lines go to a new
// file and none are lost between the two: nginx's `kill -USR1` convention, which logrotate's
// stock nginx rule sends. Lines are written with a blocking write of each batch (the sink
// gathers them for 10 ms or 64 KiB, log-sink.ts): a write to the page cache takes
// microseconds, and nothing waits in memory to be lost when the process exits.
import { closeSync, openSync, writeSync } from "node:fs";
import type { LogStream } from "./log-sink.js";

export interface AccessFile extends LogStream {
  readonly path: string;
  /** Opens the path again; the old file is closed once the new one is open. Returns the
   *  error message when it cannot be opened (the old file is kept). */
  reopen(): string | null;
  close(): void;
}

/** What starting says of an access_log it cannot open (`edgepass check` says the same). */
export const cannotOpen = (source: string, path: string, e: unknown): string => `${source}: [serve] access_log: cannot open ${path}: ${(e as Error).message}`;

/** Opens `path` for appending (created 0644 when missing); throws when it cannot be. */
export function openAccessFile(path: string, onError: (message: string) => void): AccessFile {
  const open = () => openSync(path, "a", 0o644);
  let fd = open();
  let failing = false;
  return {
    path,
    write(chunk) {
      try {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        for (let at = 0; at < bytes.byteLength; ) at += writeSync(fd, bytes, at);
        failing = false;
      } catch (e) {
        // Said once per run of failures (a full disk would fail every batch).
        if (!failing) onError(`cannot write the access log ${path}: ${(e as Error).message}; request lines are lost until it can be written`);
        failing = true;
      }
      return true;
    },
    reopen() {
      let next: number;
      try {
        next = open();
      } catch (e) {
        return `cannot open the access log ${path}: ${(e as Error).message}; still writing to the file open before`;
      }
      const old = fd;
      fd = next;
      closeSync(old);
      return null;
    },
    close() {
      closeSync(fd);
    },
  };
}
