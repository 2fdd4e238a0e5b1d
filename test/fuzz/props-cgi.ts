// CGI targets: the response-head parser (hostile bytes, round trips of valid heads) and the
// parameter builder in its three formats, with the SCGI netstring and the uwsgi packet around
// it, against an independent model.

import fc from "fast-check";
import { CodecError } from "../../src/codec/index";
import { GatewayError } from "../../src/core/errors";
import { scgiFrame } from "../../src/protocol/scgi/exchange";
import { uwsgiFrame } from "../../src/protocol/uwsgi/exchange";
import { refDecodeFcgiPairs, refDecodeScgi, refDecodeUwsgi } from "../helpers/vectors";
import { cutsArb, fromLatin1, mutated, toLatin1 } from "./bytes";
import { cgiHeadArb, paramsArb, paramsModel, type CgiHeadCase, type ParamsCase } from "./gen-cgi";
import { tryCodec } from "./props-http";
import { rawCgiHead, rawParams } from "./raw";
import { checkGrowingBuffer, fail } from "./stream";
import { bytesFromVector, bytesToVector, jsonFromVector, jsonToVector, type BytesInput, type Target } from "./target";

export const cgiHeadTarget: Target<BytesInput> = {
  name: "cgi-head",
  promise: "a CGI response head parses the same on every growing buffer, never reads past its input, and fails only with a CodecError",
  arb: fc.record({
    bytes: mutated(cgiHeadArb.map((c) => fromLatin1(c.text))).map(toLatin1),
    cuts: cutsArb,
    limit: fc.oneof({ weight: 4, arbitrary: fc.constant(16384) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }) }),
  }).map(({ bytes, cuts, limit }) => ({ bytes, cuts, opts: { limit: String(limit) } })),
  check({ codec, wasm }, { bytes, cuts, opts }, exhaustive) {
    const input = fromLatin1(bytes);
    const limit = Number(opts.limit ?? 16384);
    checkGrowingBuffer(input, (b) => codec.parseCgiHead(b, limit), cuts, exhaustive);
    rawCgiHead(wasm, input, limit);
  },
  once: ({ codec }, { bytes, opts }) => void tryCodec(() => codec.parseCgiHead(fromLatin1(bytes), Number(opts.limit ?? 16384))),
  toVector: bytesToVector,
  fromVector: bytesFromVector,
};

export const cgiHeadRoundTrip: Target<CgiHeadCase> = {
  name: "cgi-head-roundtrip",
  promise: "a valid CGI head parses to its Status (200 without one), reason, every other field in order, and the body's offset",
  arb: cgiHeadArb,
  check({ codec }, c) {
    const h = codec.parseCgiHead(fromLatin1(c.text), 16384);
    const want = JSON.stringify({ status: c.status, reason: c.reason, headers: c.fields, bodyOffset: c.bodyOffset });
    const got = JSON.stringify(h);
    if (got !== want) fail(`parsed ${got}\n   expected ${want}`);
  },
  once: ({ codec }, c) => void codec.parseCgiHead(fromLatin1(c.text), 16384),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};

const latin1 = (b: Uint8Array) => toLatin1(b);

/** Reads the framed request head back by hand (SCGI: netstring; uwsgi: 4-byte packet header). */
function unframe(format: ParamsCase["format"], vars: Uint8Array): Array<[string, string]> {
  if (format === "fastcgi") return refDecodeFcgiPairs(vars).map(([n, v]) => [latin1(n), latin1(v)]);
  if (format === "scgi") {
    const framed = scgiFrame(vars);
    const colon = framed.indexOf(0x3a);
    const digits = latin1(framed.subarray(0, colon));
    if (!/^(0|[1-9][0-9]*)$/.test(digits)) fail(`netstring length "${digits}"`);
    if (framed[framed.length - 1] !== 0x2c) fail("netstring does not end with a comma");
    const body = framed.subarray(colon + 1, framed.length - 1);
    if (body.length !== Number(digits)) fail(`netstring says ${digits} bytes, carries ${body.length}`);
    if (body.length > 0 && body[body.length - 1] !== 0) fail("SCGI block does not end with NUL");
    return refDecodeScgi(body).map(([n, v]) => [latin1(n), latin1(v)]);
  }
  let framed: Uint8Array;
  try {
    framed = uwsgiFrame(vars, 5, 9);
  } catch (e) {
    if (e instanceof GatewayError && e.code === "HEADERS_TOO_LARGE" && vars.length > 0xffff) return [["(too large)", String(vars.length)]];
    throw e;
  }
  if (framed[0] !== 5 || framed[3] !== 9) fail("uwsgi modifiers not where the packet header puts them");
  const size = framed[1] | (framed[2] << 8);
  if (size !== framed.length - 4) fail(`uwsgi packet says ${size} bytes, carries ${framed.length - 4}`);
  return refDecodeUwsgi(framed.subarray(4)).map(([n, v]) => [latin1(n), latin1(v)]);
}

export const paramsTarget: Target<ParamsCase> = {
  name: "cgi-params",
  promise: "the parameter block equals the model (owned first, once; HTTP_* by RFC 3875 4.1.18; httpoxy, underscores, joins) in every format, and reads back from its netstring or uwsgi packet",
  arb: paramsArb,
  check({ codec, wasm }, c) {
    const want = paramsModel(c);
    const got = tryCodec(() => codec.buildCgiParams({ owned: c.owned, headers: c.headers, format: c.format, underscoresInHeaders: c.underscores }));
    if (got instanceof CodecError) {
      if (!("error" in want) || want.error !== got.code) fail(`threw ${got.code}; the model says ${JSON.stringify(want).slice(0, 300)}`);
      return;
    }
    if ("error" in want) return fail(`built ${got.length} bytes; the model says ${want.error}`);
    const pairs = unframe(c.format, got);
    const total = want.pairs.reduce((n, [a, b]) => n + a.length + b.length + 4, 0);
    if (pairs.length === 1 && pairs[0][0] === "(too large)") {
      if (total <= 0xffff) fail(`uwsgiFrame refused a ${pairs[0][1]}-byte block`);
      return;
    }
    const g = JSON.stringify(pairs);
    const w = JSON.stringify(want.pairs);
    if (g !== w) fail(`built ${g.slice(0, 400)}\n   model ${w.slice(0, 400)}`);
    rawParams(wasm, c);
  },
  once: ({ codec }, c) => void tryCodec(() => codec.buildCgiParams({ owned: c.owned, headers: c.headers, format: c.format, underscoresInHeaders: c.underscores })),
  toVector: jsonToVector,
  fromVector: jsonFromVector,
};
