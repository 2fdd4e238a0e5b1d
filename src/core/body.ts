// Request bodies reach the origin with an exact length: CGI origins (PHP-FPM above all) read
// CONTENT_LENGTH and nothing else. A body whose length the client did not declare (chunked
// upload) is buffered up to max_body_buffer so the length becomes known; past the cap the
// request is refused with 413 before a byte goes upstream. Past its first 64 KiB such a body
// goes to the host's spool (edgepass serve: a temporary file, as nginx writes
// client_body_temp_path; a Worker: memory, within a budget for all its requests): held in
// memory with no bound, each request's 8 MiB is multiplied by every connection, and by up to
// 128 streams on each HTTP/2 connection. Where request_buffering asks, any body is held whole
// before the origin is asked (nginx's default): a slow upload then costs the gateway a
// connection and some memory or a file, never one of the app's few workers.
import type { RequestBody } from "./exchange.js";
import { Codes, GatewayError, isGatewayError } from "./errors.js";
import { atLeastReader } from "./upstream-io.js";
import { heldPieces, PiecesBody, streamPieces, type Pieces, type StreamBody } from "./pieces.js";

/** The most one read of a request body takes. */
const BODY_READ = 64 * 1024;

/** Reads `body` for sending it on, telling body.count of each piece. In workerd a plain read
 *  brings 4 KiB at most, so each read there waits for up to 64 KiB of what the client declared
 *  it will send (its Content-Length): a 4 MiB upload is some 70 reads, frames and writes, not
 *  1,000. That only ever holds back bytes the client is still sending, and nginx holds back
 *  the whole body before the origin sees any of it. A body of unknown length, and any body on
 *  other hosts, is read as it comes.
 *
 *  `reuse`, asked before each read: true when the caller keeps no piece any more (it wrote
 *  each, and the write copied it: workerd's does), so the read goes into the memory the last
 *  one filled. A BYOB read takes that memory over, which empties the views of the piece
 *  before. A new 64 KiB buffer per read was memory workerd makes dearly, outside V8's heap. */
