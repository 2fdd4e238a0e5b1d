// HTTP/1.1 targets: request and response heads (hostile bytes, and round trips of valid
// heads), chunked bodies (hostile bytes, and round trips through a hand-written sender and the
// codec's encoder).

import fc from "fast-check";
import { H1_REQ_CONNECT, H1_REQ_HEAD, H1_REQ_OTHER } from "../../wasm/abi/http1";
import { CodecError } from "../../src/codec/index";
import { chunkingsFor, concat, cutsArb, fromLatin1, mutated, toLatin1 } from "./bytes";
import { chunkedArb, renderChunked, requestArb, responseArb, type ChunkedCase, type HeadCase, type RequestCase, type ResponseCase } from "./gen-http";
import { rawChunked, rawEncodeGuard, rawRequestHead, rawResponseHead } from "./raw";
import { checkChunkings, checkGrowingBuffer, fail, pushData, type DecoderRun } from "./stream";
import { bytesFromVector, bytesToVector, jsonFromVector, jsonToVector, type BytesInput, type Target } from "./target";
import type { FuzzCodec } from "./wasm";

const limitArb = fc.oneof({ weight: 4, arbitrary: fc.constant(8192) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }) });
const requestCode = (m: string) => (m === "HEAD" ? H1_REQ_HEAD : m === "CONNECT" ? H1_REQ_CONNECT : H1_REQ_OTHER);

const headBytes = (arb: fc.Arbitrary<{ text: string }>, method: fc.Arbitrary<string>): fc.Arbitrary<BytesInput> =>
  fc.record({ bytes: mutated(arb.map((c) => fromLatin1(c.text))).map(toLatin1), cuts: cutsArb, limit: limitArb, method })
    .map(({ bytes, cuts, limit, method: m }) => ({ bytes, cuts, opts: { limit: String(limit), method: m } }));

export const httpRequestTarget: Target<BytesInput> = {
  name: "http-request",
  promise: "a request head parses the same on every growing buffer, never reads past its input, and fails only with a CodecError",
  arb: headBytes(requestArb, fc.constant("GET")),
  check({ codec, wasm }, { bytes, cuts, opts }, exhaustive) {
    const input = fromLatin1(bytes);
    const limit = Number(opts.limit ?? 8192);
    checkGrowingBuffer(input, (b) => codec.parseHttpRequestHead(b, limit), cuts, exhaustive);
    rawRequestHead(wasm, input, limit);
  },
  once: ({ codec }, { bytes, opts }) => void tryCodec(() => codec.parseHttpRequestHead(fromLatin1(bytes), Number(opts.limit ?? 8192))),
  toVector: bytesToVector,
  fromVector: bytesFromVector,
};

export const httpResponseTarget: Target<BytesInput> = {
  name: "http-response",
  promise: "a response head parses the same on every growing buffer, never reads past its input, and fails only with a CodecError",
  arb: headBytes(responseArb, fc.constantFrom("GET", "HEAD", "CONNECT")),
  check({ codec, wasm }, { bytes, cuts, opts }, exhaustive) {
    const input = fromLatin1(bytes);
    const limit = Number(opts.limit ?? 8192);
    const method = opts.method ?? "GET";
    checkGrowingBuffer(input, (b) => codec.parseHttpResponseHead(b, limit, method), cuts, exhaustive);
    rawResponseHead(wasm, input, limit, requestCode(method));
  },
  once: ({ codec }, { bytes, opts }) => void tryCodec(() => codec.parseHttpResponseHead(fromLatin1(bytes), Number(opts.limit ?? 8192), opts.method ?? "GET")),
  toVector: bytesToVector,
  fromVector: bytesFromVector,
};

function expectHead(got: unknown, want: HeadCase, extra: Record<string, unknown>): void {
  const expected = { ...extra, headers: want.fields, bodyOffset: want.text.length, framing: want.framing, keepAlive: want.keepAlive };
  const g = JSON.stringify(got);
  const w = JSON.stringify({ ...expected });
  if (g !== w) fail(`parsed ${g}\n   expected ${w}`);
}

export const httpRequestRoundTrip: Target<RequestCase> = {
  name: "http-request-roundtrip",
  promise: "a valid request head parses to exactly what was written: method, target, version, every field in order, framing, keep-alive",
  arb: requestArb,
  check({ codec }, c) {
    const h = codec.parseHttpRequestHead(fromLatin1(c.text + "BODY"), 8192);
    if (!h) return fail("a complete head answered 'need more'");
    const { method, target, version, headers, bodyOffset, framing, keepAlive, expectContinue } = h;
    if (expectContinue) fail("expect-continue set without an Expect field");
    expectHead({ method, target, version, headers, bodyOffset, framing, keepAlive }, c, { method: c.method, target: c.target, version: c.version });
  },
  once: ({ codec }, c) => void codec.parseHttpRequestHead(fromLatin1(c.text), 8192),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};

