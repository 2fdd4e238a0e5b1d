// A node:net socket as the web-stream pair the core reads and writes (core/transport.ts).
// Pull-based both ways, so backpressure holds: the socket is paused until the reader asks
// for bytes, and a write resolves only once the kernel took the bytes (or 'drain' fired).
import type net from "node:net";
import { settle } from "../../core/read-slabs.js";
import type { Outgoing } from "../../core/transport.js";
import { ReadMemory } from "./read-slabs.js";

export function socketReadable(sock: net.Socket, reads: SocketReads): ReadableStream<Uint8Array> {
  sock.pause();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      reads.attach(false, (chunk) => {
        controller.enqueue(chunk);
        return (controller.desiredSize ?? 0) > 0;
      });
      // Ended or failed: the close after it is no news (and no Error, which costs its stack).
      let over = false;
      sock.on("end", () => {
        over = true;
        try {
          controller.close();
        } catch {
          // already closed or errored
        }
      });
      sock.on("error", (e) => {
        over = true;
        try {
          controller.error(e);
        } catch {
          // already closed
        }
      });
      sock.on("close", () => {
        if (over) return;
        try {
          // A close without 'end' (a reset, or destroy()) is an error for the reader.
          controller.error(new Error("the connection was closed"));
        } catch {
          // already closed
        }
      });
    },
    pull() {
      sock.resume();
    },
    cancel() {
      sock.destroy();
    },
  }, { highWaterMark: 1 });
}

/** One socket's reads (Node's `onread`, each into the socket's slab, read-slabs.ts), handed
 *  at once to whoever reads the socket. What arrives before a reader is attached waits for it. */
export class SocketReads {
  private early: Uint8Array[] = [];
  private readonly memory = new ReadMemory();
  /** The reader settles what it reads (core/read-slabs.ts): big reads are lent, not copied. */
  private lends = false;
  /** Takes a chunk; false: pause the socket until resumed. */
  private sink: ((chunk: Uint8Array) => boolean) | null = null;

  readonly onread = {
    buffer: this.memory.next,
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = this.memory.take(buf, n, this.lends);
      if (this.sink) return this.sink(chunk);
      this.early.push(chunk);
      return false;
    },
  };

  attach(lends: boolean, sink: (chunk: Uint8Array) => boolean): void {
    this.lends = lends;
    this.sink = sink;
    for (const c of this.early.splice(0)) sink(c);
  }

  /** The socket closed. */
  release(): void {
    this.memory.release();
  }
}

export function socketWritable(sock: net.Socket): WritableStream<Uint8Array> {
  const out = new CoalescingWriter(sock);
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return out.write(chunk) ?? undefined;
    },
    close() {
      return new Promise<void>((resolve) => sock.end(resolve));
    },
    abort() {
      sock.destroy();
    },
  });
}

/** The socket as plain calls (core/transport.ts, DirectIO), for a reader that reads and
 *  writes chunk by chunk (the pooled FastCGI connection): what socketReadable and
 *  socketWritable do, without a web-stream read, write and promise per chunk. One chunk is
 *  read ahead, as the stream's high-water mark of one did; a close without 'end' fails the
 *  reads, dropping what was not read yet, as an errored stream does. */
export class SocketChannel {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | null = null;
  private waiter: (() => void) | null = null;
  private readonly out: CoalescingWriter;
  /** The next write opens an exchange (none since the last read): it goes out at once. */
  private opens = true;

  constructor(
    private readonly sock: net.Socket,
    reads: SocketReads,
  ) {
    this.out = new CoalescingWriter(sock);
    sock.pause();
    reads.attach(true, (chunk) => {
      this.queue.push(chunk);
      this.opens = true;
      // A reader waiting takes it at once and the socket keeps flowing; a chunk nobody asked
      // for yet is the one read ahead, and the socket waits for the next read.
      if (!this.waiter) return false;
      this.wake();
      return true;
    });
    sock.on("end", () => {
      this.ended = true;
      this.wake();
    });
    const fail = (e: Error) => {
      if (this.ended || this.failure) return;
      this.failure = e;
      this.queue.length = 0;
      this.wake();
    };
    sock.on("error", fail);
    // A close without 'end' (a reset, or destroy()) is an error for the reader. The error is
    // made only then: a connection per request closes after its end every time, and an Error
    // costs its stack.
    sock.on("close", () => {
      if (!this.ended && !this.failure) fail(new Error("the connection was closed"));
    });
  }

  read(): Promise<Uint8Array | null> {
    const next = this.queue.shift();
    if (next) {
      if (this.queue.length === 0 && !this.ended) this.sock.resume();
      return Promise.resolve(next);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = () => {
        const v = this.queue.shift();
        if (v) resolve(v);
        else if (this.failure) reject(this.failure);
        else if (this.ended) resolve(null);
        else return;
        this.waiter = null;
      };
      this.sock.resume();
    });
  }

  /** The first write after a read (a request's records, most often all of it) goes out at
   *  once, so the origin starts on it sooner; what follows it in the same exchange (body
   *  pieces) is held for the end of the turn as every write is. */
  write(bytes: Outgoing): Promise<void> | null {
    if (this.opens) {
      this.opens = false;
      return this.out.writeNow(bytes);
    }
    return bytes instanceof Uint8Array ? this.out.write(bytes) : this.out.writeThen(bytes, undefined);
  }

  settle(chunk: Uint8Array, views: Iterable<Uint8Array>): void {
    settle(chunk, views);
  }

  private wake(): void {
    this.waiter?.();
  }
}

