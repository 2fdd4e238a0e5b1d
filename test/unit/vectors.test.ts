// Runs every markdown vector in test/vectors through the harness its kind names. Streaming
// harnesses (fastcgi, cgi-head, http-request, http-response, http-chunked) re-run each input
// whole, at every chunk split and byte by byte and require the same result every time. New
// kinds register in HARNESSES below.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import {
  CodecError, createCodec, FcgiProtocolStatus, FcgiRole, FcgiType, type BodyFraming, type FcgiEvent,
} from "../../src/codec/index";
import {
  block, canonicalQuotes, caseInput, chunkings, escape, expectedLines, loadVectors, refDecodeFcgiPairs,
  refDecodeScgi, refDecodeUwsgi, unescape, type VectorCase,
} from "../helpers/vectors";
import { GatewayError } from "../../src/core/errors";
import { scgiFrame } from "../../src/protocol/scgi/exchange";
import { uwsgiFrame } from "../../src/protocol/uwsgi/exchange";
import { targetNamed } from "../fuzz/targets";
import { fuzzCodec, type FuzzCodec } from "../fuzz/wasm";

const codec = createCodec(loadWasmModuleFromDisk());
const vectorDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "vectors");

const nameOf = (table: Record<string, number>, n: number): string =>
  Object.entries(table).find(([, v]) => v === n)?.[0] ?? String(n);
const utf8 = (s: string) => new TextEncoder().encode(s);
const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// --- fastcgi ---------------------------------------------------------------------------------
// Options: mode=client|server (default client), track=1,2 (ids in flight before the input).
// Expected lines: TYPE id=N "data" (a stream's content, however it was chunked), TYPE id=N end
// (the empty record closing it), END_REQUEST id=N app=N protocol=NAME, BEGIN_REQUEST id=N
// role=NAME flags=N|KEEP_CONN, ABORT_REQUEST id=N, GET_VALUES(_RESULT) "name"="value" ...,
// UNKNOWN_TYPE type=N, and last either `boundary: true|false` or `error: CODE`.

type Item = { data: true; type: number; id: number; bytes: number[] } | { data: false; line: string };

function itemsOf(events: FcgiEvent[], into: Item[]): void {
  for (const e of events) {
    const last = into[into.length - 1];
    switch (e.kind) {
      case "stream":
        if (e.end) into.push({ data: false, line: `${nameOf(FcgiType, e.type)} id=${e.requestId} end` });
        else if (last?.data && last.type === e.type && last.id === e.requestId) last.bytes.push(...e.data);
        else into.push({ data: true, type: e.type, id: e.requestId, bytes: [...e.data] });
        break;
      case "end-request":
        into.push({ data: false, line: `END_REQUEST id=${e.requestId} app=${e.appStatus} protocol=${nameOf(FcgiProtocolStatus, e.protocolStatus)}` });
        break;
      case "begin-request":
        into.push({ data: false, line: `BEGIN_REQUEST id=${e.requestId} role=${nameOf(FcgiRole, e.role)} flags=${e.flags === 1 ? "KEEP_CONN" : e.flags}` });
        break;
      case "abort-request":
        into.push({ data: false, line: `ABORT_REQUEST id=${e.requestId}` });
        break;
      case "values": {
        const pairs = e.pairs.map(([n, v]) => ` "${escape(utf8(n))}"="${escape(utf8(v))}"`).join("");
        into.push({ data: false, line: `${nameOf(FcgiType, e.type)}${pairs}` });
        break;
      }
      case "unknown-type":
        into.push({ data: false, line: `UNKNOWN_TYPE type=${e.unknownType}` });
        break;
    }
  }
}

const render = (it: Item): string =>
  it.data ? `${nameOf(FcgiType, it.type)} id=${it.id} "${escape(Uint8Array.from(it.bytes))}"` : it.line;

function runFastcgi(c: VectorCase, chunks: Uint8Array[]): { lines: string[]; error?: string } {
  const d = codec.fcgiDecoder(c.options.mode === "server" ? "server" : "client");
  try {
    for (const id of (c.options.track ?? "").split(",").filter(Boolean)) d.track(Number(id));
    const items: Item[] = [];
    for (const chunk of chunks) {
      try {
        itemsOf(d.push(chunk), items);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        return { lines: items.map(render), error: e.code };
      }
    }
    return { lines: [...items.map(render), `boundary: ${d.atBoundary}`] };
  } finally {
    d.free();
  }
}

/** With an error, events of the failing push are lost (the contract), so a run may deliver
 *  only a prefix of the expected events; a stream's last piece may be cut short. */
