// A fuzz target: a generator, the property every generated input must satisfy, and the way an
// input is written to (and read back from) a markdown vector, so an input that once broke a
// property is re-run by `npm test` forever (test/vectors/fuzz-*.md, kind "fuzz").

import type fc from "fast-check";
import { block, caseInput, escape, type VectorCase } from "../helpers/vectors";
import type { FuzzCodec } from "./wasm";
import { fromLatin1, toLatin1 } from "./bytes";

export interface VectorForm {
  options: Record<string, string>;
  blocks: Array<{ tag: string; text: string }>;
}

export interface Target<I> {
  name: string;
  /** What the property promises, one sentence (printed by the runner, written in vectors). */
  promise: string;
  arb: fc.Arbitrary<I>;
  /** Throws when the property fails. `exhaustive` (vector replay): every split, not a sample. */
  check(f: FuzzCodec, input: I, exhaustive: boolean): void;
  /** One plain call through the codec, as a host makes it (the memory test's workload). */
  once(f: FuzzCodec, input: I): void;
  toVector(input: I): VectorForm;
  fromVector(c: VectorCase): I;
}

/** Inputs that are bytes plus options: the bytes go in an `input` block (the corpus's escape
 *  form, wrapped at 96 characters without cutting an escape), the options in the comment. */
export interface BytesInput {
  bytes: string; // latin-1
  cuts: number[];
  opts: Record<string, string>;
}

export function bytesToVector(input: BytesInput): VectorForm {
  const tokens = escape(fromLatin1(input.bytes)).match(/\\x[0-9a-f]{2}|\\.|[^\\]/g) ?? [];
  const lines: string[] = [];
  let line = "";
  for (const t of tokens) {
    if (line.length + t.length > 96) {
      lines.push(line);
      line = "";
    }
    line += t;
  }
  lines.push(line);
  return { options: { ...input.opts, cuts: input.cuts.join(",") || "none" }, blocks: [{ tag: "input", text: lines.join("\n") }] };
}

export function bytesFromVector(c: VectorCase): BytesInput {
  const { cuts, target: _t, ...opts } = c.options;
  return {
    bytes: toLatin1(caseInput(c)),
    cuts: !cuts || cuts === "none" ? [] : cuts.split(",").map(Number),
    opts,
  };
}

/** Structured inputs (round trips) go in a `json` block. */
export function jsonToVector(input: unknown): VectorForm {
  return { options: {}, blocks: [{ tag: "json", text: JSON.stringify(input) }] };
}

export function jsonFromVector<I>(c: VectorCase): I {
  const b = block(c, "json");
  if (!b) throw new Error(`${c.file}:${c.line}: a structured fuzz case needs a json block`);
  return JSON.parse(b.text) as I;
}