export function readBody(body: RequestBody, reuse: () => boolean = () => false): Pieces {
  let left = body.length ?? 0;
  const counted = (got: Uint8Array[] | null): Uint8Array[] | null => {
    if (got) {
      for (const p of got) {
        left -= p.byteLength;
        body.count?.(p.byteLength);
      }
    }
    return got;
  };
  const src = body.stream;
  const byob = body.length !== null && !(src instanceof PiecesBody) ? atLeastReader(src) : null;
  if (byob) {
    // Memory for what is left of the body, no more (a form post makes no 64 KiB buffer); the
    // read after the last byte only has to see the end.
    let used: ArrayBufferLike | null = null;
    const memory = (want: number): Uint8Array => {
      if (used !== null && used.byteLength >= want && reuse()) return new Uint8Array(used, 0, want);
      return new Uint8Array(want);
    };
    const next = async (): Promise<Uint8Array[] | null> => {
      for (;;) {
        const want = Math.min(left, BODY_READ);
        const r = want > 0 ? await byob.readAtLeast(want, memory(want)) : await byob.read(memory(1));
        if (r.done) return null;
        used = r.value.buffer;
        if (r.value.byteLength > 0) return [r.value];
      }
    };
    return { next: () => next().then(counted), cancel: (reason) => void byob.cancel(reason).catch(() => {}) };
  }
  const pieces = streamPieces(src);
  return { next: () => pieces.next().then(counted), cancel: (reason) => pieces.cancel(reason) };
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

/** Where a host keeps a body it holds (to learn its length, or whole before the origin is
 *  asked), past SPOOL_AFTER bytes. */
export interface BodySpool {
  /** Room for one body, `reserve` bytes of it taken at once (a declared length); throws a
   *  GatewayError when there is none. */
  open(reserve?: number): SpooledBody;
  /** Bodies are held whole by default (request_buffering): the host has a disk for them. */
  readonly holds?: boolean;
}

export interface SpooledBody {
  /** Appends `piece`, which the caller does not touch again; throws a GatewayError when there
   *  is no room for it. */
  write(piece: Uint8Array): void;
  /** The body as written, read once; the room is given back once it is read or cancelled. */
  pieces(): Pieces;
  /** Gives the room back unread. */
  discard(): void;
}

/** A body held to learn its length stays in memory up to this; the rest goes to the spool. */
export const SPOOL_AFTER = 64 * 1024;

/** The spool of a host with no disk (the Worker, its pool object): bodies stay in memory, within
 *  `budget` bytes for all the requests of the isolate together, past which the request is 503
 *  (retry in a second). An isolate has 128 MB for every request it serves at once, and the
 *  upload that passed it would end them all. */
export function memorySpool(budget: number): BodySpool {
  const room = spoolRoom(budget);
  return {
    open(reserve = 0): SpooledBody {
      let held: Uint8Array[] | null = [];
      const taken = roomTaken(room, reserve);
      const giveBack = () => {
        taken.giveBack();
        held = null;
      };
      return {
        write(piece) {
          taken.grow(piece.byteLength);
          held!.push(piece);
        },
        pieces(): Pieces {
          const pieces = heldPieces(held ?? []);
          // Handed on, the pieces are the sender's, let go as they are written.
          return {
            next: () => (giveBack(), pieces.next()),
            cancel: (reason) => (giveBack(), pieces.cancel(reason)),
          };
        },
        discard: giveBack,
      };
    },
  };
}

/** Room for held bodies' bytes, shared by all of them. */
export interface SpoolRoom {
  take(n: number): void;
  give(n: number): void;
  /** Bytes taken now, of `budget`. */
  readonly used: number;
  readonly budget: number;
}

/** One body's share of `room`: `reserve` bytes taken at once (throws when there is no room),
 *  more as the body grows past them, all given back once. */
export function roomTaken(room: SpoolRoom | undefined, reserve: number) {
  if (reserve > 0) room?.take(reserve);
  let taken = reserve;
  let size = 0;
  return {
    /** `n` more bytes; throws when there is no room for them (nothing is taken). */
    grow(n: number) {
      if (size + n > taken) {
        room?.take(size + n - taken);
        taken = size + n;
      }
      size += n;
    },
    giveBack() {
      room?.give(taken);
      taken = size = 0;
    },
  };
}

/** Room for `budget` bytes in all: `take` throws 503 BODY_BUFFER_BUSY (retry in a second) when
 *  the bytes would pass it. */
export function spoolRoom(budget: number): SpoolRoom {
  let used = 0;
  return {
    take(n) {
      if (used + n > budget) {
        const e = new GatewayError(
          Codes.BODY_BUFFER_BUSY,
          503,
          `Too many request bodies without a Content-Length are being held at once (${formatBytes(budget)} in all). ` +
            `Try again in a moment, or send a Content-Length header.`,
        );
        e.retryAfter = 1;
        throw e;
      }
      used += n;
    },
    give(n) {
      used -= n;
    },
    get used() {
      return used;
    },
    budget,
  };
}

/** The memory spool of this isolate or process, for a gateway given no spool of its own. */
const HELD_IN_MEMORY = memorySpool(32 * 1024 * 1024);

/** The body as it goes to the origin. `needsLength`: one of unknown length is held to learn
 *  it (up to `maxBuffer`, else 413). `hold` (request_buffering): any body is held whole before
 *  the origin is asked, so a slow upload takes the gateway's time, never an app worker's; a
 *  declared one the spool has no room for streams instead, as without. */
export async function prepareBody(
  body: StreamBody | null,
  declaredLength: string | null,
  maxBuffer: number,
  needsLength = true,
  spool: BodySpool = HELD_IN_MEMORY,
  hold = false,
): Promise<RequestBody | null> {
  if (body === null) return null;
  if (declaredLength !== null) {
    const length = Number(declaredLength);
    // The platform has already refused malformed Content-Length; this guards other hosts.
    if (!/^[0-9]{1,15}$/.test(declaredLength) || !Number.isSafeInteger(length)) {
      throw new GatewayError(Codes.REQUEST_INVALID, 400, `The Content-Length header "${declaredLength}" is not a valid length.`);
    }
    if (!hold) return { length, stream: body, count: undefined };
    let spooled: SpooledBody | null = null;
    if (length > SPOOL_AFTER) {
      // Up to 1 MiB in memory while the process's room for it lasts (a file costs a write and
      // a read of every byte), else the spool.
      spooled = (length <= HOLD_IN_MEMORY_MAX && spool !== HELD_IN_MEMORY ? roomFor(HELD_IN_MEMORY, length) : null) ?? roomFor(spool, length);
      if (spooled === null) return { length, stream: body, count: undefined };
    }
    const held = await holdWhole(body, spooled, spool, null);
    if (held.length !== length) {
      held.stream.cancel();
      throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The request body could not be read to its end.", `${held.length} of ${length} declared bytes`);
    }
    return { length, stream: held.stream, count: undefined };
  }
  if (!needsLength && !hold) return { length: null, stream: body, count: undefined };
  const held = await holdWhole(body, null, spool, maxBuffer);
  return { length: held.length, stream: held.stream, count: undefined };
}

/** A declared body held whole stays in memory up to this (within HELD_IN_MEMORY's budget). */
const HOLD_IN_MEMORY_MAX = 1024 * 1024;

/** `spool`'s room for `length` bytes, or null when it has none (503 BODY_BUFFER_BUSY). */
function roomFor(spool: BodySpool, length: number): SpooledBody | null {
  try {
    return spool.open(length);
  } catch (e) {
    if (isGatewayError(e) && e.code === Codes.BODY_BUFFER_BUSY) return null;
    throw e;
  }
}

/** Reads `body` to its end: in memory up to SPOOL_AFTER, then into `spooled` (or a new one
 *  from `spool`); `maxBuffer`: the most a body of unknown length may be (413 past it). */
async function holdWhole(body: StreamBody, spooled: SpooledBody | null, spool: BodySpool, maxBuffer: number | null): Promise<{ length: number; stream: PiecesBody }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const pieces = streamPieces(body);
  try {
    for (let got = await pieces.next(); got !== null; got = await pieces.next()) {
      for (const p of got) total += p.byteLength;
      if (maxBuffer !== null && total > maxBuffer) {
        throw new GatewayError(
          Codes.BODY_TOO_LARGE,
          413,
          `The request body has no Content-Length and is larger than ${formatBytes(maxBuffer)}, ` +
            `the most this gateway buffers to learn its length (max_body_buffer). ` +
            `Send a Content-Length header, or raise max_body_buffer in the [gateway] section.`,
        );
      }
      if (spooled === null && total > SPOOL_AFTER) {
        spooled = spool.open();
        for (const p of chunks.splice(0)) spooled.write(p);
      }
      if (spooled) for (const p of got) spooled.write(p);
      else chunks.push(...got);
    }
  } catch (e) {
    pieces.cancel();
    spooled?.discard();
    if (e instanceof GatewayError) throw e;
    throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The request body could not be read to its end.", String(e));
  }
  return { length: total, stream: new PiecesBody(spooled ? spooled.pieces() : heldPieces(chunks)) };
}
