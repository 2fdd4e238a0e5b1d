// FcgiDecoder over the Wasm record decoder: copies each chunk into the input scratch (in
// windows, so a huge chunk never needs a huge buffer), feeds it until consumed, and turns the
// event table into FcgiEvents whose data are views of the caller's chunk.

import {
  DEC_CONSUMED, DEC_EVENT_CAP, DEC_EVENTS, EV_A, EV_B, EV_KIND, EV_REQUEST_ID, EV_TYPE, EVENT_SIZE,
  EVK_ABORT_REQUEST, EVK_BEGIN_REQUEST, EVK_END_REQUEST, EVK_STREAM_DATA, EVK_STREAM_END, EVK_UNKNOWN_TYPE,
  EVK_VALUES_DATA, EVK_VALUES_END, MODE_CLIENT, MODE_SERVER,
} from "../../wasm/abi/layout.js";
import { check, codecError } from "./errors.js";
import type { FastcgiCodec } from "./fastcgi.js";
import type { Scratch, WasmHeap } from "./memory.js";
import { CodecError, type FcgiDecoder, type FcgiEvent } from "./types.js";
import { concatBytes } from "../core/bytes.js";

/** Largest slice of a chunk copied into Wasm memory at once. */
const WINDOW = 64 * 1024;
const EMPTY = new Uint8Array(0);

type ValuesEvent = Extract<FcgiEvent, { kind: "values" }>;

export class WasmFcgiDecoder implements FcgiDecoder {
  private state: number;
  private failure: CodecError | null = null;
  /** Content of a GET_VALUES(_RESULT) record received so far (copied: it may span pushes). */
  private valueParts: Uint8Array[] = [];

  constructor(
    private readonly heap: WasmHeap,
    private readonly input: Scratch,
    private readonly fastcgi: FastcgiCodec,
    mode: "client" | "server",
  ) {
    this.state = check(heap.wasm.fcgi_decoder_new(mode === "client" ? MODE_CLIENT : MODE_SERVER), "fcgiDecoder");
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
    let base = 0;
    do {
      const piece = chunk.subarray(base, base + WINDOW);
      const ptr = this.input.ensure(piece.length);
      this.heap.u8().set(piece, ptr);
      let off = 0;
      let n = 0;
      do {
        n = this.heap.wasm.fcgi_decoder_feed(state, ptr + off, piece.length - off);
        if (n < 0) {
          // A values record completed earlier in this chunk fails first if it is malformed:
          // errors come in stream order, whatever the chunking. (Its pairs are decoded only
          // now, at the end of feeding, because decoding reuses the input scratch.)
          this.decodeValues(completedValues);
          throw (this.failure = codecError(n, "FastCGI stream"));
        }
        const consumed = this.heap.readI32(state + DEC_CONSUMED);
        if (n === 0 && consumed === 0 && off < piece.length) throw new Error("FcgiDecoder: no progress (module bug)");
        this.collect(n, chunk, base + off, events, completedValues);
        off += consumed;
      } while (off < piece.length || n === DEC_EVENT_CAP);
      base += piece.length;
    } while (base < chunk.length);

    this.decodeValues(completedValues);
    return events;
  }

  private decodeValues(completed: Array<[ValuesEvent, Uint8Array]>): void {
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
    for (let k = 0; k < n; k++) {
      const e = (this.state + DEC_EVENTS + k * EVENT_SIZE) >>> 2;
      const kind = i32[e + EV_KIND / 4];
      const type = i32[e + EV_TYPE / 4];
      const requestId = i32[e + EV_REQUEST_ID / 4];
      const a = i32[e + EV_A / 4];
      const b = i32[e + EV_B / 4];
      switch (kind) {
        case EVK_STREAM_DATA:
          events.push({ kind: "stream", type, requestId, data: chunk.subarray(at + a, at + b), end: false });
          break;
        case EVK_STREAM_END:
          events.push({ kind: "stream", type, requestId, data: EMPTY, end: true });
          break;
        case EVK_END_REQUEST:
          events.push({ kind: "end-request", requestId, appStatus: a >>> 0, protocolStatus: b });
          break;
        case EVK_BEGIN_REQUEST:
          events.push({ kind: "begin-request", requestId, role: a, flags: b });
          break;
        case EVK_ABORT_REQUEST:
          events.push({ kind: "abort-request", requestId });
          break;
        case EVK_VALUES_DATA:
          this.valueParts.push(chunk.slice(at + a, at + b));
          break;
        case EVK_VALUES_END: {
          const event: ValuesEvent = { kind: "values", type, requestId, pairs: [] };
          events.push(event);
          completedValues.push([event, concatBytes(this.valueParts)]);
          this.valueParts = [];
          break;
        }
        case EVK_UNKNOWN_TYPE:
          events.push({ kind: "unknown-type", requestId, unknownType: a });
          break;
        default:
          throw new Error(`FcgiDecoder: unknown event kind ${kind} (module newer than the codec?)`);
      }
    }
  }
}
