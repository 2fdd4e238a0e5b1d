// Generators for FastCGI record streams (spec 3.3), built by hand from the spec with any
// padding (0..255) and content split across records, in both directions: what an app sends a
// web server (client-mode decoding) and what a web server sends an app (server mode). Each
// comes with the event log a decoder must report, derived from the records.

import fc from "fast-check";
import { FcgiType } from "../../src/codec/index";
import { refDecodeFcgiPairs } from "../helpers/vectors";
import { concat, fromLatin1, toLatin1 } from "./bytes";

export interface Rec {
  type: number;
  id: number;
  /** Content as latin-1. */
  content: string;
  padding: number;
}

export interface StreamCase {
  mode: "client" | "server";
  /** Ids the decoder tracks before the input (client mode). */
  track: number[];
  records: Rec[];
}

export function recordBytes(r: Rec): Uint8Array {
  const c = fromLatin1(r.content);
  const h = Uint8Array.of(1, r.type, r.id >> 8, r.id & 0xff, c.length >> 8, c.length & 0xff, r.padding, 0);
  return concat([h, c, new Uint8Array(r.padding).fill(0xa5)]);
}

export const streamBytes = (c: StreamCase): Uint8Array => concat(c.records.map(recordBytes));

const u32be = (n: number) => String.fromCharCode(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
/** A name-value stream (spec 3.4) by hand: 1-byte lengths below 128, else 4 bytes with the top bit. */
export function pairsContent(pairs: Array<[string, string]>): string {
  const len = (n: number) => (n < 128 && n !== 127 ? String.fromCharCode(n) : u32be((n | 0x80000000) >>> 0));
  return pairs.map(([n, v]) => len(n.length) + len(v.length) + n + v).join("");
}

const dataArb = fc.oneof(
  { weight: 30, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 }) },
  // Around the size (2,048 bytes) from which the decoder hands content back without copying.
  { weight: 2, arbitrary: fc.integer({ min: 2000, max: 9000 }).map((n) => "y".repeat(n)) },
  // Now and then a record at or near the 16-bit content limit.
  { weight: 1, arbitrary: fc.integer({ min: 65_000, max: 70_000 }).map((n) => "x".repeat(Math.min(n, 65_535))) },
);
const paddingArb = fc.oneof({ weight: 3, arbitrary: fc.nat(7) }, { weight: 1, arbitrary: fc.constantFrom(0, 255) });

/** One request's records in order; `last` ends it (END_REQUEST, or ABORT_REQUEST on the server). */
function perRequest(id: number, types: number[], last: (id: number) => fc.Arbitrary<Rec[]>, first: (id: number) => fc.Arbitrary<Rec[]>): fc.Arbitrary<Rec[]> {
  const streamRec = fc.record({ type: fc.constantFrom(...types), data: fc.option(dataArb, { freq: 5 }), padding: paddingArb })
    .map(({ type, data, padding }): Rec => ({ type, id, content: data ?? "", padding }));
  return fc.tuple(first(id), fc.array(streamRec, { maxLength: 6 }), last(id)).map(([a, b, c]) => [...a, ...b, ...c]);
}

/** Merges per-request record lists into one stream, keeping each list's order. */
function interleave(lists: Rec[][], picks: number[]): Rec[] {
  const queues = lists.map((l) => [...l]);
  const out: Rec[] = [];
  let k = 0;
  for (;;) {
    const live = queues.filter((q) => q.length > 0);
    if (live.length === 0) return out;
    out.push(live[(picks[k++ % Math.max(1, picks.length)] ?? 0) % live.length].shift()!);
  }
}

