// A Transport turns an address into a duplex byte stream. The core never names a runtime:
// the Cloudflare adapter dials with connect(), the Node adapter with node:net, tests may
// dial whatever they like.
import type { ConnectionTimers } from "./deadline.js";
import type { ServerAddress } from "../config/types.js";

/** Bytes to write: one array, or pieces that go out in order as one write (a host that writes
 *  one buffer at a time joins them). Pieces are views the writer may hold until they are
 *  sent: their memory must not be written into again before then. */
export type Outgoing = Uint8Array | readonly Uint8Array[];

export interface Duplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Closes both directions; safe to call more than once. */
  close(): Promise<void>;
  /** The same connection as plain calls, where the host has them (Node): no web-stream
   *  read, write and promise per chunk. Whoever uses it uses it alone, never with the streams. */
  direct?: DirectIO;
  /** The connection's one timer, where the dial made one for its connect: the reads and
   *  writes on it time their waits with it too. */
  timers?: ConnectionTimers;
}

export interface DirectIO {
  /** The next chunk, or null at the end of the stream; rejects once the connection failed. */
  read(): Promise<Uint8Array | null>;
  /** null: the host took the bytes under its buffer limit; else a promise for when it drained
   *  (rejected if the connection closes first). */
  write(bytes: Outgoing): Promise<void> | null;
  /** The reader is done with `chunk` (from read()) but for `views`, pieces of it it handed on
   *  as they are. Where the host reuses read memory, that chunk's memory is used again once
   *  each of them is given back by the writer that took it; a reader that never says this
   *  leaves every chunk to the garbage collector. */
  settle?(chunk: Uint8Array, views: Iterable<Uint8Array>): void;
}

export interface DialOptions {
  connectTimeoutMs: number;
}

/** Resolves once the connection is established; rejects with a GatewayError
 *  (UPSTREAM_CONNECT_FAILED or UPSTREAM_CONNECT_TIMEOUT). */
export type Dial = (address: ServerAddress, options: DialOptions) => Promise<Duplex>;

export const formatAddress = (a: ServerAddress): string =>
  a.path !== undefined ? `unix:${a.path}`
  : a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
