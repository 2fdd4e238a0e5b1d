// What a vector harness returns: one check per way the input was fed (whole, each split, byte
// by byte), each with the log it produced and the log the vector expects. Runtime-free, so the
// same harnesses run under vitest (test/unit/vectors.test.ts) and in every host (test/hosts).

import type { Codec } from "../../../src/codec/types";
import type { VectorCase } from "../vector-format";

export interface Check {
  label: string;
  got: string[];
  want: string[];
  ok: boolean;
}

export type Harness = (codec: Codec, c: VectorCase) => Check[];

export const sameLines = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export const check = (label: string, got: string[], want: string[]): Check => ({ label, got, want, ok: sameLines(got, want) });

/** By name, not instanceof: in a host bundle the codec's CodecError class is the package's
 *  copy, not the one this file would import. */
export function codecErrorCode(e: unknown): string {
  if (e instanceof Error && e.name === "CodecError" && typeof (e as { code?: unknown }).code === "string") {
    return (e as Error & { code: string }).code;
  }
  throw e;
}

export const nameOf = (table: Record<string, number>, n: number): string =>
  Object.entries(table).find(([, v]) => v === n)?.[0] ?? String(n);
export const utf8 = (s: string) => new TextEncoder().encode(s);
export const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
