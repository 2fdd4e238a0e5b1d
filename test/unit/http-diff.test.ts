// Differential test: our request parser against llhttp, the parser inside Node's http server
// (undici ships it built to Wasm; we load that build directly, with its default strict
// settings). Generated request heads — valid ones and ones mutated toward the smuggling classes
// of SECURITY.md — go to both. Ours must agree or be stricter: rejecting what llhttp accepts is
// allowed (each such code must be explained in test/vectors/http-differential.md), accepting
// what llhttp rejects fails the test, and when both accept, method, target, version, headers,
// keep-alive and body length must be equal. The two deliberate leniencies (extension methods,
// raw bytes >= 0x80 in the target) are checked narrowly: the same bytes with a registered
// method, or with "%" for each such byte, must then pass the full comparison.
// The request corpus in test/vectors/http-request-*.md is held to the same rule.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { CodecError, createCodec, type HttpRequestHead } from "../../src/codec/index";
import { caseInput, loadVectors } from "../helpers/vectors";

const codec = createCodec(loadWasmModuleFromDisk());
const here = path.dirname(fileURLToPath(import.meta.url));
const vectorDir = path.join(here, "..", "vectors");
const differentialDoc = readFileSync(path.join(vectorDir, "http-differential.md"), "utf8");
const LIMIT = 8192;

// --- llhttp ----------------------------------------------------------------------------------

/** undici is a dependency of miniflare; resolve it from the project, else through miniflare. */
function requireUndici(sub: string): unknown {
  const root = createRequire(path.join(here, "..", "..", "package.json"));
  try {
    return root(`undici/${sub}`);
  } catch {
    return createRequire(root.resolve("miniflare"))(`undici/${sub}`);
  }
}

const LL = requireUndici("lib/llhttp/constants.js") as {
  TYPE: { REQUEST: number };
  ERROR: Record<string, number>;
  METHODS: Record<string, number>;
  METHODS_HTTP: number[];
};
const METHOD_NAMES = new Map(Object.entries(LL.METHODS).map(([name, n]) => [n, name]));
const HTTP_METHODS = new Set(LL.METHODS_HTTP.map((n) => METHOD_NAMES.get(n)));

interface LlResult {
  /** llhttp's error number, 0 when it stopped without one. */
  errno: number;
  reason: string;
  head: { method: string; url: string; version: number; keepAlive: boolean; headers: Array<[string, string]> } | null;
  body: number;
  complete: boolean;
}

interface LlExports {
  memory: WebAssembly.Memory;
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_get_error_reason(p: number): number;
  llhttp_get_method(p: number): number;
  llhttp_get_http_major(p: number): number;
  llhttp_get_http_minor(p: number): number;
  malloc(n: number): number;
  free(p: number): void;
}

const llhttp = (() => {
  let cur: { url: string; headers: Array<[string, string]>; last: string; head: LlResult["head"]; body: number; complete: boolean };
  let w: LlExports;
  const text = (at: number, len: number) => Buffer.from(w.memory.buffer, at, len).toString("latin1");
  const ok = 0;
  // Node compiles from bytes; the Workers types in this project declare Module non-constructible.
  const Module = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;
  const module = new Module(requireUndici("lib/llhttp/llhttp-wasm.js") as Buffer);
  const instance = new WebAssembly.Instance(module, {
    env: {
      wasm_on_message_begin: () => ok,
      wasm_on_url: (_p: number, at: number, len: number) => ((cur.url += text(at, len)), ok),
      wasm_on_status: () => ok,
      wasm_on_header_field: (_p: number, at: number, len: number) => {
        if (cur.last !== "field") cur.headers.push(["", ""]);
        cur.last = "field";
        cur.headers[cur.headers.length - 1][0] += text(at, len);
        return ok;
      },
      wasm_on_header_value: (_p: number, at: number, len: number) => {
        cur.last = "value";
        cur.headers[cur.headers.length - 1][1] += text(at, len);
        return ok;
      },
      wasm_on_headers_complete: (p: number, _status: number, _upgrade: number, keepAlive: number) => {
        cur.head = {
          method: METHOD_NAMES.get(w.llhttp_get_method(p)) ?? "?",
          url: cur.url,
          version: w.llhttp_get_http_major(p) * 10 + w.llhttp_get_http_minor(p),
          keepAlive: keepAlive === 1,
          // llhttp keeps trailing whitespace in values; RFC 9110 5.5 says it is not part of them.
          headers: cur.headers.map(([n, v]) => [n, v.replace(/[ \t]+$/, "")]),
        };
        return ok;
      },
      wasm_on_body: (_p: number, _at: number, len: number) => ((cur.body += len), ok),
      // Pause after the first message: only it is compared (the rest would be a pipelined one).
      wasm_on_message_complete: () => ((cur.complete = true), LL.ERROR.PAUSED),
    },
  });
  w = instance.exports as unknown as LlExports;
  return (input: Uint8Array): LlResult => {
    cur = { url: "", headers: [], last: "", head: null, body: 0, complete: false };
    const p = w.llhttp_alloc(LL.TYPE.REQUEST);
    const buf = w.malloc(Math.max(input.length, 1));
    new Uint8Array(w.memory.buffer).set(input, buf);
    let errno = w.llhttp_execute(p, buf, input.length);
    if (errno === LL.ERROR.PAUSED && cur.complete) errno = 0;
    let reason = "";
    if (errno !== 0) {
      const r = new Uint8Array(w.memory.buffer, w.llhttp_get_error_reason(p));
      reason = Buffer.from(r.subarray(0, r.indexOf(0))).toString();
    }
    w.free(buf);
    w.llhttp_free(p);
    return { errno, reason, head: cur.head, body: cur.body, complete: cur.complete };
  };
})();

