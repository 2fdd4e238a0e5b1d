// Runs the `edgepass` command as a user would (node bin/edgepass.mjs …) and waits for what
// it prints.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

export interface Launch {
  /** A command that runs the rest (unshare…). */
  prefix?: string[];
  /** Flags for node itself (--inspect=…), which the command's own child processes do not inherit. */
  nodeArgs?: string[];
}

export function edgepass(args: string[], cwd: string, { prefix = [], nodeArgs = [] }: Launch = {}): Run {
  const argv = [...prefix, process.execPath, ...nodeArgs, bin, ...args];
  const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = { child, stdout: "", stderr: "", exit: new Promise((r) => child.on("exit", (code) => r(code))) };
  child.stdout!.on("data", (d) => (run.stdout += d));
  child.stderr!.on("data", (d) => (run.stderr += d));
  return run;
}

/** From now on what the process prints on stdout is read and dropped, as a log sent to
 *  /dev/null: a benchmark's request lines run to tens of megabytes, and kept in one string they
 *  cost the reading process more and more collector time, until it read the pipe late and the
 *  gateway kept its unwritten lines in its own memory, and slowed. Warnings and errors are on stderr. */
export function discardStdout(run: Run): void {
  run.child.stdout!.removeAllListeners("data");
  run.child.stdout!.resume();
  run.stdout = "";
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

/** `edgepass dev` or `edgepass serve` with `--config site.toml --port 0`, in a temporary
 *  directory holding `toml`. */
export interface Dev {
  base: string;
  /** The temporary directory holding site.toml. */
  dir: string;
  run: Run;
  stop(): Promise<void>;
  /** Started by startInNamespace: runs a command in the process's network namespace. */
  inside?(command: string, args: string[]): ChildProcess;
}

/** A site that forwards every path to one HTTP origin on `port`, with the request log off
 *  (the WebSocket bench and soak: what is measured is the relay, not the log). */
export function forwardAllSite(port: number): string {
  return `[gateway]\nlog = "off"\n\n[upstreams.app]\nprotocol = "http"\nservers = ["127.0.0.1:${port}"]\n\n[[routes]]\nmatch = "/"\nupstream = "app"\n`;
}

/** `args`: more flags for the command (e.g. --inspector-port N). */
export function startDev(toml: string, args: string[] = []): Promise<Dev> {
  return start("dev", toml, {}, args);
}

/** The plain server host: the same config, HTTP terminated by edgepass itself. `files`
 *  (relative path → content) are written next to site.toml first; `nodeArgs` go to node,
 *  `args` to the command (--workers 2). */
export function startServe(toml: string, files: Record<string, string | Buffer> = {}, nodeArgs: string[] = [], args: string[] = []): Promise<Dev> {
  return start("serve", toml, files, args, { nodeArgs });
}

/** Both hosts, named, for a describe.each that runs a test through each. */
export const BOTH_HOSTS = [
  ["edgepass serve", startServe],
  ["edgepass dev", startDev],
] as const;

/** `edgepass dev` or `serve` in a network namespace of its own (an unprivileged user namespace,
 *  loopback only) whose TCP buffers are bounded by `tcpBuffers`, "min default max" (tcp_rmem
 *  and tcp_wmem), so a test knows how much the kernel holds for a client that stops reading.
 *  Its ports are the test's own; `inside` runs the test's clients and origins there. */
export async function startInNamespace(command: "dev" | "serve", toml: string, files: Record<string, string | Buffer>, tcpBuffers: string): Promise<Dev> {
  const sysctl = (name: string) => `echo '${tcpBuffers}' > /proc/sys/net/ipv4/${name}`;
  const setup = `ip link set lo up && ${sysctl("tcp_rmem")} && ${sysctl("tcp_wmem")} && exec "$@"`;
  const dev = await start(command, toml, files, [], { prefix: ["unshare", "--user", "--map-root-user", "--net", "sh", "-c", setup, "sh"] });
  // exec keeps the pid: the one spawned is the command, inside the namespace.
  const pid = dev.run.child.pid!;
  dev.inside = (cmd, args) => spawn("nsenter", ["--target", String(pid), "--user", "--net", "--preserve-credentials", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return dev;
}

async function start(command: "dev" | "serve", toml: string, files: Record<string, string | Buffer> = {}, args: string[] = [], launch: Launch = {}): Promise<Dev> {
  const dir = mkdtempSync(path.join(tmpdir(), `edgepass-${command}-`));
  writeFileSync(path.join(dir, "site.toml"), toml);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  const r = edgepass([command, "--config", "site.toml", "--port", "0", ...args], dir, launch);
  try {
    const [, base] = await waitFor(r, /listening on (https?:\/\/127\.0\.0\.1:\d+)/);
    return {
      base: base!,
      dir,
      run: r,
      stop: async () => {
        if (r.child.exitCode === null) {
          r.child.kill("SIGTERM");
          await r.exit;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    r.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** workerd processes under `root` (the dev CLI's process tree), by /proc. */
export function workerdPids(root: number): number[] {
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      name.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const under = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === root) return true;
    return false;
  };
  return [...name].filter(([pid, n]) => n.startsWith("workerd") && under(pid)).map(([pid]) => pid);
}
