// The fastcgi harness. Options: mode=client|server (default client), track=1,2 (ids in flight
// before the input). Expected lines: TYPE id=N "data" (a stream's content, however it was
// chunked), TYPE id=N end (the empty record closing it), END_REQUEST id=N app=N protocol=NAME,
// BEGIN_REQUEST id=N role=NAME flags=N|KEEP_CONN, ABORT_REQUEST id=N, GET_VALUES(_RESULT)
// "name"="value" ..., UNKNOWN_TYPE type=N, and last either `boundary: true|false` or
// `error: CODE`.

import { FcgiProtocolStatus, FcgiRole, FcgiType, type Codec, type FcgiEvent } from "../../../src/codec/types";
import { caseInput, chunkings, escape, expectedLines, unescape, type VectorCase } from "../vector-format";
import { concatBytes } from "../../../src/core/bytes";
import { check, codecErrorCode, nameOf, sameLines, utf8, type Check } from "./check";

/** A stream's content is kept as the pieces it came in and joined once, when rendered: one
 *  64 KiB record fed at a thousand splits must not be copied byte by byte each time. */
type Item = { data: true; type: number; id: number; parts: Uint8Array[] } | { data: false; line: string };

function itemsOf(events: FcgiEvent[], into: Item[]): void {
  for (const e of events) {
    const last = into[into.length - 1];
    switch (e.kind) {
      case "stream":
        if (e.end) into.push({ data: false, line: `${nameOf(FcgiType, e.type)} id=${e.requestId} end` });
        else if (last?.data && last.type === e.type && last.id === e.requestId) last.parts.push(e.data.slice());
        else into.push({ data: true, type: e.type, id: e.requestId, parts: [e.data.slice()] });
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

const render = (it: Item): string => (it.data ? `${nameOf(FcgiType, it.type)} id=${it.id} "${escape(concatBytes(it.parts))}"` : it.line);

function runFastcgi(codec: Codec, c: VectorCase, chunks: Uint8Array[]): { lines: string[]; error?: string } {
  const d = codec.fcgiDecoder(c.options.mode === "server" ? "server" : "client");
  try {
    for (const id of (c.options.track ?? "").split(",").filter(Boolean)) d.track(Number(id));
    const items: Item[] = [];
    for (const chunk of chunks) {
      try {
        itemsOf(d.push(chunk), items);
      } catch (e) {
        return { lines: items.map(render), error: codecErrorCode(e) };
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

export function fastcgiHarness(codec: Codec, c: VectorCase): Check[] {
  const input = caseInput(c);
  const want = expectedLines(c);
  const last = want[want.length - 1] ?? "";
  const wantError = /^error: (\S+)$/.exec(last)?.[1];
  return chunkings(input).map(({ label, chunks }) => {
    const run = runFastcgi(codec, c, chunks);
    const got = [...run.lines, ...(run.error ? [`error: ${run.error}`] : [])];
    if (wantError === undefined) return check(label, got, want);
    const events = want.slice(0, -1);
    const ok = run.error === wantError && (label === "byte by byte" ? sameLines(run.lines, events) : isPrefixLog(run.lines, events));
    return { label, got, want, ok };
  });
}