// --- ours --------------------------------------------------------------------------------------

interface OurResult {
  error: string | null; // a head or body error code
  inBody: boolean; // the error came from the body
  head: HttpRequestHead | null;
  body: number;
  complete: boolean;
}

function ours(input: Uint8Array): OurResult {
  let head: HttpRequestHead | null;
  try {
    head = codec.parseHttpRequestHead(input, LIMIT);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { error: e.code, inBody: false, head: null, body: 0, complete: false };
  }
  if (!head) return { error: null, inBody: false, head: null, body: 0, complete: false };
  const rest = input.subarray(head.bodyOffset);
  const f = head.framing;
  if (f.kind === "length") return { error: null, inBody: false, head, body: Math.min(f.length, rest.length), complete: rest.length >= f.length };
  if (f.kind !== "chunked") return { error: null, inBody: false, head, body: 0, complete: true };
  const d = codec.chunkedDecoder();
  try {
    const r = d.push(rest);
    return { error: null, inBody: false, head, body: r.data.reduce((n, x) => n + x.length, 0), complete: r.done };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { error: e.code, inBody: true, head, body: 0, complete: false };
  } finally {
    d.free();
  }
}

// --- comparison --------------------------------------------------------------------------------

type Verdict = "both-accept" | "both-reject" | "incomplete" | { stricter: string };

const show = (b: Uint8Array) => JSON.stringify(Buffer.from(b).toString("latin1"));

function compare(input: Uint8Array): Verdict {
  const o = ours(input);
  const l = llhttp(input);
  const llRejects = l.errno !== 0;
  if (o.error !== null && !o.inBody) return llRejects ? "both-reject" : { stricter: o.error };
  if (o.head === null) {
    // We wait for the rest of the head. llhttp may already have rejected a partial line
    // (we report errors per complete line); it must not have accepted a whole head.
    if (l.head) throw new Error(`llhttp completed a head we consider incomplete: ${show(input)}`);
    return "incomplete";
  }
  if (l.head === null) {
    if (llRejects && isExtensionMethod(o.head.method, l.errno)) return extensionMethod(input, o.head);
    if (llRejects && l.errno === LL.ERROR.INVALID_URL && RAW_HIGH.test(o.head.target)) return rawTargetBytes(input, o.head);
    throw new Error(`we accept a head llhttp rejects (${l.errno} ${l.reason}): ${show(input)}`);
  }
  let keepAlive = o.head.keepAlive;
  if (!keepAlive && l.head.keepAlive && closeWins(o.head)) {
    keepAlive = true; // see closeWins
    notes.add("CLOSE_WINS");
  }
  const got = { method: o.head.method, url: o.head.target, version: o.head.version, keepAlive, headers: o.head.headers };
  expect(got, `head of ${show(input)}`).toEqual(l.head);
  if (o.error !== null) return llRejects ? "both-reject" : { stricter: o.error };
  if (llRejects) throw new Error(`we accept a body llhttp rejects (${l.errno} ${l.reason}): ${show(input)}`);
  expect({ body: o.body, complete: o.complete }, `body of ${show(input)}`).toEqual({ body: l.body, complete: l.complete });
  return "both-accept";
}

