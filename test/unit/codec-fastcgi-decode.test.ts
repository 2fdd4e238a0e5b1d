// The FastCGI decoder's contract beyond the markdown vectors: event-table overflow, large
// chunks, where spans point, record boundaries, in-flight bookkeeping, and that a failed
// decoder stays failed. Inputs are hand-built records (spec 3.3) via refRecord.

import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { CodecError, createCodec, FcgiType, type FcgiEvent } from "../../src/codec/index";
import { concatBytes, refRecord } from "../helpers/vectors";
import { codeOf } from "../helpers/code-of";

const codec = createCodec(loadWasmModuleFromDisk());
const STDOUT = FcgiType.STDOUT;
const endRequest = (id: number) => refRecord(FcgiType.END_REQUEST, id, [0, 0, 0, 0, 0, 0, 0, 0]);

function client(...track: number[]) {
  const d = codec.fcgiDecoder("client");
  for (const id of track) d.track(id);
  return d;
}

function stdoutOf(events: FcgiEvent[], id = 1): number[] {
  return events.flatMap((e) => (e.kind === "stream" && e.type === STDOUT && e.requestId === id ? [...e.data] : []));
}


describe("FastCGI decoder", () => {
  it("hands large stream content back as views of the input at every split, small records between", () => {
    const big = (n: number, b: number) => Array.from({ length: n }, () => b);
    const records = [refRecord(STDOUT, 1, big(8184, 0x61)), refRecord(STDOUT, 1, [1, 2, 3]), refRecord(FcgiType.STDERR, 1, big(2048, 0x65)), refRecord(STDOUT, 1, big(2047, 0x62)), refRecord(STDOUT, 1, big(65535, 0x63)), endRequest(1)];
    const input = concatBytes(...records);
    const want = [...big(8184, 0x61), 1, 2, 3, ...big(2047, 0x62), ...big(65535, 0x63)];
    for (const step of [1, 9, 1000, 2049, 70000]) {
      const d = client(1);
      const events: FcgiEvent[] = [];
      for (let at = 0; at < input.length; at += step) events.push(...d.push(input.subarray(at, at + step)));
      for (const e of events) if (e.kind === "stream" && e.data.length > 0) expect(e.data.buffer).toBe(input.buffer);
      expect(stdoutOf(events), `step ${step}`).toEqual(want);
      expect(events.flatMap((e) => (e.kind === "stream" && e.type === FcgiType.STDERR ? [...e.data] : [])).length).toBe(2048);
      expect(events.at(-1)).toMatchObject({ kind: "end-request", requestId: 1 });
      expect(d.atBoundary).toBe(true);
      d.free();
    }
  });

  it("reports more events than its 64-entry table holds, in order", () => {
    const records = Array.from({ length: 200 }, (_, i) => refRecord(STDOUT, 1, [i]));
    const events = client(1).push(concatBytes(...records));
    expect(events.length).toBe(200);
    expect(stdoutOf(events)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("delivers a values record completed exactly when the event table filled up", () => {
    // 63 one-byte STDOUT records fill 63 entries; the GET_VALUES_RESULT content takes the
    // 64th, so its completion event must come from a second pass with no bytes left.
    const content = [1, 1, 65, 66];
    const input = concatBytes(...Array.from({ length: 63 }, () => refRecord(STDOUT, 1, [0])), refRecord(FcgiType.GET_VALUES_RESULT, 0, content));
    const events = client(1).push(input);
    expect(events.length).toBe(64);
    expect(events[63]).toEqual({ kind: "values", type: FcgiType.GET_VALUES_RESULT, requestId: 0, pairs: [["A", "B"]] });
  });

  it("handles a chunk far larger than its copy window", () => {
    const body = Uint8Array.from({ length: 300000 }, (_, i) => (i * 13) % 256);
    const input = concatBytes(codec.fcgiStream(STDOUT, 1, body), endRequest(1));
    const d = client(1);
    const events = d.push(input);
    expect(Uint8Array.from(stdoutOf(events))).toEqual(body);
    expect(events[events.length - 1]).toEqual({ kind: "end-request", requestId: 1, appStatus: 0, protocolStatus: 0 });
    expect(d.atBoundary).toBe(true);
  });

  it("content spans are views of the caller's chunk, not copies out of Wasm memory", () => {
    const chunk = refRecord(STDOUT, 1, [7, 8, 9]);
    const [event] = client(1).push(chunk);
    if (event.kind !== "stream") throw new Error("expected a stream event");
    expect(event.data.buffer).toBe(chunk.buffer);
    expect(event.data.byteOffset).toBe(8);
    expect([...event.data]).toEqual([7, 8, 9]);
  });

  it("reports content as it arrives, before the record is complete", () => {
    const d = client(1);
    const record = refRecord(STDOUT, 1, new Array(1000).fill(42));
    expect(d.push(record.subarray(0, 8))).toEqual([]);
    expect(stdoutOf(d.push(record.subarray(8, 108)))).toEqual(new Array(100).fill(42));
    expect(d.atBoundary).toBe(false);
  });

  it("is at a boundary exactly between records", () => {
    // record 1: 8 + 5 + 3 padding = 16 bytes; record 2: 16 bytes (END_REQUEST)
    const input = concatBytes(refRecord(STDOUT, 1, [1, 2, 3, 4, 5]), endRequest(1));
    expect(input.length).toBe(32);
    const boundaries = new Set([0, 16, 32]);
    for (let k = 0; k <= input.length; k++) {
      const d = client(1);
      d.push(input.subarray(0, k));
      expect(d.atBoundary, `after ${k} bytes`).toBe(boundaries.has(k));
      d.free();
    }
  });

  it("untrack takes an id out of flight; END_REQUEST does so by itself", () => {
    const d = client(1, 2);
    d.untrack(2);
    expect(codeOf(() => d.push(refRecord(STDOUT, 2, [1])))).toBe("FCGI_NOT_IN_FLIGHT");
    const e = client(1);
    e.push(endRequest(1));
    expect(codeOf(() => e.push(refRecord(STDOUT, 1, [1])))).toBe("FCGI_NOT_IN_FLIGHT");
    const f = client(1);
    f.push(endRequest(1));
    f.track(1); // ids are reused after END_REQUEST (keep-alive)
    expect(stdoutOf(f.push(refRecord(STDOUT, 1, [5])))).toEqual([5]);
  });

  it("rejects ids outside 1..65535 for track and untrack", () => {
    const d = client();
    expect(codeOf(() => d.track(0))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => d.track(65536))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => d.untrack(0))).toBe("BAD_ARGUMENT");
    d.track(65535);
    expect(stdoutOf(d.push(refRecord(STDOUT, 65535, [1])), 65535)).toEqual([1]);
  });

  it("stays failed after an error, with the same code", () => {
    const d = client(1);
    expect(codeOf(() => d.push(Uint8Array.of(2, 6, 0, 1, 0, 0, 0, 0)))).toBe("FCGI_BAD_VERSION");
    expect(codeOf(() => d.push(refRecord(STDOUT, 1, [1])))).toBe("FCGI_BAD_VERSION");
    expect(d.atBoundary).toBe(false);
  });

  it("errors carry a stable code, the number from wasm/abi and a message saying what was wrong", () => {
    try {
      client(1).push(refRecord(STDOUT, 3, [1]));
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      const err = e as CodecError;
      expect(err.code).toBe("FCGI_NOT_IN_FLIGHT");
      expect(err.num).toBe(-7);
      expect(err.message).toMatch(/request id that is not in flight/);
    }
  });

  it("refuses use after free()", () => {
    const d = client(1);
    d.free();
    expect(() => d.push(new Uint8Array(1))).toThrow(/after free/);
    d.free(); // idempotent
  });

  it("keeps independent state per decoder", () => {
    const a = client(1);
    const b = client(1);
    const record = refRecord(STDOUT, 1, [1, 2, 3]);
    a.push(record.subarray(0, 4));
    expect(stdoutOf(b.push(record))).toEqual([1, 2, 3]);
    expect(stdoutOf(a.push(record.subarray(4)))).toEqual([1, 2, 3]);
  });

  it("collects a GET_VALUES_RESULT that spans pushes, even if the caller reuses its buffer", () => {
    const record = refRecord(FcgiType.GET_VALUES_RESULT, 0, [1, 2, 65, 49, 48]);
    const d = client();
    const buf = new Uint8Array(record.length);
    buf.set(record);
    expect(d.push(buf.subarray(0, 11))).toEqual([]);
    const rest = record.slice(11);
    buf.fill(0); // the caller reuses its buffer
    expect(d.push(rest)).toEqual([{ kind: "values", type: FcgiType.GET_VALUES_RESULT, requestId: 0, pairs: [["A", "10"]] }]);
  });
});
