// Sizes and durations in nginx's notation (http://nginx.org/en/docs/syntax.html): a size is
// bytes, or a number with k/K, m/M, g/G; a duration is a sequence of number+unit parts from
// largest to smallest unit ("1m30s"), a bare number meaning seconds.

export type Parsed = { ok: true; value: number } | { ok: false; reason?: string };

const SIZE_RE = /^(\d+)([kKmMgG]?)$/;
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export const SIZE_EXPECTED = 'a size: an integer number of bytes, or a string like "512k", "8m" or "1g"';

export function parseSize(v: unknown): Parsed {
  let bytes: number;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return { ok: false };
    bytes = v;
  } else if (typeof v === "string") {
    const m = SIZE_RE.exec(v.trim());
    if (!m) return { ok: false };
    bytes = Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  } else {
    return { ok: false };
  }
  if (bytes < 0) return { ok: false, reason: "a size cannot be negative" };
  if (!Number.isSafeInteger(bytes)) return { ok: false, reason: "that size is too large" };
  return { ok: true, value: bytes };
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
// nginx refuses units out of order ("30s1m") or repeated ("1s1s"); so do we.
const UNIT_RANK: Record<string, number> = { d: 0, h: 1, m: 2, s: 3, ms: 4 };
const PART_RE = /(\d+)(ms|d|h|m|s)/y;

/** Timers past 2^31-1 ms fire at once in every JS runtime; refuse them instead. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export const DURATION_EXPECTED =
  'a duration: a string like "250ms", "5s", "2m" or "1m30s", or an integer number of seconds';

/** `max`: timers past 2^31-1 ms fire at once, so timeouts stop there; a cache lifetime
 *  (expires) is no timer and may be longer. */
export function parseDuration(v: unknown, max = MAX_DURATION_MS): Parsed {
  let ms: number;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return { ok: false };
    ms = v * 1000;
  } else if (typeof v === "string") {
    const s = v.trim();
    if (/^\d+$/.test(s)) {
      ms = Number(s) * 1000;
    } else {
      ms = 0;
      let rank = -1;
      let pos = 0;
      while (pos < s.length) {
        PART_RE.lastIndex = pos;
        const m = PART_RE.exec(s);
        if (!m) return { ok: false };
        const r = UNIT_RANK[m[2]];
        if (r <= rank) return { ok: false, reason: "units must go from largest to smallest, each at most once" };
        rank = r;
        ms += Number(m[1]) * UNIT_MS[m[2]];
        pos = PART_RE.lastIndex;
      }
      if (s.length === 0) return { ok: false };
    }
  } else {
    return { ok: false };
  }
  if (ms <= 0) return { ok: false, reason: "a timeout must be longer than zero" };
  if (ms > max) return { ok: false, reason: `the longest timeout is ${MAX_DURATION_MS} ms (about 24 days)` };
  return { ok: true, value: ms };
}