/** Differences that are not rejections, each documented in http-differential.md. */
const notes = new Set<string>();

/** RFC 9112 9.3 checks "close" before anything else; llhttp lets "keep-alive" win on HTTP/1.0
 *  and does not see "close" followed by HTAB. Closing where llhttp would keep the connection is
 *  the safe side of that difference, allowed only when Connection really lists close. */
function closeWins(head: HttpRequestHead): boolean {
  return head.headers.some(([n, v]) => /^connection$/i.test(n) && /(^|,)[ \t]*close[ \t]*(,|$)/i.test(v));
}

/** llhttp knows a fixed list of methods; RFC 9110 9.1 (and the issue) make any token a method. */
function isExtensionMethod(method: string, errno: number): boolean {
  return (errno === LL.ERROR.INVALID_METHOD || errno === LL.ERROR.INVALID_CONSTANT) && !HTTP_METHODS.has(method);
}

/** The narrow exception: with a registered method in its place, everything else must agree. */
function extensionMethod(input: Uint8Array, head: HttpRequestHead): Verdict {
  const start = input.indexOf(head.method.charCodeAt(0));
  const swapped = new Uint8Array([...input.subarray(0, start), ...Buffer.from("PUT"), ...input.subarray(start + head.method.length)]);
  const v = compare(swapped); // throws if anything else is more lenient than llhttp
  return typeof v === "object" ? v : { stricter: "EXTENSION_METHOD" };
}

/** A raw byte >= 0x80 in the request-target: llhttp's strict build refuses it, nginx, Go's
 *  server, Node's (llhttp without strict mode) and the codec take it. */
const RAW_HIGH = /[\x80-\xff]/;

/** The other narrow exception: with every such byte of the target written as "%", everything
 *  else must agree. */
function rawTargetBytes(input: Uint8Array, head: HttpRequestHead): Verdict {
  const start = Buffer.from(input).indexOf(Buffer.from(head.target, "latin1"));
  const encoded = Buffer.from(head.target.replace(/[\x80-\xff]/g, "%"), "latin1");
  const swapped = new Uint8Array([...input.subarray(0, start), ...encoded, ...input.subarray(start + encoded.length)]);
  const v = compare(swapped); // throws if anything else is more lenient than llhttp
  notes.add("RAW_TARGET_BYTES");
  return typeof v === "object" ? v : "both-accept";
}

// --- generated requests ------------------------------------------------------------------------

const CRLF = "\r\n";
const TE_VALUES = ["gzip, chunked", "chunked, chunked", "identity", "", "Chunked", "chunked ", "chunked\x0b", "xchunked", "chunked;q=1", "gzip", ", chunked", "chunked\t", "\tchunked"];
const CL_VALUES = ["+5", "-1", "0x5", "5 5", "", "05", "5,5", "5, 5", "99999999999999999999", "1e1", " 7 ", "9007199254740992", "5\t", "\t5", "5 "];
const ODD = ["\0", "\x01", "\x7f", "\x0b", "\x0c", "\t", " ", "@", "(", '"', "\x80", "\xff", ":", ";", ",", "\r", "\n", "/"];
const VERSIONS = ["HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.10", "HTTP/1", "HTTP/0.9", "HTTP/1.1 "];
const HOSTS = ["example.com", "a.b:8080", "[::1]:80", "localhost", "", "a b", "x@y", "h:1:2"];

interface Req {
  method: string;
  target: string;
  version: string;
  fields: Array<[string, string]>;
  body: string;
}

const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/).filter((n) => !/^(host|content-length|transfer-encoding|connection|upgrade|expect)$/i.test(n));
const value = fc.stringMatching(/^[!-~]([ !-~]{0,16}[!-~])?$/);
const chunkData = fc.stringMatching(/^[ -~]{1,12}$/);

