// FastCGI targets: the incremental record decoder in both modes (hostile bytes, and round
// trips of hand-built record streams), the name-value pair codec, and the record encoders read
// back by the independent reference splitter.

import fc from "fast-check";
import { CodecError, FcgiType, type FcgiEvent } from "../../src/codec/index";
import { refDecodeFcgiPairs, refRecords } from "../helpers/vectors";
import { chunkingsFor, concat, cutsArb, fromLatin1, mutated, toLatin1 } from "./bytes";
import { clientStreamArb, expectedLog, serverStreamArb, streamBytes, type StreamCase } from "./gen-fastcgi";
import { exhaustiveChunkings, tryCodec } from "./props-http";
import { rawDecodePairs, rawEncodeGuard, rawFcgiDecoder } from "./raw";
import { checkChunkings, fail, pushData, type DecoderRun } from "./stream";
import { bytesFromVector, bytesToVector, jsonFromVector, jsonToVector, type BytesInput, type Target } from "./target";
import type { FuzzCodec } from "./wasm";

const typeName = (t: number) => Object.entries(FcgiType).find(([, v]) => v === t)?.[0] ?? String(t);

function logEvents(events: FcgiEvent[], log: string[]): void {
  for (const e of events) {
    if (e.kind === "stream") {
      if (e.end) log.push(`${typeName(e.type)} id=${e.requestId} end`);
      else pushData(log, `${typeName(e.type)} id=${e.requestId}`, toLatin1(e.data));
    } else if (e.kind === "end-request") log.push(`END_REQUEST id=${e.requestId} app=${e.appStatus} protocol=${e.protocolStatus}`);
    else if (e.kind === "begin-request") log.push(`BEGIN_REQUEST id=${e.requestId} role=${e.role} flags=${e.flags}`);
    else if (e.kind === "abort-request") log.push(`ABORT_REQUEST id=${e.requestId}`);
    else if (e.kind === "values") log.push(`${typeName(e.type)} ${JSON.stringify(e.pairs)}`);
    else log.push(`UNKNOWN_TYPE type=${e.unknownType}`);
  }
}

function runDecoder(f: FuzzCodec, mode: "client" | "server", track: number[], chunks: Uint8Array[]): DecoderRun {
  const d = f.codec.fcgiDecoder(mode);
  const log: string[] = [];
  try {
    for (const id of track) d.track(id);
    for (const chunk of chunks) logEvents(d.push(chunk), log);
    return { log, tail: `boundary: ${d.atBoundary}` };
  } catch (e) {
    if (e instanceof CodecError) return { log, error: e.code, tail: "" };
    throw e;
  } finally {
    d.free();
  }
}

/** A host's use: a decoder per connection, one chunk, freed. */
function decodeOnce(f: FuzzCodec, mode: "client" | "server", track: number[], input: Uint8Array): void {
  const d = f.codec.fcgiDecoder(mode);
  try {
    for (const id of track) d.track(id);
    tryCodec(() => d.push(input));
  } finally {
    d.free();
  }
}

const streamBytesArb = fc.oneof(clientStreamArb, serverStreamArb).chain((c) =>
  fc.record({ bytes: mutated(fc.constant(streamBytes(c))).map(toLatin1), cuts: cutsArb })
    .map(({ bytes, cuts }): BytesInput => ({ bytes, cuts, opts: { mode: c.mode, track: c.track.join(",") || "none" } })),
);
const trackOf = (opts: Record<string, string>) => (!opts.track || opts.track === "none" ? [] : opts.track.split(",").map(Number));

export const fcgiDecoderTarget: Target<BytesInput> = {
  name: "fastcgi-decoder",
  promise: "a FastCGI byte stream decodes to the same events at every chunking (client and server mode), never reads past its input, and fails only with a CodecError",
  arb: streamBytesArb,
  check(f, { bytes, cuts, opts }, exhaustive) {
    const input = fromLatin1(bytes);
    const mode = opts.mode === "server" ? "server" : "client";
    const track = trackOf(opts);
    checkChunkings(exhaustive ? exhaustiveChunkings(input) : chunkingsFor(input, cuts), (chunks) => runDecoder(f, mode, track, chunks));
    rawFcgiDecoder(f.wasm, input, mode, track);
  },
  once: (f, { bytes, opts }) => decodeOnce(f, opts.mode === "server" ? "server" : "client", trackOf(opts), fromLatin1(bytes)),
  toVector: bytesToVector,
  fromVector: bytesFromVector,
};

export const fcgiDecoderRoundTrip: Target<{ c: StreamCase; cuts: number[] }> = {
  name: "fastcgi-decoder-roundtrip",
  promise: "records built by hand from the spec (any padding, content split across records, requests interleaved) decode to exactly their content and events",
  arb: fc.record({ c: fc.oneof(clientStreamArb, serverStreamArb), cuts: cutsArb }),
  check(f, { c, cuts }) {
    const want = JSON.stringify({ log: expectedLog(c), tail: "boundary: true" });
    for (const chunks of chunkingsFor(streamBytes(c), cuts, 128)) {
      const r = runDecoder(f, c.mode, c.track, chunks);
      const got = JSON.stringify({ log: r.log, tail: r.error ? `error: ${r.error}` : r.tail });
      if (got !== want) fail(`decoded ${got.slice(0, 400)}\n   expected ${want.slice(0, 400)}`);
    }
  },
  once: (f, { c }) => decodeOnce(f, c.mode, c.track, streamBytes(c)),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};