/** Bytes a writer may leave queued on a socket before it waits for the kernel to take them:
 *  a few of an origin's 64 KiB pieces, so the next one is read while the last is still being
 *  sent (Node's own mark, 16 KiB, made every piece wait for the one before to leave whole). */
export const WRITE_AHEAD = 256 * 1024;

/** Every socket written in one turn of the event loop is corked at its first write and all
 *  are uncorked together at the end of the turn (one setImmediate for all of them), or one at
 *  once when it is full. So what one socket gets in a turn (a response's head, body and last
 *  chunk) leaves in one system call, and the writes of a turn leave back to back: the peer
 *  waiting on them (the client) is woken once for the lot rather than once per write while it
 *  sleeps between them. Writing each small answer at once cost half again as much CPU per
 *  request (a 6 KiB file under wrk -c32 on two cores: 43 against 29 µs), most of the
 *  difference in the kernel waking the client. A request to an origin is the exception
 *  (SocketChannel.write): each goes to its own php-fpm worker, which no batch wakes for less,
 *  and held to the end of the turn it started later (0.88x the requests/s). */
const heldThisTurn: net.Socket[] = [];
let releaseDue = false;
/** A turn that answers more sockets than this sends what it holds so far at once, so the
 *  first answers of a large burst do not wait for the last. */
const HOLD_MAX = 64;

function holdForTurn(sock: net.Socket): void {
  sock.cork();
  if (heldThisTurn.push(sock) >= HOLD_MAX) releaseHeld();
  else if (!releaseDue) {
    releaseDue = true;
    setImmediate(releaseTurn);
  }
}

function releaseTurn(): void {
  releaseDue = false;
  releaseHeld();
}

function releaseHeld(): void {
  // A socket uncorked early (full, or ended) is no longer corked: uncork() then does nothing.
  for (let i = 0; i < heldThisTurn.length; i++) heldThisTurn[i].uncork();
  heldThisTurn.length = 0;
}

/** Writes to one socket, held for the end of the turn (above), with backpressure. */
export class CoalescingWriter {
  /** One wait for 'drain' however many writes found the socket full. */
  private draining: Promise<void> | null = null;
  constructor(private readonly sock: net.Socket) {}

  /** null when the socket holds at most WRITE_AHEAD bytes not yet sent; else a promise for when
   *  it drained (rejected if it closes first). Strings go out as latin1: a response head holds
   *  the origin's field bytes one per character (codec/text.ts). */
  write(...chunks: Array<Uint8Array | string>): Promise<void> | null {
    return this.writeThen(chunks, undefined);
  }

  /** Sends at once what the socket does not hold already (then it joins what is held). */
  writeNow(bytes: Outgoing): Promise<void> | null {
    const sock = this.sock;
    if (sock.writableCorked || sock.destroyed) return this.writeThen(bytes instanceof Uint8Array ? [bytes] : bytes, undefined);
    if (bytes instanceof Uint8Array) sock.write(bytes);
    else {
      sock.cork();
      for (const c of bytes) sock.write(c);
      sock.uncork();
    }
    return this.waitIfFull();
  }

  /** As write(); `written` is called once the socket is done with every chunk (sent, or
   *  dropped because the connection failed). */
  writeThen(chunks: ReadonlyArray<Uint8Array | string>, written: (() => void) | undefined): Promise<void> | null {
    const sock = this.sock;
    if (sock.destroyed) {
      written?.();
      return Promise.reject(new Error("the connection is closed"));
    }
    if (!sock.writableCorked) holdForTurn(sock);
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = chunks[i];
      const cb = i === last ? written : undefined;
      if (typeof c === "string") sock.write(c, "latin1", cb);
      else sock.write(c, cb);
    }
    return this.waitIfFull();
  }

  /** When full, what is held goes out now and the wait is until the kernel took it. */
  private waitIfFull(): Promise<void> | null {
    const sock = this.sock;
    if (sock.writableLength <= WRITE_AHEAD) return null;
    while (sock.writableCorked) sock.uncork();
    this.draining ??= drained(sock).finally(() => (this.draining = null));
    return this.draining;
  }
}

/** Resolves once `sock` drained what it held; rejects if it closes first. */
export function drained(sock: net.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () => {
      sock.off("drain", onDrain);
      reject(new Error("the connection was closed"));
    };
    const onDrain = () => {
      sock.off("close", onClose);
      resolve();
    };
    sock.once("drain", onDrain);
    sock.once("close", onClose);
  });
}

/** Resolves once `sock` accepted `chunk` without buffering past its high-water mark. */
export function writeAll(sock: net.Socket, chunk: Uint8Array | string): Promise<void> {
  if (sock.destroyed) return Promise.reject(new Error("the connection is closed"));
  return sock.write(chunk) ? Promise.resolve() : drained(sock);
}