export const httpResponseRoundTrip: Target<ResponseCase> = {
  name: "http-response-roundtrip",
  promise: "a valid response head parses to exactly what was written, with RFC 9112 6.3 framing for the request method",
  arb: responseArb,
  check({ codec }, c) {
    const h = codec.parseHttpResponseHead(fromLatin1(c.text + "BODY"), 8192, c.method);
    if (!h) return fail("a complete head answered 'need more'");
    const { status, reason, version, headers, bodyOffset, framing, keepAlive } = h;
    expectHead({ status, reason, version, headers, bodyOffset, framing, keepAlive }, c, { status: c.status, reason: c.reason, version: c.version });
  },
  once: ({ codec }, c) => void codec.parseHttpResponseHead(fromLatin1(c.text), 8192, c.method),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};

// --- chunked -------------------------------------------------------------------------------

function runChunked(f: FuzzCodec, chunks: Uint8Array[]): DecoderRun {
  const d = f.codec.chunkedDecoder();
  const log: string[] = [];
  let consumed = 0;
  let done = false;
  try {
    for (const chunk of chunks) {
      if (done) break;
      const r = d.push(chunk);
      for (const piece of r.data) pushData(log, "data", toLatin1(piece));
      consumed += r.consumed;
      done = r.done;
      if (r.consumed > chunk.length) fail(`consumed ${r.consumed} of a ${chunk.length}-byte chunk`);
      if (!done && r.consumed !== chunk.length) fail(`consumed ${r.consumed} of ${chunk.length} bytes without ending the body`);
    }
    return { log, tail: done ? `end: ${consumed}` : "incomplete" };
  } catch (e) {
    if (e instanceof CodecError) return { log, error: e.code, tail: "" };
    throw e;
  } finally {
    d.free();
  }
}

export const chunkedTarget: Target<BytesInput> = {
  name: "http-chunked",
  promise: "a chunked body decodes the same at every chunking, never reads past its input, and fails only with a CodecError",
  arb: fc.record({ bytes: mutated(chunkedArb.map((c) => fromLatin1(renderChunked(c).body))).map(toLatin1), cuts: cutsArb })
    .map(({ bytes, cuts }) => ({ bytes, cuts, opts: {} })),
  check(f, { bytes, cuts }, exhaustive) {
    const input = fromLatin1(bytes);
    checkChunkings(exhaustive ? exhaustiveChunkings(input) : chunkingsFor(input, cuts), (chunks) => runChunked(f, chunks));
    rawChunked(f.wasm, input);
  },
  once: (f, { bytes }) => void tryCodec(() => runChunked(f, [fromLatin1(bytes)])),
  toVector: bytesToVector,
  fromVector: bytesFromVector,
};

export const chunkedRoundTrip: Target<{ c: ChunkedCase; cuts: number[] }> = {
  name: "http-chunked-roundtrip",
  promise: "chunks a sender writes (any hex case, leading zeros, extensions, trailers) decode to the data sent, ending exactly after the trailers; encodeChunk writes RFC 9112 7.1 chunks",
  arb: fc.record({ c: chunkedArb, cuts: cutsArb }),
  check(f, { c, cuts }) {
    const { body, end } = renderChunked(c);
    const want = JSON.stringify({ log: c.parts.length ? [`data ${JSON.stringify(c.parts.join(""))}`] : [], tail: `end: ${end}` });
    const encoded = concat([...c.parts.map((p) => f.codec.encodeChunk(fromLatin1(p))), f.codec.encodeChunk(new Uint8Array(0))]);
    const byHand = c.parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join("") + "0\r\n\r\n";
    if (toLatin1(encoded) !== byHand) fail(`encodeChunk wrote ${JSON.stringify(toLatin1(encoded)).slice(0, 200)}`);
    for (const input of [fromLatin1(body), fromLatin1(byHand + c.after)]) {
      const wantHere = input.length === body.length && toLatin1(input) === body ? want : JSON.stringify({ log: JSON.parse(want).log, tail: `end: ${byHand.length}` });
      for (const chunks of chunkingsFor(input, cuts, 64)) {
        const r = runChunked(f, chunks);
        const got = JSON.stringify({ log: r.log, tail: r.error ? `error: ${r.error}` : r.tail });
        if (got !== wantHere) fail(`decoded ${got.slice(0, 300)}\n   expected ${wantHere.slice(0, 300)}`);
      }
    }
    for (const p of c.parts.slice(0, 1)) {
      const size = f.wasm.http_chunk_size(p.length);
      rawEncodeGuard(f.wasm, size, (out) => f.wasm.http_encode_chunk(out, size, out + size - p.length - 2, p.length), "http_encode_chunk");
    }
  },
  once: (f, { c }) => void runChunked(f, [fromLatin1(renderChunked(c).body)]),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};

/** Every two-way split (inputs up to 4 KiB), and byte by byte last (the reference). */
export function exhaustiveChunkings(input: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[input]];
  if (input.length <= 4096) for (let k = 0; k <= input.length; k++) out.push([input.subarray(0, k), input.subarray(k)]);
  out.push(Array.from(input, (_, i) => input.subarray(i, i + 1)));
  return out;
}

/** A host's call: a CodecError is an answer, anything else propagates. */
export function tryCodec<T>(f: () => T): T | CodecError {
  try {
    return f();
  } catch (e) {
    if (e instanceof CodecError) return e;
    throw e;
  }
}
