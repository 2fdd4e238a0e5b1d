// The cgi-head, cgi-params and cgi-request harnesses.

import type { Codec } from "../../../src/codec/types";
import { GatewayError } from "../../../src/core/errors";
import { scgiFrame } from "../../../src/protocol/scgi/exchange";
import { uwsgiFrame } from "../../../src/protocol/uwsgi/exchange";
import {
  block, canonicalQuotes, caseInput, chunkings, escape, expectedLines, refDecodeFcgiPairs, refDecodeScgi, refDecodeUwsgi,
  unescape, type VectorCase,
} from "../vector-format";
import { check, codecErrorCode, latin1Bytes, type Check } from "./check";

// --- cgi-head ------------------------------------------------------------------------------
// Options: limit=N (default 16384). The host's loop is simulated: after each chunk the whole
// buffer so far is parsed, and the first non-null result (a head or an error) is final.
// Expected lines: status: N, reason: "...", header: "name" "value" (in order), body: N (the
// body offset); or `error: CODE`; or `incomplete` when the whole input is not yet a head.

function runHead(codec: Codec, chunks: Uint8Array[], limit: number): string[] {
  let buf = new Uint8Array(0);
  for (const chunk of chunks) {
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
    try {
      const head = codec.parseCgiHead(buf, limit);
      if (head) {
        return [
          `status: ${head.status}`,
          `reason: "${escape(latin1Bytes(head.reason))}"`,
          ...head.headers.map(([n, v]) => `header: "${escape(latin1Bytes(n))}" "${escape(latin1Bytes(v))}"`),
          `body: ${head.bodyOffset}`,
        ];
      }
    } catch (e) {
      return [`error: ${codecErrorCode(e)}`];
    }
  }
  return ["incomplete"];
}

export function cgiHeadHarness(codec: Codec, c: VectorCase): Check[] {
  const input = caseInput(c);
  const want = expectedLines(c);
  const limit = Number(c.options.limit ?? 16384);
  return chunkings(input).map(({ label, chunks }) => check(label, runHead(codec, chunks, limit), want));
}

// --- cgi-params ----------------------------------------------------------------------------
// Blocks `owned` and `headers`: one "Name: value" per line (split at the first colon, one
// space after it dropped; escapes allowed). Options: format=fastcgi|scgi|uwsgi,
// underscores=on. The output is decoded by an independent reference decoder for the format.
// Expected lines: NAME = "value" in output order, or `error: CODE`. Not a stream: no splits.

function pairLines(c: VectorCase, tag: string, decode: (b: Uint8Array) => string): Array<[string, string]> {
  const b = block(c, tag);
  if (!b) return [];
  return b.text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l): [string, string] => {
      const colon = l.indexOf(":");
      if (colon < 0) throw new Error(`${c.file}:${c.line}: "${l}" has no colon`);
      const value = l.slice(colon + 1).replace(/^ /, "");
      return [decode(unescape(l.slice(0, colon))), decode(unescape(value))];
    });
}

const pairs = (c: VectorCase) => ({
  owned: pairLines(c, "owned", (b) => new TextDecoder().decode(b)),
  headers: pairLines(c, "headers", (b) => String.fromCharCode(...b)),
});

const pairText = (list: Array<[Uint8Array, Uint8Array]>) => list.map(([n, v]) => `${escape(n)} = "${escape(v)}"`);

export function cgiParamsHarness(codec: Codec, c: VectorCase): Check[] {
  const format = (c.options.format ?? "fastcgi") as "fastcgi" | "scgi" | "uwsgi";
  let got: string[];
  try {
    const out = codec.buildCgiParams({ ...pairs(c), format, underscoresInHeaders: c.options.underscores === "on" });
    got = pairText({ fastcgi: refDecodeFcgiPairs, scgi: refDecodeScgi, uwsgi: refDecodeUwsgi }[format](out));
  } catch (e) {
    got = [`error: ${codecErrorCode(e)}`];
  }
  return [check("whole", got, expectedLines(c).map(canonicalQuotes))];
}

// --- cgi-request ---------------------------------------------------------------------------
// The complete SCGI or uwsgi request head as the gateway sends it: the variable block from the
// codec, framed by the protocol's exchange (src/protocol/scgi, src/protocol/uwsgi). Blocks
// `owned` and `headers` as for cgi-params; options protocol=scgi|uwsgi, modifier1=N,
// modifier2=N. The framing is checked by an independent reading here (a violation adds a
// `bad framing:` line), then the block decoded by the reference decoder. Expected: a first
// line `netstring length=N` or `uwsgi modifier1=N size=N modifier2=N`, then NAME = "value"
// lines; or `error: CODE`.

function framedLines(codec: Codec, c: VectorCase): string[] {
  const protocol = c.options.protocol as "scgi" | "uwsgi";
  const vars = codec.buildCgiParams({ ...pairs(c), format: protocol });
  const bad: string[] = [];
  if (protocol === "scgi") {
    const framed = scgiFrame(vars);
    const colon = framed.indexOf(0x3a);
    const digits = String.fromCharCode(...framed.subarray(0, colon));
    if (!/^(0|[1-9][0-9]*)$/.test(digits)) bad.push("bad framing: netstring length is not decimal without leading zeros");
    if (framed[framed.length - 1] !== 0x2c) bad.push("bad framing: netstring does not end with a comma");
    const body = framed.subarray(colon + 1, framed.length - 1);
    if (body.length !== Number(digits)) bad.push("bad framing: netstring length does not match its content");
    return [`netstring length=${digits}`, ...bad, ...pairText(refDecodeScgi(body))];
  }
  const framed = uwsgiFrame(vars, Number(c.options.modifier1 ?? 0), Number(c.options.modifier2 ?? 0));
  const size = framed[1] | (framed[2] << 8);
  const body = framed.subarray(4);
  if (body.length !== size) bad.push("bad framing: uwsgi size does not match the vars block");
  return [`uwsgi modifier1=${framed[0]} size=${size} modifier2=${framed[3]}`, ...bad, ...pairText(refDecodeUwsgi(body))];
}

export function cgiRequestHarness(codec: Codec, c: VectorCase): Check[] {
  let got: string[];
  try {
    got = framedLines(codec, c);
  } catch (e) {
    // GatewayError: the uwsgi framing's 64 KiB cap.
    got = [`error: ${e instanceof GatewayError ? e.code : codecErrorCode(e)}`];
  }
  return [check("whole", got, expectedLines(c).map(canonicalQuotes))];
}
