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
   *  once: a request without a body is one buffer, and holding it for the end of the turn
   *  cost a timer and a later wake-up per request. What follows it in the same exchange (body
   *  pieces) is coalesced as every writer's is. */
  write(bytes: Outgoing): Promise<void> | null {
    const one = bytes instanceof Uint8Array ? bytes : bytes.length === 1 ? bytes[0] : null;
    if (!this.opens) return one ? this.out.write(one) : this.out.writeThen(bytes as readonly Uint8Array[], undefined);
    this.opens = false;
    return one ? this.out.writeWhole(one) : this.out.writeNow(bytes as readonly Uint8Array[]);
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

/** Writes that happen in one turn of the event loop leave as one writev (a FastCGI request's
 *  records, a response's head, body and last chunk), not one system call each, which was
 *  the largest cost of a small request: the socket is corked at the first write of a turn and
 *  uncorked at the end of it (setImmediate), or at once when it is full. */
export class CoalescingWriter {
  private corked = false;
  /** One wait for 'drain' however many writes found the socket full. */
  private draining: Promise<void> | null = null;
  constructor(private readonly sock: net.Socket) {}

  /** null when the socket holds at most WRITE_AHEAD bytes not yet sent; else a promise for when
   *  it drained (rejected if it closes first). Strings go out as latin1: a response head holds
   *  the origin's field bytes one per character (codec/text.ts). */
  write(...chunks: Array<Uint8Array | string>): Promise<void> | null {
    return this.writeThen(chunks, undefined);
  }

  /** As write(); `written` is called once the socket is done with every chunk (sent, or
   *  dropped because the connection failed). */
  writeThen(chunks: ReadonlyArray<Uint8Array | string>, written: (() => void) | undefined): Promise<void> | null {
    if (this.sock.destroyed) {
      written?.();
      return Promise.reject(new Error("the connection is closed"));
    }
    if (!this.corked) {
      this.corked = true;
      this.sock.cork();
      setImmediate(() => this.flush());
    }
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = chunks[i];
      const cb = i === last ? written : undefined;
      if (typeof c === "string") this.sock.write(c, "latin1", cb);
      else this.sock.write(c, cb);
    }
    return this.afterWrite();
  }

  /** One buffer that is the whole of what this turn writes (a small response: head and body
   *  copied together): a plain write, no cork, so no writev, no list of chunks and no timer. */
  writeWhole(bytes: Uint8Array): Promise<void> | null {
    if (this.corked) return this.writeThen([bytes], undefined);
    if (this.sock.destroyed) return Promise.reject(new Error("the connection is closed"));
    this.sock.write(bytes);
    return this.afterWrite();
  }

  /** Pieces that are the whole of what this turn writes: one writev now, no timer. */
  writeNow(chunks: readonly Uint8Array[]): Promise<void> | null {
    if (this.corked) return this.writeThen(chunks, undefined);
    if (this.sock.destroyed) return Promise.reject(new Error("the connection is closed"));
    this.sock.cork();
    for (const c of chunks) this.sock.write(c);
    this.sock.uncork();
    return this.afterWrite();
  }

  /** null while the socket holds at most WRITE_AHEAD; when full, what is corked goes out now
   *  and the wait is until the kernel took it (backpressure). */
  private afterWrite(): Promise<void> | null {
    if (this.sock.writableLength <= WRITE_AHEAD) return null;
    this.flush();
    this.draining ??= drained(this.sock).finally(() => (this.draining = null));
    return this.draining;
  }

  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.sock.uncork();
  }
}

function drained(sock: net.Socket): Promise<void> {
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