function isPrefixLog(got: string[], want: string[]): boolean {
  if (got.length > want.length) return false;
  return got.every((line, i) => {
    if (line === want[i]) return true;
    if (i !== got.length - 1) return false;
    const g = /^(\S+ id=\d+) "(.*)"$/.exec(line);
    const w = /^(\S+ id=\d+) "(.*)"$/.exec(want[i]);
    if (!g || !w || g[1] !== w[1]) return false;
    const gb = unescape(g[2]);
    const wb = unescape(w[2]);
    return gb.length <= wb.length && gb.every((b, k) => b === wb[k]);
  });
}

function fastcgiHarness(c: VectorCase): void {
  const input = caseInput(c);
  const want = expectedLines(c);
  const last = want[want.length - 1] ?? "";
  const wantError = /^error: (\S+)$/.exec(last)?.[1];
  for (const { label, chunks } of chunkings(input)) {
    const got = runFastcgi(c, chunks);
    if (wantError === undefined) {
      expect([...got.lines, ...(got.error ? [`error: ${got.error}`] : [])], label).toEqual(want);
    } else {
      expect(got.error, label).toBe(wantError);
      if (label === "byte by byte") expect(got.lines, label).toEqual(want.slice(0, -1));
      else expect(isPrefixLog(got.lines, want.slice(0, -1)), `${label}: ${JSON.stringify(got.lines)}`).toBe(true);
    }
  }
}

// --- cgi-head --------------------------------------------------------------------------------
// Options: limit=N (default 16384). The host's loop is simulated: after each chunk the whole
// buffer so far is parsed, and the first non-null result (a head or an error) is final.
// Expected lines: status: N, reason: "...", header: "name" "value" (in order), body: N (the
// body offset); or `error: CODE`; or `incomplete` when the whole input is not yet a head.

function runHead(chunks: Uint8Array[], limit: number): string[] {
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
      if (!(e instanceof CodecError)) throw e;
      return [`error: ${e.code}`];
    }
  }
  return ["incomplete"];
}

function cgiHeadHarness(c: VectorCase): void {
  const input = caseInput(c);
  const want = expectedLines(c);
  const limit = Number(c.options.limit ?? 16384);
  for (const { label, chunks } of chunkings(input)) expect(runHead(chunks, limit), label).toEqual(want);
}

// --- cgi-params ------------------------------------------------------------------------------
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

function cgiParamsHarness(c: VectorCase): void {
  const format = (c.options.format ?? "fastcgi") as "fastcgi" | "scgi" | "uwsgi";
  const owned = pairLines(c, "owned", (b) => new TextDecoder().decode(b));
  const headers = pairLines(c, "headers", (b) => String.fromCharCode(...b));
  let got: string[];
  try {
    const out = codec.buildCgiParams({ owned, headers, format, underscoresInHeaders: c.options.underscores === "on" });
    const decode = { fastcgi: refDecodeFcgiPairs, scgi: refDecodeScgi, uwsgi: refDecodeUwsgi }[format];
    got = decode(out).map(([n, v]) => `${escape(n)} = "${escape(v)}"`);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    got = [`error: ${e.code}`];
  }
  expect(got).toEqual(expectedLines(c).map(canonicalQuotes));
}

// --- cgi-request ---------------------------------------------------------------------------
// The complete SCGI or uwsgi request head as the gateway sends it: the variable block from the
// codec, framed by the protocol's exchange (src/protocol/scgi, src/protocol/uwsgi). Blocks
// `owned` and `headers` as for cgi-params; options protocol=scgi|uwsgi, modifier1=N,
// modifier2=N. The framing is checked by an independent reading here, then the block decoded
// by the reference decoder. Expected: a first line `netstring length=N` or `uwsgi
// modifier1=N size=N modifier2=N`, then NAME = "value" lines; or `error: CODE`.

