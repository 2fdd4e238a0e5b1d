// npm run fuzz -- [--minutes N] [--target NAME] [--seed N] [--runs N] [--no-save]
//
// Runs every fuzz target of test/fuzz/targets.ts with fresh random seeds, round robin (a time
// slice each, or --runs inputs), until the time is up (default 5 minutes). An input that breaks a property is shrunk, printed with
// its seed, and appended to test/vectors/fuzz-found.md (unless --no-save), where `npm test`
// re-runs it forever. --seed with --target reproduces one run. Exit status 1 when anything
// was found. Not part of `npm test` (which runs a bounded fixed-seed pass of the same targets).

import fc from "fast-check";
import { TARGETS, targetNamed } from "../test/fuzz/targets";
import { FOUND_FILE, saveFound } from "../test/fuzz/vector-file";
import { fuzzCodec } from "../test/fuzz/wasm";

function parseArgs(argv: string[]): { minutes: number; target?: string; seed?: number; runs: number; save: boolean } {
  const out = { minutes: 5, target: undefined as string | undefined, seed: undefined as number | undefined, runs: 1_000_000, save: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v!;
    };
    if (a === "--minutes") out.minutes = Number(value());
    else if (a === "--target") out.target = value();
    else if (a === "--seed") out.seed = Number(value());
    else if (a === "--runs") out.runs = Number(value());
    else if (a === "--no-save") out.save = false;
    else usage(`unknown option ${a}`);
  }
  if (!(out.minutes > 0) || !(out.runs > 0)) usage("--minutes and --runs take positive numbers");
  return out;
}

function usage(problem: string): never {
  console.error(`fuzz: ${problem}\nusage: npm run fuzz -- [--minutes N] [--target NAME] [--seed N] [--runs N] [--no-save]`);
  console.error(`targets: ${TARGETS.map((t) => t.name).join(", ")}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
const targets = args.target ? [targetNamed(args.target)] : TARGETS;
const deadline = Date.now() + args.minutes * 60_000;
/** Each target's turn in a round: about a third of its share of the time, 1 to 20 s. */
const slice = Math.min(20_000, Math.max(1_000, (args.minutes * 60_000) / targets.length / 3));
let f = fuzzCodec();
const startBytes = f.memoryBytes();
const stats = new Map(targets.map((t) => [t.name, { runs: 0, found: 0 }]));
const seen = new Set<string>();
let found = 0;

console.log(`fuzz: ${targets.length} target(s) for ${args.minutes} min; found inputs go to ${args.save ? FOUND_FILE : "(not saved)"}`);
for (let round = 0; Date.now() < deadline; round++) {
  for (const target of targets) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
    const result = fc.check(
      fc.property(target.arb, (input) => target.check(f, input, false)),
      { seed, numRuns: args.runs, interruptAfterTimeLimit: Math.min(left, slice), markInterruptAsFailure: false },
    );
    const s = stats.get(target.name)!;
    s.runs += result.numRuns;
    if (!result.failed || !result.counterexample) continue;
    const error = result.errorInstance instanceof Error ? result.errorInstance : new Error(String(result.errorInstance));
    const why = `${error.name}: ${error.message}`;
    console.log(`\nFOUND in ${target.name} (seed ${seed}, path ${result.counterexamplePath}):\n  ${why.split("\n").join("\n  ")}`);
    console.log(`  input: ${JSON.stringify(result.counterexample[0]).slice(0, 2000)}`);
    s.found++;
    found++;
    // One vector per kind of failure and target: the message without its data.
    const key = `${target.name}|${why.replace(/"[^"]*"|\d+/g, "").slice(0, 80)}`;
    if (args.save && !seen.has(key)) console.log(`  saved as "${saveFound(target, result.counterexample[0], why)}"`);
    seen.add(key);
    f = fuzzCodec(); // a trap may have left the instance's heap inconsistent
  }
  if (args.seed !== undefined) break;
}

console.log(`\n${"target".padEnd(28)} ${"inputs".padStart(9)}  found`);
for (const [name, s] of stats) console.log(`${name.padEnd(28)} ${String(s.runs).padStart(9)}  ${s.found}`);
console.log(`Wasm memory: ${startBytes} bytes at start, ${f.memoryBytes()} at the end (scratch buffers grow to the largest input seen)`);
process.exit(found > 0 ? 1 : 0);
