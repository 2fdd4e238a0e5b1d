// A Transport turns an address into a duplex byte stream. The core never names a runtime:
// the Cloudflare adapter dials with connect(), the Node adapter with node:net, tests may
// dial whatever they like.
import type { ServerAddress } from "../config/types.js";

export interface Duplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Closes both directions; safe to call more than once. */
  close(): Promise<void>;
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
