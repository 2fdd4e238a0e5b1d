// One long-lived FastCGI connection: it owns the socket and a client-mode decoder, gives each
// request an id, and a reader loop hands every STDOUT/STDERR/END_REQUEST record to the sink of
// the request it belongs to (FastCGI 1.0, section 3.3: records of several requests may
// interleave on one connection). The loop keeps reading while nothing is in flight, so a
// server closing an idle connection (php-fpm recycling a worker) is noticed at once.
//
// Flow control differs by mode. A connection that carries one request at a time reads only as
// fast as that request's client takes the data (backpressure, as a direct connection does).
// A multiplexed connection cannot stop reading for one slow client without stalling all the
// others, so each request may buffer up to MPX_BUFFER_LIMIT; past it, that request is aborted.
import { CodecError, FcgiType, type Codec, type FcgiDecoder, type FcgiEvent } from "../codec/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { RequestSink } from "../core/exchange.js";
import { ConnectionTimers } from "../core/deadline.js";
import type { Duplex, Outgoing } from "../core/transport.js";
import { UpstreamIO, WRITTEN } from "../core/upstream-io.js";
import { MAX_REQUEST_ID, VALUE_NAMES } from "./limits.js";

/** One-request-at-a-time connections stop reading while the client holds this much unread. */
export const BACKPRESSURE_BYTES = 64 * 1024;
/** A request on a multiplexed connection may hold this much unread before it is aborted. */
export const MPX_BUFFER_LIMIT = 1024 * 1024;
/** How long an app has to end a request after ABORT_REQUEST (or after its client left). */
export const ABORT_GRACE_MS = 1000;

export interface ConnectionHooks {
  /** A request left the connection (ended, or dropped), so it has room again. */
  room(conn: FcgiConnection): void;
  /** The connection is gone. byServer: the server closed it or it failed (not our close). */
  closed(conn: FcgiConnection, byServer: boolean, err: GatewayError): void;
  /** FCGI_GET_VALUES_RESULT arrived; null: the server answered UNKNOWN_TYPE. */
  values(conn: FcgiConnection, pairs: Array<[string, string]> | null): void;
  warn(event: string, fields: Record<string, unknown>): void;
}

interface Slot {
  id: number;
  sink: RequestSink;
  /** STDIN was sent to its end (the empty STDIN record went out). */
  sentAll: boolean;
  /** Nobody reads the answer any more: records are dropped until END_REQUEST. */
  abandoned: boolean;
  abortSent: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** A connection's requests in flight, by id. An id is the lowest free one, so they are small
 *  numbers and an array indexed by them serves: a Map whose one entry came and went with every
 *  request shrank and grew its table each time. */
class Slots {
  /** By id; undefined where no request is. Read it to visit them, skipping the holes. */
  readonly list: Array<Slot | undefined> = [];
  size = 0;

  get(id: number): Slot | undefined {
    return this.list[id];
  }

  add(slot: Slot): void {
    while (this.list.length <= slot.id) this.list.push(undefined);
    if (this.list[slot.id] === undefined) this.size++;
    this.list[slot.id] = slot;
  }

  delete(id: number): void {
    if (this.list[id] === undefined) return;
    this.list[id] = undefined;
    this.size--;
  }

  /** Every request in flight, and none from now on. */
  takeAll(): Slot[] {
    const all = this.list.filter((s): s is Slot => s !== undefined);
    this.list.length = 0;
    this.size = 0;
    return all;
  }
}

let nextConnId = 1;

export class FcgiConnection {
  readonly id = nextConnId++;
  readonly openedAt = Date.now();
  /** Requests this connection completed (END_REQUEST received). */
  served = 0;
  /** When it last had nothing in flight (for idle_timeout and stats). */
  idleSince = Date.now();
  /** Requests leased to this connection that have not started yet. */
  reserved = 0;
  /** Multiplexing: several requests at once (set once the server said FCGI_MPXS_CONNS=1). */
  mpx = false;
  /** No new requests: close once the ones in flight are over. */
  draining = false;
  closed = false;
  private readonly slots = new Slots();
  private readonly io: UpstreamIO;
  private readonly decoder: FcgiDecoder;
  private wakeReader: (() => void) | null = null;
  /** Each request's read_timeout, for its next record: one timer for the connection, which a
   *  request's wait only moves when it must end sooner (ConnectionTimers). By lease, not request id:
   *  an id is free for the next request as soon as END_REQUEST came. */
  private readonly readWaits = new ConnectionTimers<object>();