const idsArb = fc.uniqueArray(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 65_535 })), { minLength: 1, maxLength: 3 });
const pairArb = fc.tuple(fc.string({ maxLength: 12 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")), fc.oneof(fc.string({ maxLength: 8 }), fc.constant("v".repeat(127)), fc.constant("v".repeat(128))))
  .map(([n, v]): [string, string] => [n, v.replace(/[^\x20-\x7e]/g, "")]);

const mgmtClient = fc.oneof(
  fc.array(pairArb, { maxLength: 3 }).map((p): Rec => ({ type: FcgiType.GET_VALUES_RESULT, id: 0, content: pairsContent(p), padding: 0 })),
  fc.integer({ min: 0, max: 255 }).map((t): Rec => ({ type: FcgiType.UNKNOWN_TYPE, id: 0, content: String.fromCharCode(t) + "\0".repeat(7), padding: 0 })),
);

export const clientStreamArb: fc.Arbitrary<StreamCase> = idsArb.chain((ids) =>
  fc.record({
    lists: fc.tuple(
      ...ids.map((id) =>
        perRequest(id, [FcgiType.STDOUT, FcgiType.STDERR], (i) =>
          fc.tuple(fc.nat(), fc.constantFrom(0, 1, 2, 3), paddingArb).map(([app, proto, padding]) => [
            { type: FcgiType.END_REQUEST, id: i, content: u32be(app) + String.fromCharCode(proto, 0, 0, 0), padding },
          ]), () => fc.constant([])),
      ),
    ),
    mgmt: fc.array(mgmtClient, { maxLength: 2 }),
    picks: fc.array(fc.nat(), { maxLength: 16 }),
  }).map(({ lists, mgmt, picks }) => ({ mode: "client" as const, track: ids, records: interleave([...lists, mgmt], picks) })),
);

export const serverStreamArb: fc.Arbitrary<StreamCase> = idsArb.chain((ids) =>
  fc.record({
    lists: fc.tuple(
      ...ids.map((id) =>
        fc.tuple(
          fc.constantFrom(1, 2, 3), fc.constantFrom(0, 1), fc.array(pairArb, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 3 }),
          perRequest(id, [FcgiType.STDIN], (i) => fc.option(fc.constant([{ type: FcgiType.ABORT_REQUEST, id: i, content: "", padding: 0 }]), { nil: [] as Rec[] }), () => fc.constant([])),
        ).map(([role, flags, pairs, cuts, rest]) => {
          // PARAMS content cut into records at arbitrary points, then the empty PARAMS record.
          const content = pairsContent(pairs);
          const points = [...new Set(cuts.map((c) => c % (content.length + 1)))].sort((a, b) => a - b);
          const pieces = [...points, content.length].map((p, i, a) => content.slice(i === 0 ? 0 : a[i - 1], p)).filter((p) => p.length > 0);
          return [
            { type: FcgiType.BEGIN_REQUEST, id, content: String.fromCharCode(0, role, flags, 0, 0, 0, 0, 0), padding: 0 },
            ...pieces.map((p): Rec => ({ type: FcgiType.PARAMS, id, content: p, padding: (p.length * 7) % 8 })),
            { type: FcgiType.PARAMS, id, content: "", padding: 0 },
            ...rest,
          ];
        }),
      ),
    ),
    mgmt: fc.array(fc.array(pairArb.map(([n]): [string, string] => [n, ""]), { maxLength: 3 }).map((p): Rec => ({ type: FcgiType.GET_VALUES, id: 0, content: pairsContent(p), padding: 0 })), { maxLength: 2 }),
    picks: fc.array(fc.nat(), { maxLength: 16 }),
  }).map(({ lists, mgmt, picks }) => ({ mode: "server" as const, track: [], records: interleave([...lists, mgmt], picks) })),
);

/** The event log a decoder must report for well-formed records, in the vectors' line format
 *  (a stream's consecutive pieces joined, as test/unit/vectors.test.ts renders them). */
export function expectedLog(c: StreamCase): string[] {
  const log: string[] = [];
  let data = null as { key: string; bytes: string } | null;
  const flush = () => {
    if (data) log.push(`${data.key} ${JSON.stringify(data.bytes)}`);
    data = null;
  };
  const name = (t: number) => Object.entries(FcgiType).find(([, v]) => v === t)![0];
  for (const r of c.records) {
    if ([FcgiType.STDOUT, FcgiType.STDERR, FcgiType.STDIN, FcgiType.PARAMS].includes(r.type as 4) && r.content.length > 0) {
      const key = `${name(r.type)} id=${r.id}`;
      if (data?.key === key) data.bytes += r.content;
      else {
        flush();
        data = { key, bytes: r.content };
      }
      continue;
    }
    flush();
    const b = fromLatin1(r.content);
    if (r.type === FcgiType.END_REQUEST) log.push(`END_REQUEST id=${r.id} app=${((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0} protocol=${b[4]}`);
    else if (r.type === FcgiType.BEGIN_REQUEST) log.push(`BEGIN_REQUEST id=${r.id} role=${b[1]} flags=${b[2]}`);
    else if (r.type === FcgiType.ABORT_REQUEST) log.push(`ABORT_REQUEST id=${r.id}`);
    else if (r.type === FcgiType.UNKNOWN_TYPE) log.push(`UNKNOWN_TYPE type=${b[0]}`);
    else if (r.type === FcgiType.GET_VALUES || r.type === FcgiType.GET_VALUES_RESULT) log.push(`${name(r.type)} ${JSON.stringify(refDecodeFcgiPairs(b).map((pr) => pr.map(toLatin1)))}`);
    else log.push(`${name(r.type)} id=${r.id} end`);
  }
  flush();
  return log;
}