function cgiRequestHarness(c: VectorCase): void {
  const protocol = c.options.protocol as "scgi" | "uwsgi";
  const owned = pairLines(c, "owned", (b) => new TextDecoder().decode(b));
  const headers = pairLines(c, "headers", (b) => String.fromCharCode(...b));
  let got: string[];
  try {
    const vars = codec.buildCgiParams({ owned, headers, format: protocol });
    if (protocol === "scgi") {
      const framed = scgiFrame(vars);
      const colon = framed.indexOf(0x3a);
      const digits = String.fromCharCode(...framed.subarray(0, colon));
      expect(digits, "netstring length is decimal without leading zeros").toMatch(/^(0|[1-9][0-9]*)$/);
      expect(framed[framed.length - 1], "netstring ends with a comma").toBe(0x2c);
      const body = framed.subarray(colon + 1, framed.length - 1);
      expect(body.length, "netstring length matches its content").toBe(Number(digits));
      got = [`netstring length=${digits}`, ...refDecodeScgi(body).map(([n, v]) => `${escape(n)} = "${escape(v)}"`)];
    } else {
      const framed = uwsgiFrame(vars, Number(c.options.modifier1 ?? 0), Number(c.options.modifier2 ?? 0));
      const size = framed[1] | (framed[2] << 8);
      const body = framed.subarray(4);
      expect(body.length, "uwsgi size matches the vars block").toBe(size);
      got = [
        `uwsgi modifier1=${framed[0]} size=${size} modifier2=${framed[3]}`,
        ...refDecodeUwsgi(body).map(([n, v]) => `${escape(n)} = "${escape(v)}"`),
      ];
    }
  } catch (e) {
    if (e instanceof CodecError || e instanceof GatewayError) got = [`error: ${e.code}`];
    else throw e;
  }
  expect(got).toEqual(expectedLines(c).map(canonicalQuotes));
}

// --- http-request, http-response, http-chunked ---------------------------------------------
// The host's loop is simulated: chunks are appended to a buffer and the head is parsed again
// from its start after each one; the first non-null result (a head or an error) is final. A
// response head with a 1xx status other than 101 is followed by the next head, parsed from its
// body offset. When the (final) head says chunked, the bytes after it, in the same chunking,
// go to a ChunkedDecoder. Options: limit=N (head limit, default 8192); http-response also
// method=HEAD|CONNECT|... (the request's method, default GET).
// Expected lines, per head: method: "M", target: "T" (requests) or status: N, reason: "R"
// (responses); version: 10|11; header: "name" "value" (in order); framing: none | length N |
// chunked | close; keep-alive: true|false; expect-continue (requests, only when set); body: N
// (the body offset, from the start of the input). For a chunked body: data: "..." (all data
// joined; omitted when empty) and end: N (where the message ended, from the start of the
// input), or incomplete. An `error: CODE` line ends the log: a head error replaces that head's
// lines, a body error the data line. `incomplete` alone: the input never completes a head.
// http-chunked runs the input as a body alone: data / end / incomplete / error.

const framingLine = (f: BodyFraming): string => (f.kind === "length" ? `framing: length ${f.length}` : `framing: ${f.kind}`);
const quoted = (s: string): string => `"${escape(latin1Bytes(s))}"`;

type HeadStep = { lines: string[]; bodyOffset: number; framing: BodyFraming; interim: boolean } | { error: string } | null;

function parseHeadStep(kind: "http-request" | "http-response", buf: Uint8Array, limit: number, method: string): HeadStep {
  try {
    if (kind === "http-request") {
      const h = codec.parseHttpRequestHead(buf, limit);
      if (!h) return null;
      return {
        lines: [
          `method: ${quoted(h.method)}`, `target: ${quoted(h.target)}`, `version: ${h.version}`,
          ...h.headers.map(([n, v]) => `header: ${quoted(n)} ${quoted(v)}`),
          framingLine(h.framing), `keep-alive: ${h.keepAlive}`, ...(h.expectContinue ? ["expect-continue"] : []),
        ],
        bodyOffset: h.bodyOffset,
        framing: h.framing,
        interim: false,
      };
    }
    const h = codec.parseHttpResponseHead(buf, limit, method);
    if (!h) return null;
    return {
      lines: [
        `status: ${h.status}`, `reason: ${quoted(h.reason)}`, `version: ${h.version}`,
        ...h.headers.map(([n, v]) => `header: ${quoted(n)} ${quoted(v)}`),
        framingLine(h.framing), `keep-alive: ${h.keepAlive}`,
      ],
      bodyOffset: h.bodyOffset,
      framing: h.framing,
      interim: h.status >= 100 && h.status < 200 && h.status !== 101,
    };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { error: e.code };
  }
}

/** Feeds `chunks` to a fresh ChunkedDecoder; `base` is where the body starts in the input. */
class BodyRun {
  private readonly d = codec.chunkedDecoder();
  private data: number[] = [];
  private consumed = 0;
  result: string[] | null = null;

  constructor(private readonly base: number) {}

  push(chunk: Uint8Array): void {
    if (this.result) return;
    try {
      const r = this.d.push(chunk);
      for (const piece of r.data) this.data.push(...piece);
      this.consumed += r.consumed;
      if (r.done) this.result = [...this.dataLine(), `end: ${this.base + this.consumed}`];
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.result = [`error: ${e.code}`];
    }
  }

