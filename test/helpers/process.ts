// Runs the `edgepass` command as a user would (node bin/edgepass.mjs …) and waits for what
// it prints.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repoRoot, "bin/edgepass.mjs");

export interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

export function edgepass(args: string[], cwd: string): Run {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = { child, stdout: "", stderr: "", exit: new Promise((r) => child.on("exit", (code) => r(code))) };
  child.stdout!.on("data", (d) => (run.stdout += d));
  child.stderr!.on("data", (d) => (run.stderr += d));
  return run;
}

/** Resolves with the match once `re` appears on stdout; rejects if the process exits first. */
export async function waitFor(run: Run, re: RegExp, ms = 45_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = run.stdout.match(re);
    if (m) return m;
    if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode}: ${run.stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out; stdout: ${run.stdout} stderr: ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