const request: fc.Arbitrary<Req> = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "HEAD"),
    target: fc.constantFrom("/", "/index.php", "/a/b?c=d&e=%20", "/x;y=1", "http://example.com/p", "/~user/", "/%7e?#f"),
    v10: fc.boolean(),
    host: fc.constantFrom(...HOSTS.slice(0, 4)),
    extra: fc.array(fc.tuple(name, value), { maxLength: 4 }),
    connection: fc.constantFrom(null, "close", "keep-alive", "Keep-Alive, close", "TE"),
    expect: fc.boolean(),
    framing: fc.constantFrom("none", "length", "chunked"),
    payload: fc.stringMatching(/^[ -~]{0,20}$/),
    chunks: fc.array(fc.tuple(chunkData, fc.constantFrom("", ";a", ";a=b", ';q="x y"')), { minLength: 1, maxLength: 4 }),
    trailer: fc.constantFrom("", `X-T: 1${CRLF}`),
  })
  .map((r): Req => {
    const fields: Array<[string, string]> = [];
    if (!r.v10) fields.push(["Host", r.host]);
    fields.push(...r.extra);
    if (r.connection) fields.push(["Connection", r.connection]);
    if (r.expect) fields.push(["Expect", "100-continue"]);
    let body = "";
    if (r.framing === "length") {
      fields.push(["Content-Length", String(r.payload.length)]);
      body = r.payload;
    } else if (r.framing === "chunked") {
      fields.push(["Transfer-Encoding", "chunked"]);
      body = r.chunks.map(([d, ext]) => d.length.toString(16) + ext + CRLF + d + CRLF).join("") + "0" + CRLF + r.trailer + CRLF;
    }
    return { method: r.method, target: r.target, version: r.v10 ? "HTTP/1.0" : "HTTP/1.1", fields, body };
  });

/** One mutation: a kind and three numbers that pick positions and variants. */
const mutation = fc.tuple(fc.nat(21), fc.nat(1000), fc.nat(1000), fc.nat(1000));

const pick = <T>(list: T[], n: number): T => list[n % list.length];

function mutate(r: Req, [kind, a, b, c]: [number, number, number, number]): Req | string {
  const fields = r.fields.map(([n, v]): [string, string] => [n, v]);
  const at = (n: number) => (fields.length ? n % fields.length : 0);
  const find = (re: RegExp) => fields.findIndex(([n]) => re.test(n));
  switch (kind) {
    case 0: fields.push(["Content-Length", String(r.body.length)]); break;
    case 1: fields.splice(at(a), 0, ["Content-Length", String(b % 40)]); break;
    case 2: fields.splice(at(a), 0, find(/^content-length$/i) >= 0 ? ["Transfer-Encoding", "chunked"] : ["Content-Length", String(b % 40)]); break;
    case 3: {
      const i = find(/^transfer-encoding$/i);
      if (i >= 0) fields[i][1] = pick(TE_VALUES, a);
      else fields.splice(at(b), 0, ["Transfer-Encoding", pick(TE_VALUES, a)]);
      break;
    }
    case 4: {
      const i = find(/^content-length$/i);
      if (i >= 0) fields[i][1] = pick(CL_VALUES, a);
      else fields.splice(at(b), 0, ["Content-Length", pick(CL_VALUES, a)]);
      break;
    }
    case 5: if (fields.length) fields[at(a)][0] += pick([" ", "\t"], b); break;
    case 6: if (fields.length) fields[at(a)][1] += pick([`${CRLF} x`, `${CRLF}\tx`], b); break;
    case 7: if (fields.length) fields[at(a)][0] = pick([" ", "\t"], b) + fields[at(a)][0]; break;
    case 8: fields.splice(at(a), 0, ["Host", pick(HOSTS, b)]); break;
    case 9: { const i = find(/^host$/i); if (i >= 0) fields.splice(i, 1); break; }
    case 10: return { ...r, fields, version: pick(VERSIONS, a) };
    case 11: if (fields.length) fields.splice(at(a), 0, [...fields[at(a)]]); break;
    case 12: return { ...r, fields, version: "HTTP/1.0" };
    case 13: return { ...r, fields, method: pick([r.method.toLowerCase(), "FOO", "GET\t", "G ET", "M-SEARCH"], a) };
    case 14: return { ...r, fields, target: pick(["*", "/a b", "/a\tb", "//x", "x/y", "/\x80", "/a\x01", ""], a) };
    default: {
      // Raw edits of the serialized bytes: head (kinds 15-18) or body (19-21).
      const s = serialize({ ...r, fields });
      const headEnd = s.indexOf(CRLF + CRLF) + 4;
      const inHead = kind <= 18;
      const lo = inHead ? 0 : headEnd;
      const span = Math.max(1, (inHead ? headEnd : s.length) - lo);
      const p = lo + (a % span);
      if (kind === 15 || kind === 19) return s.slice(0, p) + pick(ODD, b) + s.slice(p);
      if (kind === 16) return s.slice(0, p) + s.slice(p + 1);
      if (kind === 17 || kind === 20) {
        const crlfs = [...s.slice(lo, inHead ? headEnd : s.length).matchAll(/\r\n/g)].map((m) => lo + m.index!);
        if (!crlfs.length) return s;
        const q = pick(crlfs, b);
        return s.slice(0, q) + pick(["\n", "\r", "\r\r\n", " \r\n"], c) + s.slice(q + 2);
      }
      if (kind === 18) return s.slice(0, p) + pick(["\r\n", "\r\n ", "\r\nX: y\r\n", "\r\n\r\n"], b) + s.slice(p);
      return s.slice(0, p) + pick(["0", "f", ";", " ", "\r\n", "x"], b) + s.slice(p); // 21
    }
  }
  return { ...r, fields };
}

