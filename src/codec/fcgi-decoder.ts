// FcgiDecoder over the Wasm record decoder: copies each chunk into the input scratch (in
// windows, so a huge chunk never needs a huge buffer), feeds it until consumed, and turns the
// event table into FcgiEvents whose data are views of the caller's chunk.

import {
  DEC_CONSUMED, DEC_DIRECT_LEFT, DEC_EVENT_CAP, DEC_EVENTS, DEC_REQUEST_ID, DEC_TYPE, EV_A, EV_B, EV_KIND,
  EV_REQUEST_ID, EV_TYPE, EVENT_SIZE, EVK_ABORT_REQUEST, EVK_BEGIN_REQUEST, EVK_END_REQUEST, EVK_STREAM_DATA,
  EVK_STREAM_END, EVK_UNKNOWN_TYPE, EVK_VALUES_DATA, EVK_VALUES_END, MODE_CLIENT, MODE_SERVER,
} from "../../wasm/abi/layout.js";
import { check, codecError } from "./errors.js";
import type { FastcgiCodec } from "./fastcgi.js";
import { CopyWindow, type Scratch, type WasmHeap } from "./memory.js";
import { CodecError, type FcgiDecoder, type FcgiEvent } from "./types.js";
import { concatBytes } from "../core/bytes.js";

/** Bytes copied into Wasm memory per scan: small after large content (the next record header
 *  and padding are what is needed), growing while records are small. 256 bytes cost no more
 *  to copy than 64, and take in one scan the short record that ends a response and the
 *  records after it (END_REQUEST), which 64 split over two or three. */
const WINDOW_MIN = 256;
const WINDOW_MAX = 64 * 1024;
const EMPTY = new Uint8Array(0);
// Read once: under some loaders imported constants are getters, and these are read per event.
const CONSUMED = DEC_CONSUMED >>> 2;
const DIRECT_LEFT = DEC_DIRECT_LEFT >>> 2;
const TYPE = DEC_TYPE >>> 2;
const REQUEST_ID = DEC_REQUEST_ID >>> 2;
const EVENT_CAP = DEC_EVENT_CAP;
const EVENTS = DEC_EVENTS;
const EVENT_INTS = EVENT_SIZE >>> 2;
const E_KIND = EV_KIND >>> 2;
const E_TYPE = EV_TYPE >>> 2;
const E_ID = EV_REQUEST_ID >>> 2;
const E_A = EV_A >>> 2;
const E_B = EV_B >>> 2;
const K_STREAM_DATA = EVK_STREAM_DATA;
const K_STREAM_END = EVK_STREAM_END;
const K_END_REQUEST = EVK_END_REQUEST;
const K_BEGIN_REQUEST = EVK_BEGIN_REQUEST;
const K_ABORT_REQUEST = EVK_ABORT_REQUEST;
const K_VALUES_DATA = EVK_VALUES_DATA;
const K_VALUES_END = EVK_VALUES_END;
const K_UNKNOWN_TYPE = EVK_UNKNOWN_TYPE;

/** The views of the caller's chunk among the events push() returned for it: the content of
 *  its STDOUT and STDERR records (everything else is copied). */
export function* chunkViews(events: FcgiEvent[]): Iterable<Uint8Array> {
  for (const ev of events) if (ev.kind === "stream") yield ev.data;
}

type ValuesEvent = Extract<FcgiEvent, { kind: "values" }>;

export class WasmFcgiDecoder implements FcgiDecoder {
  private state: number;
  private failure: CodecError | null = null;
  /** Content of a GET_VALUES(_RESULT) record received so far (copied: it may span pushes). */
  private valueParts: Uint8Array[] = [];
  /** Stream content announced by the module and not yet passed over, and whose it is. */
  private left = 0;
  private leftType = 0;
  private leftId = 0;
  private readonly window: CopyWindow;

  constructor(
    private readonly heap: WasmHeap,
    input: Scratch,
    private readonly fastcgi: FastcgiCodec,
    mode: "client" | "server",
  ) {
    this.state = check(heap.wasm.fcgi_decoder_new(mode === "client" ? MODE_CLIENT : MODE_SERVER), "fcgiDecoder");
    this.window = new CopyWindow(heap, input, WINDOW_MIN, WINDOW_MAX);
  }

  private live(): number {
    if (this.state === 0) throw new Error("FcgiDecoder: used after free()");
    return this.state;
  }

  track(requestId: number): void {
    check(this.heap.wasm.fcgi_decoder_track(this.live(), requestId), `FcgiDecoder.track(${requestId})`);
  }

  untrack(requestId: number): void {
    check(this.heap.wasm.fcgi_decoder_untrack(this.live(), requestId), `FcgiDecoder.untrack(${requestId})`);
  }

  get contentLeft(): number {
    return this.left;
  }

