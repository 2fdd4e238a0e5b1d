// An origin's answer read as fast as the origin sends it, whatever the client's pace, as nginx
// buffers a proxied answer (proxy_buffering, fastcgi_buffering): what the client has not taken
// yet waits in memory, then in a file of the host's. Without it a client that reads slowly
// (a phone on a bad network, or someone doing it on purpose) holds the origin's worker until
// it has the last byte: backpressure reaches php-fpm, whose pool is a few dozen workers. With
// it the worker is free once the application is done, which is a front server's third duty.
// Nothing waits that need not: each piece goes on as soon as the client takes it, so an
// answer that streams (server-sent events, a long report) reaches the client as it comes.
import { giveBack } from "./read-slabs.js";
import { PiecesBody, piecesOf, type Pieces, type StreamBody } from "./pieces.js";
import type { Logger } from "./log.js";
import type { RouteConfig } from "../config/types.js";

/** Where a host keeps what an answer read ahead past memory (`edgepass serve`: a file). */
export interface AheadStore {
  /** Bytes one answer holds in memory before its file. */
  readonly memory: number;
  /** A file for one answer that may grow to `max` bytes; null when there is no room for one.
   *  Throws when one cannot be made. Either way the answer then waits for its client, as
   *  without buffering. */
  open(max: number): AheadFile | null;
}

/** One answer's bytes in the order they came: appended at its end, taken from its start. */
export interface AheadFile {
  /** Copies `pieces` (`n` bytes in all) in; false when they do not fit (nothing kept). Throws
   *  when the write failed (the file is not used again). */
  append(pieces: readonly Uint8Array[], n: number): boolean;
  /** Takes out up to `max` of the oldest bytes (at least one; called only while it holds some). */
  take(max: number): Uint8Array;
  close(): void;
}

/** max_temp_file_size's default, nginx's: the most one answer's file holds. */
export const DEFAULT_MAX_TEMP_FILE = 1024 * 1024 * 1024;

/** The most one piece read back from the file brings. */
const READ_BACK = 64 * 1024;

/** Bytes held in memory (its pieces) or in the file (how many). */
type Held = { pieces: Uint8Array[]; n: number } | number;

/** `body`, read ahead of its reader into memory, then `store`'s file of up to `maxFile` bytes
 *  (0: memory only); past both, the origin waits for the client. Reading starts at the first
 *  read. A failure reaches the reader after every byte that came before it; a file that
 *  fails is logged and given up (the answer goes on, at its client's pace). */
export function readAhead(body: StreamBody, store: AheadStore, maxFile: number, log: Logger, read?: () => void): PiecesBody {
  return new PiecesBody(aheadPieces(piecesOf(body), store, maxFile, log, read));
}

/** Whether an origin's answer is read ahead on `route`: its X-Accel-Buffering ("yes" or "no",
 *  as nginx reads it) decides, else the route's buffering (default on). */
export function buffersAnswer(route: RouteConfig | undefined, field: string | null): boolean {
  if (field !== null) {
    const v = field.toLowerCase();
    if (v === "no") return false;
    if (v === "yes") return true;
  }
  return route?.buffering?.on ?? true;
}

/** `read`: told once the origin's answer is all read. */
export function aheadPieces(src: Pieces, store: AheadStore, maxFile: number, log: Logger, read?: () => void): Pieces {
  const queue: Held[] = [];
  let inMemory = 0;
  let file: AheadFile | null = null;
  let noFile = maxFile <= 0;
  let reading = false;
  /** Memory is full and the file took nothing more: reading waits for the reader. */
  let blocked = false;
  let ended = false;
  let stopped = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const tell = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const close = () => {
    noFile = true;
    const f = file;
    file = null;
    f?.close();
  };
  const toFile = (pieces: Uint8Array[], n: number): boolean => {
    if (noFile) return false;
    try {
      if (file === null) {
        file = store.open(maxFile);
        if (file === null) {
          noFile = true;
          return false;
        }
      }
      if (!file.append(pieces, n)) return false;
    } catch (e) {
      log.log("warn", "response_temp_failed", { detail: e instanceof Error ? e.message : String(e) });
      // What the file already holds is still read back; nothing more goes in.
      if (!queue.some((h) => typeof h === "number")) close();
      noFile = true;
      return false;
    }
    // Copied: their memory is free again (when the reader was to give it back).
    if (src.own) giveBack(pieces);
    const last = queue.length - 1;
    if (last >= 0 && typeof queue[last] === "number") (queue[last] as number) += n;
    else queue.push(n);
    return true;
  };
  const hold = (pieces: Uint8Array[]) => {
    let n = 0;
    for (const p of pieces) n += p.byteLength;
    if (inMemory + n > store.memory && toFile(pieces, n)) return;
    queue.push({ pieces, n });
    inMemory += n;
    blocked = inMemory > store.memory;
  };
  const readOn = async () => {
    reading = true;
    try {
      while (!blocked && !stopped) {
        const got = await src.next();
        if (stopped) {
          if (got && src.own) giveBack(got);
          break;
        }
        if (got === null) {
          ended = true;
          read?.();
          break;
        }
        hold(got);
        tell();
      }
    } catch (e) {
      if (!stopped) failure = e;
    }
    reading = false;
    tell();
  };
  const take = (): Uint8Array[] => {
    const first = queue[0];
    let out: Uint8Array[];
    if (typeof first === "number") {
      const piece = file!.take(Math.min(first, READ_BACK));
      if (piece.byteLength >= first) queue.shift();
      else queue[0] = first - piece.byteLength;
      out = [piece];
    } else {
      // Every piece in memory up to the file's goes on together (one write on serve).
      out = [];
      while (queue.length > 0 && typeof queue[0] !== "number") {
        const h = queue.shift() as { pieces: Uint8Array[]; n: number };
        for (const p of h.pieces) out.push(p);
        inMemory -= h.n;
      }
    }
    // Reading goes on once memory has room again (a file at its largest empties first).
    if (blocked && inMemory <= store.memory) {
      blocked = false;
      if (!reading && !ended && failure === null) void readOn();
    }
    return out;
  };
  return {
    own: src.own,
    async next() {
      for (;;) {
        if (queue.length > 0) return take();
        if (failure !== null) {
          close();
          throw failure;
        }
        if (ended || stopped) {
          close();
          return null;
        }
        if (!reading) void readOn();
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    cancel(reason) {
      if (stopped) return;
      stopped = true;
      for (const h of queue.splice(0)) if (typeof h !== "number" && src.own) giveBack(h.pieces);
      inMemory = 0;
      close();
      src.cancel(reason);
      tell();
    },
  };
}
