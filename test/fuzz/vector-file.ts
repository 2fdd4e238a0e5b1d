// Writes an input that broke a property as a case in test/vectors/fuzz-found.md (kind "fuzz"),
// where test/unit/vectors.test.ts re-runs the target's property on it at every split, for good.

import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Target } from "./target";

export const FOUND_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "vectors", "fuzz-found.md");

const PREAMBLE = `# Inputs the fuzzer found

kind: fuzz

Each case is an input that once broke a fuzz target's property (\`npm run fuzz\`, or the bounded
run in \`npm test\`), saved so the property is checked on it forever. The comment names the
target (test/fuzz/targets.ts) and its options; the paragraph says what went wrong and what
fixed it. The property is the expectation: the case is re-run at every chunk split and byte by
byte, and passes when the property holds. Byte inputs are in an \`input\` block (the escapes of
test/helpers/vectors.ts; line breaks are not part of the input), structured ones in a \`json\`
block.
`;

/** Appends a case; returns its heading. */
export function saveFound<I>(target: Target<I>, input: I, why: string): string {
  if (!existsSync(FOUND_FILE)) writeFileSync(FOUND_FILE, PREAMBLE);
  const form = target.toVector(input);
  const title = `${target.name}: ${why.split("\n")[0].slice(0, 80)}`;
  const options = Object.entries({ target: target.name, ...form.options }).map(([k, v]) => `${k}=${v}`).join(" ");
  const blocks = form.blocks.map((b) => "```" + b.tag + "\n" + b.text + "\n```\n").join("\n");
  appendFileSync(FOUND_FILE, `\n## ${title}\n<!-- ${options} -->\nFound by the fuzzer: ${why.replace(/\n/g, " ").slice(0, 600)}\n\n${blocks}`);
  return title;
}