  get atBoundary(): boolean {
    return this.failure === null && this.heap.wasm.fcgi_decoder_at_boundary(this.live()) === 1;
  }

  free(): void {
    if (this.state !== 0) this.heap.wasm.fcgi_decoder_free(this.state);
    this.state = 0;
  }

  push(chunk: Uint8Array): FcgiEvent[] {
    const state = this.live();
    if (this.failure) throw this.failure;
    const events: FcgiEvent[] = [];
    const completedValues: Array<[ValuesEvent, Uint8Array]> = [];
    const wasm = this.heap.wasm;
    const { buffer, byteOffset } = chunk;
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      if (this.left > 0) {
        // Large stream content: a view of the caller's chunk, never copied into Wasm memory.
        const take = Math.min(this.left, len - pos);
        events.push({ kind: "stream", type: this.leftType, requestId: this.leftId, data: new Uint8Array(buffer, byteOffset + pos, take), end: false });
        const r = wasm.fcgi_decoder_skip(state, take);
        if (r < 0) throw (this.failure = codecError(r, "FastCGI stream"));
        this.left -= take;
        pos += take;
        continue;
      }
      const size = this.window.load(chunk, pos);
      const ptr = this.window.ptr;
      let off = 0;
      let n = 0;
      do {
        n = wasm.fcgi_decoder_scan(state, ptr + off, size - off);
        if (n < 0) {
          // A values record completed earlier in this chunk fails first if it is malformed:
          // errors come in stream order, whatever the chunking. (Its pairs are decoded only
          // now, at the end of feeding, because decoding reuses the input scratch.)
          this.decodeValues(completedValues);
          throw (this.failure = codecError(n, "FastCGI stream"));
        }
        const i32 = this.heap.i32();
        const s = state >>> 2;
        const consumed = i32[s + CONSUMED];
        this.collect(n, chunk, pos + off, events, completedValues);
        off += consumed;
        const left = i32[s + DIRECT_LEFT] >>> 0;
        if (left > 0) {
          this.left = left;
          this.leftType = i32[s + TYPE];
          this.leftId = i32[s + REQUEST_ID];
          this.window.reset();
          break;
        }
        if (n === 0 && consumed === 0 && off < size) throw new Error("FcgiDecoder: no progress (module bug)");
      } while (off < size || n === EVENT_CAP);
      if (off >= size && this.left === 0) this.window.grow();
      pos += off;
    }
    this.decodeValues(completedValues);
    return events;
  }

  private decodeValues(completed: Array<[ValuesEvent, Uint8Array]>): void {
    if (completed.length === 0) return;
    for (const [event, bytes] of completed.splice(0)) {
      try {
        event.pairs = this.fastcgi.decodePairs(bytes);
      } catch (e) {
        if (e instanceof CodecError) this.failure = e;
        throw e;
      }
    }
  }

  /** Turns the `n` events in the table into FcgiEvents; spans are relative to `at` in `chunk`. */
  private collect(
    n: number,
    chunk: Uint8Array,
    at: number,
    events: FcgiEvent[],
    completedValues: Array<[ValuesEvent, Uint8Array]>,
  ): void {
    const i32 = this.heap.i32();
    for (let k = 0, e = (this.state + EVENTS) >>> 2; k < n; k++, e += EVENT_INTS) {
      const kind = i32[e + E_KIND];
      const type = i32[e + E_TYPE];
      const requestId = i32[e + E_ID];
      const a = i32[e + E_A];
      const b = i32[e + E_B];
      switch (kind) {
        case K_STREAM_DATA:
          events.push({ kind: "stream", type, requestId, data: new Uint8Array(chunk.buffer, chunk.byteOffset + at + a, b - a), end: false });
          break;
        case K_STREAM_END:
          events.push({ kind: "stream", type, requestId, data: EMPTY, end: true });
          break;
        case K_END_REQUEST:
          events.push({ kind: "end-request", requestId, appStatus: a >>> 0, protocolStatus: b });
          break;
        case K_BEGIN_REQUEST:
          events.push({ kind: "begin-request", requestId, role: a, flags: b });
          break;
        case K_ABORT_REQUEST:
          events.push({ kind: "abort-request", requestId });
          break;
        case K_VALUES_DATA:
          this.valueParts.push(chunk.slice(at + a, at + b));
          break;
        case K_VALUES_END: {
          const event: ValuesEvent = { kind: "values", type, requestId, pairs: [] };
          events.push(event);
          completedValues.push([event, concatBytes(this.valueParts)]);
          this.valueParts = [];
          break;
        }
        case K_UNKNOWN_TYPE:
          events.push({ kind: "unknown-type", requestId, unknownType: a });
          break;
        default:
          throw new Error(`FcgiDecoder: unknown event kind ${kind} (module newer than the codec?)`);
      }
    }
  }
}
