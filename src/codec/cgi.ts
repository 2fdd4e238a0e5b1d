// CGI parameter building and response-head parsing over the Wasm exports.

import {
  FIELD_SIZE, FORMAT_FASTCGI,
  FORMAT_SCGI, FORMAT_UWSGI, HEAD_FIELD_COUNT, HEAD_FIELDS, HEAD_REASON_END, HEAD_REASON_START, HEAD_STATUS,
  PARAMS_FORMAT_SHIFT, PARAMS_UNDERSCORES,
} from "../../wasm/abi/layout.js";
import { check } from "./errors.js";
import type { Scratch, WasmHeap } from "./memory.js";
import { readFields } from "./fields.js";
import { latin1, writeLists } from "./text.js";
import type { CgiHead, CgiParamsInput, ParamsFormat } from "./types.js";

/** Most header fields a response head may carry; more is treated as a hostile origin. */
export const MAX_HEAD_FIELDS = 1000;

/** Bytes of a buffer tried first: most heads end well within it. */
const HEAD_PREFIX = 1024;

const FORMATS: Record<ParamsFormat, number> = { fastcgi: FORMAT_FASTCGI, scgi: FORMAT_SCGI, uwsgi: FORMAT_UWSGI };

const align8 = (n: number): number => (n + 7) & ~7;

export class CgiCodec {
  constructor(
    private readonly heap: WasmHeap,
    private readonly input: Scratch,
    private readonly output: Scratch,
  ) {}

  buildParams(input: CgiParamsInput): Uint8Array {
    const { out, n } = this.params(input, input.format ?? "fastcgi", false);
    return this.heap.copyOut(out, n);
  }

  /** The params framed as a whole FastCGI request where they were built: one copy out, where
   *  building them and framing them apart copied them out, back in and out again. */
  fcgiRequest(input: CgiParamsInput, role: number, flags: number): Uint8Array {
    const wasm = this.heap.wasm;
    const { out, n, bound } = this.params(input, "fastcgi", true);
    const at = out + align8(bound);
    const size = check(wasm.fcgi_request_size(out, n, 0, 0), "fcgiRequestFromCgi");
    const len = check(wasm.fcgi_request(at, size, 1, role, flags, out, n, 0, 0, 0), "fcgiRequestFromCgi");
    return this.heap.copyOut(at, len);
  }

  /** Builds the params into the output scratch; `framed`: with room after them (from `bound`
   *  rounded up to 8) for the request they frame: the params again, a header and padding per
   *  PARAMS record (one per 65,535 bytes at most), BEGIN_REQUEST and the two empty records. */
  private params(input: CgiParamsInput, formatName: ParamsFormat, framed: boolean): { out: number; n: number; bound: number } {
    const format = FORMATS[formatName];
    if (format === undefined) throw new TypeError(`buildCgiParams: unknown format ${String(formatName)}`);
    const { ptr, lengths } = writeLists(this.heap, this.input, [
      { pairs: input.owned, enc: "utf8" },
      { pairs: input.headers, enc: "bytestring" },
    ]);
    const ownedLen = lengths[0];
    const headersLen = lengths[1];
    const wasm = this.heap.wasm;
    const bound = wasm.cgi_params_bound(ownedLen, headersLen);
    const out = this.output.ensure(align8(bound) + (framed ? bound + 16 * (Math.floor(bound / 65528) + 1) + 32 : 0));
    const options = (input.underscoresInHeaders ? PARAMS_UNDERSCORES : 0) | (format << PARAMS_FORMAT_SHIFT);
    const n = check(wasm.cgi_build_params(out, bound, ptr, ownedLen, headersLen, options), "buildCgiParams");
    return { out, n, bound };
  }

  parseHead(buf: Uint8Array, limit: number): CgiHead | null {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`parseCgiHead: limit must be a positive integer, got ${limit}`);
    // Bytes past the limit can never belong to an acceptable head.
    const all = Math.min(buf.length, limit);
    const cap = Math.min(Math.floor(limit / 3) + 1, MAX_HEAD_FIELDS); // "a:\n" is the shortest field line
    const table = this.output.ensure(HEAD_FIELDS + cap * FIELD_SIZE);
    // A prefix first: the first STDOUT record usually carries body bytes after the head, and
    // the parser is restartable (a prefix parses as incomplete or as the whole buffer does).
    let len = Math.min(all, HEAD_PREFIX);
    let bodyOffset = 0;
    for (;;) {
      const ptr = this.input.ensure(len);
      this.heap.u8().set(len === buf.length ? buf : buf.subarray(0, len), ptr);
      bodyOffset = check(this.heap.wasm.cgi_parse_head(ptr, len, limit, table, cap), "CGI response head");
      if (bodyOffset !== 0 || len === all) break;
      len = all;
    }
    if (bodyOffset === 0) return null;
    const i32 = this.heap.i32();
    const t = table >>> 2;
    const head = latin1(buf.subarray(0, bodyOffset));
    return {
      status: i32[t + HEAD_STATUS / 4],
      reason: head.slice(i32[t + HEAD_REASON_START / 4], i32[t + HEAD_REASON_END / 4]),
      headers: readFields(i32, table + HEAD_FIELDS, i32[t + HEAD_FIELD_COUNT / 4], head),
      bodyOffset,
    };
  }
}
