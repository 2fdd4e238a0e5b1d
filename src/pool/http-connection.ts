// One kept HTTP/1.1 connection of the keep-alive pool (http-pool.ts): one request at a
// time. While it sits idle a read stays pending on it, so a server closing it (its own
// keep-alive timeout, a restart) is noticed at once and the connection is never handed out
// again; once leased, that pending read is the first one the request's response reader gets.
import { Codes, GatewayError } from "../core/errors.js";
import type { Reuse } from "../core/exchange.js";
import type { Duplex, Outgoing } from "../core/transport.js";
import { UpstreamIO } from "../core/upstream-io.js";
import type { PooledConnection } from "./server.js";

export interface HttpConnectionHooks {
  /** An exchange ended and the connection may carry another one. */
  idle(conn: HttpConnection, reuse: Reuse): void;
  /** The connection is gone. byServer: the server closed it or it failed (not our close). */
  closed(conn: HttpConnection, byServer: boolean, why: string): void;
}

let nextConnId = 1;

export class HttpConnection implements PooledConnection {
  readonly id = nextConnId++;
  readonly openedAt = Date.now();
  /** Exchanges it completed (the response read to its end). */
  served = 0;
  idleSince = Date.now();
  /** Leased to a request (one at a time: HTTP/1.1 without pipelining). */
  busy = false;
  mpx = false;
  draining = false;
  closed = false;
  /** Its reads and writes, each within its timeout. */
  private readonly io: UpstreamIO;
  /** The idle watch in force (watch()); a request's first read takes it over. */
  private watching: Promise<boolean> | null = null;
  /** What the last response said about keeping the connection (its Keep-Alive: timeout). */
  private lastReuse: Reuse = { keepAliveMs: null };

  constructor(
    conn: Duplex,
    readonly origin: string,
    readTimeoutMs: number,
    sendTimeoutMs: number,
    private readonly hooks: HttpConnectionHooks,
  ) {
    this.io = new UpstreamIO(conn, origin, readTimeoutMs, sendTimeoutMs);
  }

  get load(): number {
    return this.busy ? 1 : 0;
  }

  get inFlight(): number {
    return this.busy ? 1 : 0;
  }

  /** The next chunk of the response, or null at end of stream (or once closed); `atLeast` as
   *  UpstreamIO.read's. */
  read(atLeast?: number): Promise<Uint8Array | null> {
    if (this.closed) return Promise.resolve(null);
    this.watching = null;
    return this.io.read(atLeast);
  }

  /** A failed or timed-out write leaves the stream in an unknown state: it ends the connection. */
  async write(bytes: Outgoing): Promise<void> {
    if (this.closed) throw new GatewayError(Codes.UPSTREAM_IO, 502, `Writing to the origin ${this.origin} failed: the connection closed.`);
    try {
      await this.io.write(bytes);
    } catch (e) {
      this.lose(e instanceof GatewayError && e.code === Codes.UPSTREAM_IO, "closed after a failed write");
      throw e;
    }
  }

  /** As UpstreamIO.settle. */
  get settle(): UpstreamIO["settle"] {
    return this.io.settle;
  }

  /** The request on it is over: back to idle when `reuse` allows, else closed. */
  finish(clean: boolean, reuse: Reuse | null): void {
    if (!this.busy) return;
    this.busy = false;
    if (clean) this.served++;
    if (this.closed) return;
    if (!clean || !reuse) {
      this.close(clean ? "closed after a response that ends the connection (Connection: close, no length, or extra bytes)" : "closed after an exchange that did not end cleanly");
      return;
    }
    this.idleSince = Date.now();
    this.lastReuse = reuse;
    this.watch();
    this.hooks.idle(this, reuse);
  }

  /** Unused after all (a reserved place nobody claimed): idle again, as it was. */
  giveBack(): void {
    if (!this.busy) return;
    this.busy = false;
    if (this.closed) return;
    this.idleSince = Date.now();
    this.watch();
    this.hooks.idle(this, this.lastReuse);
  }

  close(why = "closed by the gateway"): void {
    this.lose(false, why);
  }

  /** While idle: anything the server does (closes, resets, sends bytes nobody asked for)
   *  ends the connection. */
  private watch(): void {
    const p = this.io.watchIdle();
    this.watching = p;
    const idleEvent = (why: string) => {
      // Taken by a request meanwhile: its response reader gets the result.
      if (this.watching !== p || this.closed || this.busy) return;
      this.lose(true, why);
    };
    p.then(
      (sent) => idleEvent(sent ? "closed: the server sent bytes while idle" : "closed by the server while idle"),
      () => idleEvent("reset by the server while idle"),
    );
  }

  private lose(byServer: boolean, why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.watching = null;
    void this.io.close();
    this.hooks.closed(this, byServer, why);
  }
}