export const fcgiPairsTarget: Target<BytesInput> = {
  name: "fastcgi-pairs",
  promise: "decoding name-value bytes agrees with the reference decoder or fails with FCGI_BAD_PAIRS, and never reads past its input",
  arb: fc.record({
    bytes: mutated(fc.array(fc.tuple(fc.string({ maxLength: 9 }), fc.oneof(fc.string({ maxLength: 9 }), fc.constant("v".repeat(130)))), { maxLength: 4 })
      .map((p) => fromLatin1(pairsLatin1(p)))).map(toLatin1),
  }).map(({ bytes }) => ({ bytes, cuts: [], opts: {} })),
  check({ codec, wasm }, { bytes }) {
    const input = fromLatin1(bytes);
    const got = tryCodec(() => codec.fcgiDecodePairs(input));
    let want: Array<[string, string]> | string;
    try {
      want = refDecodeFcgiPairs(input).map(([n, v]) => [textOf(n), textOf(v)]);
    } catch {
      want = "FCGI_BAD_PAIRS";
    }
    const g = got instanceof CodecError ? got.code : JSON.stringify(got);
    const w = typeof want === "string" ? want : JSON.stringify(want);
    if (g !== w) fail(`decodePairs ${g.slice(0, 300)}; reference ${w.slice(0, 300)}`);
    rawDecodePairs(wasm, input);
  },
  once: ({ codec }, { bytes }) => void tryCodec(() => codec.fcgiDecodePairs(fromLatin1(bytes))),
  toVector: bytesToVector,
  fromVector: bytesFromVector,
};

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** The codec's documented reading of pair bytes: UTF-8 when valid, else latin-1. */
function textOf(b: Uint8Array): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    return toLatin1(b);
  }
}

function pairsLatin1(pairs: Array<[string, string]>): string {
  const enc = new TextEncoder();
  const len = (n: number) => (n < 128 ? String.fromCharCode(n) : String.fromCharCode(0x80 | (n >>> 24), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  return pairs.map(([n, v]) => [enc.encode(n), enc.encode(v)]).map(([n, v]) => len(n.length) + len(v.length) + toLatin1(n) + toLatin1(v)).join("");
}

type EncodeCase = { type: number; id: number; data: string; pairs: Array<[string, string]> };

export const fcgiEncodeTarget: Target<EncodeCase> = {
  name: "fastcgi-encode",
  promise: "stream, PARAMS and name-value encoders write spec records (content <= 65,535, padded to 8) that the reference splitter reads back to the same bytes and pairs",
  arb: fc.record({
    type: fc.constantFrom(FcgiType.STDIN, FcgiType.STDOUT, FcgiType.STDERR, FcgiType.DATA),
    id: fc.integer({ min: 1, max: 65_535 }),
    data: fc.oneof(fc.string({ maxLength: 40 }), fc.integer({ min: 65_530, max: 140_000 }).map((n) => "d".repeat(n))),
    pairs: fc.array(fc.tuple(fc.string({ unit: "grapheme", maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.constant("p".repeat(128)))), { maxLength: 4 }),
  }),
  check({ codec, wasm }, c) {
    const data = new TextEncoder().encode(c.data);
    const recs = refRecords(codec.fcgiStream(c.type, c.id, data));
    if (recs.some((r) => r.type !== c.type || r.requestId !== c.id || r.version !== 1)) fail("a record with the wrong type, id or version");
    if (recs.some((r) => (r.content.length + r.padding) % 8 !== 0 || r.padding > 7)) fail("a record not padded to 8");
    if (toLatin1(concat(recs.map((r) => r.content))) !== toLatin1(data)) fail("stream records do not carry the data");
    if ((data.length === 0) !== (recs.length === 1 && recs[0].content.length === 0)) fail("an empty stream record where it does not belong, or none for empty data");
    const encoded = codec.fcgiEncodePairs(c.pairs);
    const params = refRecords(codec.fcgiParams(c.id, encoded));
    if (params[params.length - 1].content.length !== 0 || params.slice(0, -1).some((r) => r.content.length === 0)) fail("PARAMS not closed by exactly one empty record");
    const back = refDecodeFcgiPairs(concat(params.map((r) => r.content))).map(([n, v]) => [textOf(n), textOf(v)]);
    if (JSON.stringify(back) !== JSON.stringify(c.pairs)) fail(`pairs read back ${JSON.stringify(back).slice(0, 200)}`);
    if (JSON.stringify(codec.fcgiDecodePairs(encoded)) !== JSON.stringify(c.pairs)) fail("fcgiDecodePairs(fcgiEncodePairs(p)) is not p");
    if (data.length < 4096) {
      const size = wasm.fcgi_stream_size(data.length);
      rawEncodeGuard(wasm, size, (out) => wasm.fcgi_stream(out, size, c.type, c.id, out, Math.min(data.length, size)), "fcgi_stream");
    }
  },
  once: ({ codec }, c) => void codec.fcgiStream(c.type, c.id, new TextEncoder().encode(c.data)),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};
