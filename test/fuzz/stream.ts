// The two shapes of streaming check every parser gets, whatever it parses:
//  - a head parser is called the way a host calls it, on a growing buffer: for every prefix
//    the answer is "need more" until it is final, and the final answer never changes as bytes
//    are added, and equals the answer for the whole input;
//  - an incremental decoder fed at any chunking reports the same log as fed byte by byte;
//    when it fails, the same error, after a prefix of that log (the events of a failing call
//    are lost, by contract).
// Any exception that is not a CodecError (a trap, a TypeError, an internal assertion) fails.

import { CodecError } from "../../src/codec/index";

export class PropertyFailure extends Error {
  override name = "PropertyFailure";
}

export function fail(message: string): never {
  throw new PropertyFailure(message);
}

/** The value of `f`, or "error: CODE" for a CodecError; anything else propagates. */
export function outcome<T>(f: () => T): T | string {
  try {
    return f();
  } catch (e) {
    if (e instanceof CodecError) return `error: ${e.code}`;
    throw e;
  }
}

const show = (x: unknown): string => JSON.stringify(x)?.slice(0, 400) ?? String(x);

/** Prefix lengths to try: all of them for short inputs, else the ends, the cuts and a stride. */
export function prefixPoints(len: number, cuts: number[], exhaustive: boolean): number[] {
  const all = exhaustive ? 4096 : 320;
  if (len <= all) return Array.from({ length: len + 1 }, (_, i) => i);
  const points = new Set<number>([0, len]);
  for (let i = 0; i < 48; i++) {
    points.add(i);
    points.add(len - i);
  }
  for (const c of cuts) points.add(c % (len + 1));
  for (let i = 0; i < len; i += Math.ceil(len / 64)) points.add(i);
  return [...points].sort((a, b) => a - b);
}

/** The growing-buffer check for a head parser; returns the final outcome. */
export function checkGrowingBuffer<T>(input: Uint8Array, parse: (buf: Uint8Array) => T | null, cuts: number[], exhaustive: boolean): T | string | null {
  const whole = outcome(() => parse(input));
  const wholeText = show(whole);
  let final: string | null = null;
  for (const p of prefixPoints(input.length, cuts, exhaustive)) {
    const got = show(outcome(() => parse(input.subarray(0, p))));
    if (final !== null) {
      if (got !== final) fail(`prefix ${p}: ${got}, but a shorter prefix already answered ${final}`);
    } else if (got !== "null") {
      if (got !== wholeText) fail(`prefix ${p} answered ${got}; the whole input answers ${wholeText}`);
      final = got;
    }
  }
  if (final === null && wholeText !== "null") fail(`no prefix answered; the whole input answers ${wholeText}`);
  return whole;
}

export interface DecoderRun {
  /** Log items in order; consecutive data of one stream are joined. */
  log: string[];
  error?: string;
  /** Anything else to compare (end offset, boundary state). */
  tail: string;
}

/** Every chunking must give the reference run's result (the last chunking: byte by byte when
 *  the input is short). With an error, the logs may differ in length, since the events of the
 *  failing call are lost, but one must be a prefix of the other (the last data item of the
 *  shorter one may be cut short). */
export function checkChunkings(chunkings: Uint8Array[][], run: (chunks: Uint8Array[]) => DecoderRun): DecoderRun {
  const reference = run(chunkings[chunkings.length - 1]);
  for (const chunks of chunkings) {
    const got = run(chunks);
    const label = `chunks of ${show(chunks.map((c) => c.length)).slice(0, 80)}`;
    if (got.error !== reference.error) fail(`${label}: error ${got.error}, reference run ${reference.error}`);
    if (reference.error === undefined) {
      if (show(got.log) !== show(reference.log) || got.tail !== reference.tail) {
        fail(`${label}: ${show(got.log)} ${got.tail}; reference run: ${show(reference.log)} ${reference.tail}`);
      }
    } else if (!isPrefixLog(got.log, reference.log) && !isPrefixLog(reference.log, got.log)) {
      fail(`${label}: log ${show(got.log)} and the reference log ${show(reference.log)} are not one a prefix of the other`);
    }
  }
  return reference;
}

/** Items are `KEY "json-string"` for data, anything else for events. */
function isPrefixLog(got: string[], want: string[]): boolean {
  if (got.length > want.length) return false;
  return got.every((line, i) => {
    if (line === want[i]) return true;
    if (i !== got.length - 1) return false;
    const g = /^(.*?) (".*")$/.exec(line);
    const w = /^(.*?) (".*")$/.exec(want[i]);
    return !!g && !!w && g[1] === w[1] && (JSON.parse(w[2]) as string).startsWith(JSON.parse(g[2]) as string);
  });
}

/** Appends a data piece to a log, joining it with the previous piece of the same stream. */
export function pushData(log: string[], key: string, data: string): void {
  const last = log[log.length - 1];
  const m = last === undefined ? null : /^(.*?) (".*")$/.exec(last);
  if (m && m[1] === key) log[log.length - 1] = `${key} ${JSON.stringify((JSON.parse(m[2]) as string) + data)}`;
  else log.push(`${key} ${JSON.stringify(data)}`);
}