function serialize(r: Req): string {
  return `${r.method} ${r.target} ${r.version}${CRLF}` + r.fields.map(([n, v]) => `${n}: ${v}${CRLF}`).join("") + CRLF + r.body;
}

function build(r: Req, mutations: Array<[number, number, number, number]>): Uint8Array {
  let cur: Req | string = r;
  for (const m of mutations) {
    if (typeof cur === "string") break; // raw edits come last
    cur = mutate(cur, m);
  }
  return Buffer.from(typeof cur === "string" ? cur : serialize(cur), "latin1");
}

// --- tests ---------------------------------------------------------------------------------------

/** Codes and named differences documented as "#### `CODE`" in http-differential.md. */
const documented = new Set([...differentialDoc.matchAll(/^#### `(\w+)`/gm)].map((m) => m[1]));

function tally(verdicts: Verdict[]): { counts: Record<string, number>; stricter: Map<string, number> } {
  const counts: Record<string, number> = { "both-accept": 0, "both-reject": 0, incomplete: 0, stricter: 0 };
  const stricter = new Map<string, number>();
  for (const v of verdicts) {
    if (typeof v === "object") {
      counts.stricter++;
      stricter.set(v.stricter, (stricter.get(v.stricter) ?? 0) + 1);
    } else counts[v]++;
  }
  return { counts, stricter };
}

describe("request parser vs llhttp", () => {
  it("agrees on generated requests or is stricter, never more lenient", () => {
    const verdicts: Verdict[] = [];
    fc.assert(
      fc.property(request, fc.array(mutation, { maxLength: 3 }), (r, muts) => {
        verdicts.push(compare(build(r, muts)));
      }),
      { seed: 0x5eed, numRuns: 600 },
    );
    const { counts, stricter } = tally(verdicts);
    // The generator must exercise both sides, or the comparison proves nothing.
    expect(counts["both-accept"]).toBeGreaterThanOrEqual(100);
    expect(counts["both-reject"]).toBeGreaterThanOrEqual(100);
    for (const code of stricter.keys()) expect(documented, `${code} is not explained in http-differential.md`).toContain(code);
  });

  it("agrees on the request corpus or is stricter", () => {
    const verdicts = loadVectors(vectorDir, /^http-request-.*\.md$/).map((c) => compare(caseInput(c)));
    const { counts, stricter } = tally(verdicts);
    expect(counts["both-accept"]).toBeGreaterThanOrEqual(30);
    expect(counts["both-reject"]).toBeGreaterThanOrEqual(60);
    for (const code of stricter.keys()) expect(documented, `${code} is not explained in http-differential.md`).toContain(code);
  });

  it("documents every non-rejection difference it saw", () => {
    for (const note of notes) expect(documented, `${note} is not explained in http-differential.md`).toContain(note);
  });

  it("holds llhttp to what it is known to do (guards the oracle)", () => {
    const run = (s: string) => llhttp(Buffer.from(s, "latin1"));
    expect(run("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).toMatchObject({ errno: 0, complete: true, head: { method: "GET", url: "/" } });
    expect(run("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n").errno).not.toBe(0);
    expect(run("GET / HTTP/1.1\nHost: a\n\n").errno).not.toBe(0);
  });
});
