// A place on a pooled connection, reserved for one request: what the exchange holds while it
// sends the request and reads the answer.
import type { LeasedRecords, RequestSink } from "../core/exchange.js";
import type { FcgiConnection } from "./connection.js";
import type { Outgoing } from "../core/transport.js";

/** A place on a connection, reserved for one request. */
export class Lease implements LeasedRecords {
  private started = false;
  private done = false;
  id = 0;

  constructor(
    private readonly pool: { room(conn: FcgiConnection): void },
    readonly conn: FcgiConnection,
    /** The connection had completed requests and had nothing in flight when leased: it was
     *  a kept idle connection, the kind a server may have closed meanwhile. */
    readonly reused: boolean,
  ) {}

  get origin(): string {
    return this.conn.origin;
  }

  start(sink: RequestSink): number {
    this.started = true;
    this.id = this.conn.start(sink);
    return this.id;
  }

  write(bytes: Outgoing): Promise<void> {
    return this.conn.write(bytes);
  }

  sentAll(): void {
    this.conn.sentAll(this.id);
  }

  resume(): void {
    this.conn.resume();
  }

  /** The answer is no longer wanted (see FcgiConnection.abandon). */
  abandon(abort: boolean): void {
    if (this.started) this.conn.abandon(this.id, abort);
  }

  readWait(ms: number, expired: () => void): void {
    this.conn.readWait(this, ms, expired);
  }

  readDone(): void {
    this.conn.readDone(this);
  }

  /** Gives back a place that was never started. */
  cancel(): void {
    if (this.started || this.done) return;
    this.done = true;
    this.conn.reserved = Math.max(0, this.conn.reserved - 1);
    this.pool.room(this.conn);
  }
}