  constructor(
    conn: Duplex,
    readonly origin: string,
    private readonly codec: Codec,
    sendTimeoutMs: number,
    private readonly hooks: ConnectionHooks,
  ) {
    // No read timeout on the connection: it may sit idle. Each request times its own reads.
    this.io = new UpstreamIO(conn, origin, 0, sendTimeoutMs);
    this.decoder = codec.fcgiDecoder("client");
    void this.readLoop();
  }

  /** Requests in flight plus those reserved. */
  get load(): number {
    return this.slots.size + this.reserved;
  }

  get inFlight(): number {
    return this.slots.size;
  }

  /** Starts a request on a reserved place: allocates its id (the lowest free one, as the
   *  spec suggests, so apps can index a small array) and tracks it in the decoder. */
  start(sink: RequestSink): number {
    if (this.closed) throw new GatewayError(Codes.UPSTREAM_IO, 502, `The connection to the origin ${this.origin} closed.`);
    this.reserved = Math.max(0, this.reserved - 1);
    let id = 1;
    while (this.slots.get(id) !== undefined) id++;
    if (id > MAX_REQUEST_ID) throw new Error("FcgiConnection: no free request id (pool invariant broken)");
    this.decoder.track(id);
    this.slots.add({ id, sink, sentAll: false, abandoned: false, abortSent: false });
    return id;
  }

  /** Writes whole records. A failed or timed-out write leaves the stream in an unknown
   *  state, so it ends the connection (and every request on it). */
  write(bytes: Outgoing): Promise<void> {
    if (this.closed) return Promise.reject(new GatewayError(Codes.UPSTREAM_IO, 502, `Writing to the origin ${this.origin} failed: the connection closed.`));
    const wait = this.io.write(bytes);
    // Taken at once (the common case): no promise made for it.
    if (wait === WRITTEN) return wait;
    return wait.catch((e: unknown) => {
      const err = e instanceof GatewayError ? e : new GatewayError(Codes.UPSTREAM_IO, 502, `Writing to the origin ${this.origin} failed.`, String(e));
      this.lose(err, true);
      throw err;
    });
  }

  /** The request `lease` holds waits for its next record, at most `ms`. */
  readWait(lease: object, ms: number, expired: () => void): void {
    if (!this.closed) this.readWaits.start(lease, ms, expired);
  }

  readDone(lease: object): void {
    this.readWaits.stop(lease);
  }

  /** The request's STDIN went out to its end. */
  sentAll(id: number): void {
    const slot = this.slots.get(id);
    if (slot) slot.sentAll = true;
  }

  /** The client asked for more: a connection waiting on backpressure may read again. */
  resume(): void {
    const wake = this.wakeReader;
    this.wakeReader = null;
    wake?.();
  }

