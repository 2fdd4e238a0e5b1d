// What the demo origin answers, as STDOUT pieces: the demo page for any path, and two paths
// that tests and benchmarks use to check bytes and to hold a response open.
//   /bytes/N?seed=S   N bytes of a pattern derived from S (octet-stream), to verify exactly
//   /drip/N/MS        N pieces of 1 KiB, one every MS milliseconds (a slow, abortable stream)
import { renderPage } from "./page.js";

export interface DemoRequest {
  params: Array<[string, string]>;
  body: { length: number; sha256: string; bytes: Uint8Array | null };
}

/** A response as a head and a source of body pieces (null: no more). */
export interface DemoResponse {
  head: Uint8Array;
  /** Body pieces ready now; `drip` adds the rest over time. */
  pieces: Uint8Array[];
  drip?: { count: number; everyMs: number; piece: () => Uint8Array };
}

const enc = new TextEncoder();
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_DRIP = 10_000;

/** The byte pattern /bytes serves: a tiny LCG, so a client can recompute it. */
export function demoPattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function demoResponse(req: DemoRequest): DemoResponse {
  const get = (name: string) => req.params.find(([n]) => n === name)?.[1] ?? "";
  const path = get("PATH_INFO") || get("DOCUMENT_URI");
  const query = new URLSearchParams(get("QUERY_STRING"));
  let m = /^\/bytes\/(\d{1,9})$/.exec(path);
  if (m && Number(m[1]) <= MAX_BYTES) {
    const n = Number(m[1]);
    const seed = Number(query.get("seed") ?? "1") >>> 0;
    return {
      head: enc.encode(`Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${n}\r\nX-Seed: ${seed}\r\n\r\n`),
      pieces: [demoPattern(n, seed)],
    };
  }
  m = /^\/drip\/(\d{1,5})\/(\d{1,5})$/.exec(path);
  if (m && Number(m[1]) <= MAX_DRIP) {
    const piece = new Uint8Array(1024).fill(0x2e);
    return {
      head: enc.encode("Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"),
      pieces: [],
      drip: { count: Number(m[1]), everyMs: Number(m[2]), piece: () => piece },
    };
  }
  const page = renderPage(req);
  return { head: new Uint8Array(0), pieces: [page] };
}