  finish(): string[] {
    this.d.free();
    return this.result ?? [...this.dataLine(), "incomplete"];
  }

  private dataLine(): string[] {
    return this.data.length > 0 ? [`data: "${escape(Uint8Array.from(this.data))}"`] : [];
  }
}

function runHttp(kind: "http-request" | "http-response", chunks: Uint8Array[], limit: number, method: string): string[] {
  const lines: string[] = [];
  let buf = new Uint8Array(0);
  let pos = 0; // start of the head being parsed
  let body: BodyRun | null = null;
  let finished = false;
  for (const chunk of chunks) {
    if (finished) break;
    if (body) {
      body.push(chunk);
      continue;
    }
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
    while (!finished && !body) {
      const step = parseHeadStep(kind, buf.subarray(pos), limit, method);
      if (step === null) break;
      if ("error" in step) {
        lines.push(`error: ${step.error}`);
        finished = true;
        break;
      }
      pos += step.bodyOffset;
      lines.push(...step.lines, `body: ${pos}`);
      if (step.interim) continue;
      if (step.framing.kind !== "chunked") {
        finished = true;
        break;
      }
      body = new BodyRun(pos);
      if (buf.length > pos) body.push(buf.subarray(pos));
    }
  }
  if (body) return [...lines, ...body.finish()];
  if (!finished) lines.push("incomplete");
  return lines;
}

function httpHeadHarness(kind: "http-request" | "http-response") {
  return (c: VectorCase): void => {
    const input = caseInput(c);
    const want = expectedLines(c);
    const limit = Number(c.options.limit ?? 8192);
    const method = c.options.method ?? "GET";
    for (const { label, chunks } of chunkings(input)) expect(runHttp(kind, chunks, limit, method), label).toEqual(want);
  };
}

function httpChunkedHarness(c: VectorCase): void {
  const input = caseInput(c);
  const want = expectedLines(c);
  for (const { label, chunks } of chunkings(input)) {
    const run = new BodyRun(0);
    for (const chunk of chunks) run.push(chunk);
    expect(run.finish(), label).toEqual(want);
  }
}

// --- fuzz ----------------------------------------------------------------------------------
// Inputs that once broke a fuzz target's property (test/fuzz/targets.ts); the comment names
// the target. The property is the expectation, checked exhaustively (every split).

let fuzz: FuzzCodec | undefined;
function fuzzHarness(c: VectorCase): void {
  const target = targetNamed(c.options.target ?? "");
  fuzz ??= fuzzCodec();
  target.check(fuzz, target.fromVector(c), true);
}

// --- registry --------------------------------------------------------------------------------

const HARNESSES: Record<string, (c: VectorCase) => void> = {
  fastcgi: fastcgiHarness,
  "cgi-head": cgiHeadHarness,
  "cgi-params": cgiParamsHarness,
  "cgi-request": cgiRequestHarness,
  "http-request": httpHeadHarness("http-request"),
  "http-response": httpHeadHarness("http-response"),
  "http-chunked": httpChunkedHarness,
  fuzz: fuzzHarness,
};

const cases = loadVectors(vectorDir);
const byFile = new Map<string, VectorCase[]>();
for (const c of cases) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);

describe("markdown vectors", () => {
  it("are present in the expected numbers", () => {
    const count = (kind: string) => cases.filter((c) => c.kind === kind).length;
    expect(count("fastcgi")).toBeGreaterThanOrEqual(25);
    expect(count("cgi-head")).toBeGreaterThanOrEqual(25);
    expect(count("cgi-params")).toBeGreaterThanOrEqual(15);
    expect(count("cgi-request")).toBeGreaterThanOrEqual(10);
    // The HTTP/1.1 corpus: request and response classes of SECURITY.md, chunked bodies.
    expect(count("http-request")).toBeGreaterThanOrEqual(140);
    expect(count("http-response")).toBeGreaterThanOrEqual(70);
    expect(count("http-chunked")).toBeGreaterThanOrEqual(60);
    expect(count("http-request") + count("http-response") + count("http-chunked")).toBeGreaterThanOrEqual(150);
  });
  for (const [file, list] of byFile) {
    describe(file, () => {
      for (const c of list) {
        it(c.title, () => {
          const harness = HARNESSES[c.kind];
          if (!harness) throw new Error(`${c.file}:${c.line}: no harness for kind "${c.kind}"`);
          harness(c);
        });
      }
    });
  }
});