  /** Nobody wants request `id`'s answer any more. Its id stays tracked until END_REQUEST so a
   *  late record is not a protocol error. With `abort`, the app is told (ABORT_REQUEST,
   *  spec 5.4). A connection carrying one request at a time is closed if the app has not
   *  ended the request within ABORT_GRACE_MS; after an abort it is not reused either (php-fpm
   *  ignores ABORT_REQUEST and then reads the leftover record as a broken next request). */
  abandon(id: number, abort: boolean): void {
    const slot = this.slots.get(id);
    if (!slot || this.closed) return;
    slot.abandoned = true;
    if (abort && !slot.abortSent) {
      slot.abortSent = true;
      this.write(this.codec.fcgiAbortRequest(id)).catch(() => {});
    }
    if (slot.timer === undefined) {
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        if (this.slots.get(id) !== slot || this.closed) return;
        this.hooks.warn("pool_abort_unanswered", { origin: this.origin, conn: this.id, request_id: id, grace_ms: ABORT_GRACE_MS });
        if (this.mpx) {
          // Other requests may be fine; take no new ones, close when only strays remain.
          this.draining = true;
          this.closeIfOnlyAbandoned();
        } else {
          this.close();
        }
      }, ABORT_GRACE_MS);
    }
    this.resume();
  }

  /** Asks for FCGI_MAX_CONNS, FCGI_MAX_REQS and FCGI_MPXS_CONNS (spec 4.1). */
  requestValues(): Promise<void> {
    return this.write(this.codec.fcgiGetValues(VALUE_NAMES));
  }

  /** Closes the connection (only socket.close(): see UpstreamIO.close). Requests still on
   *  it fail with `why`. */
  close(why = "closed by the gateway"): void {
    this.lose(new GatewayError(Codes.UPSTREAM_IO, 502, `The connection to the origin ${this.origin} was ${why}.`), false);
  }

  private closeIfOnlyAbandoned(): void {
    if (this.reserved > 0) return;
    for (const s of this.slots.list) if (s && !s.abandoned) return;
    this.close("closed after its requests ended");
  }

  private async readLoop(): Promise<void> {
    for (;;) {
      if (this.overBuffered()) await this.backpressure();
      if (this.closed) return;
      let chunk: Uint8Array | null;
      try {
        chunk = await this.io.read(this.decoder.contentLeft);
      } catch (e) {
        this.lose(e instanceof GatewayError ? e : new GatewayError(Codes.UPSTREAM_IO, 502, `Reading from the origin ${this.origin} failed.`, String(e)), true);
        return;
      }
      if (this.closed) return;
      if (chunk === null) {
        this.lose(
          new GatewayError(Codes.UPSTREAM_CLOSED_EARLY, 502, `The origin ${this.origin} closed the connection before the end of the response.`),
          true,
        );
        return;
      }
      let events: FcgiEvent[];
      try {
        events = this.decoder.push(chunk);
      } catch (e) {
        const detail = e instanceof CodecError ? `${e.code}: ${e.message}` : String(e);
        this.lose(new GatewayError(Codes.UPSTREAM_BAD_RESPONSE, 502, `The origin ${this.origin} sent a malformed FastCGI response.`, detail), true);
        return;
      }
      // Settled with the views a request took: those of a request given up on (its client
      // left, the rest of its answer read and dropped) went nowhere, so their memory comes
      // back at once instead of being left to the collector.
      const taken: Uint8Array[] = [];
      for (const ev of events) if (this.dispatch(ev) && ev.kind === "stream") taken.push(ev.data);
      this.io.settle?.(chunk, taken);
    }
  }

  /** One request at a time: wait while its client has not taken what it was given. */
  private async backpressure(): Promise<void> {
    while (this.overBuffered()) await new Promise<void>((r) => (this.wakeReader = r));
  }

  private overBuffered(): boolean {
    if (this.closed || this.mpx) return false;
    for (const s of this.slots.list) if (s && !s.abandoned && s.sink.buffered > BACKPRESSURE_BYTES) return true;
    return false;
  }

  /** Hands `ev` to its request; true when a request's sink was given it (and may keep it). */
  private dispatch(ev: FcgiEvent): boolean {
    if (ev.kind === "values") {
      if (ev.type === FcgiType.GET_VALUES_RESULT) this.hooks.values(this, ev.pairs);
      return false;
    }
    if (ev.kind === "unknown-type") {
      if (ev.unknownType === FcgiType.GET_VALUES) this.hooks.values(this, null);
      else this.hooks.warn("fastcgi_unknown_type", { origin: this.origin, type: ev.unknownType });
      return false;
    }
    if (ev.kind !== "stream" && ev.kind !== "end-request") return false;
    // The client-mode decoder refuses records for ids that are not tracked, so a slot exists.
    const slot = this.slots.get(ev.requestId);
    if (!slot) return false;
    const given = !slot.abandoned;
    if (given) {
      try {
        slot.sink.event(ev);
      } catch {
        this.abandon(slot.id, true);
      }
    }
    if (ev.kind === "end-request") {
      this.ended(slot);
      return given;
    }
    if (this.mpx && !slot.abandoned && slot.sink.buffered > MPX_BUFFER_LIMIT) {
      this.hooks.warn("pool_client_too_slow", { origin: this.origin, conn: this.id, request_id: slot.id, buffered: slot.sink.buffered });
      slot.sink.fail(
        new GatewayError(
          Codes.CLIENT_TOO_SLOW,
          502,
          `The client read the response more slowly than the origin ${this.origin} sent it, and it shares the connection with other requests; the request was aborted after ${MPX_BUFFER_LIMIT} bytes were buffered.`,
        ),
      );
      this.abandon(slot.id, true);
    }
    return given;
  }

  private ended(slot: Slot): void {
    clearTimeout(slot.timer);
    this.slots.delete(slot.id);
    this.served++;
    if (this.slots.size === 0) this.idleSince = Date.now();
    // One request at a time: a request that ended before its STDIN was all sent (the app
    // answered early), or that carried an abort, leaves records the app will misread.
    if (!this.mpx && (!slot.sentAll || slot.abortSent)) this.draining = true;
    if (this.draining) this.closeIfOnlyAbandoned();
    if (!this.closed) this.hooks.room(this);
  }

  private lose(err: GatewayError, byServer: boolean): void {
    if (this.closed) return;
    this.closed = true;
    void this.io.close();
    this.readWaits.dispose();
    const slots = this.slots.takeAll();
    this.resume();
    for (const s of slots) {
      clearTimeout(s.timer);
      if (!s.abandoned) s.sink.fail(err);
    }
    this.decoder.free();
    this.hooks.closed(this, byServer, err);
  }
}
