// What every origin launcher shares: finding the Debian-installed program (or failing with the
// install hint: a test whose real peer is missing must fail, never skip), starting it in its
// own process group on a port chosen by the caller, waiting until it accepts connections, and
// stopping it and every worker it forked.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { waitForPort } from "../php-fpm.js";

export interface Server {
  /** Which server, for messages. */
  name: string;
  port: number;
  /** Everything the server said: its stdout/stderr and the log files it was told to write. */
  log(): string;
  /** Stops the server and its workers, and removes its temporary directory. */
  stop(): Promise<void>;
}

export function installHint(pkg: string): string {
  return `Run \`npm run setup:test\` (it installs Debian's ${pkg} package), then run the tests again.`;
}

/** The path of `program` on PATH or in the sbin/bin directories Debian installs to. */
export function findProgram(program: string, pkg: string): string {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]);
  for (const dir of dirs) if (dir && existsSync(join(dir, program))) return join(dir, program);
  throw new Error(`${program} is not installed, and the integration tests need a real one. ${installHint(pkg)}`);
}

/** `file` itself (a module or plugin a package installs), or an error naming the package. */
export function requireFile(file: string, what: string, pkg: string): string {
  if (existsSync(file)) return file;
  throw new Error(`${what} (${file}) is not installed, and the integration tests need it. ${installHint(pkg)}`);
}

export interface LaunchOptions {
  name: string;
  command: string;
  args: string[];
  port: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A temporary directory of the server's own: removed by stop(). */
  dir?: string;
  /** Log files the server writes (error logs), included in log(). */
  logFiles?: string[];
  /** How long the server may take to accept connections; generous, as nine start at once. */
  readyMs?: number;
}

const MAX_OUTPUT = 256 * 1024;

export async function launch(o: LaunchOptions): Promise<Server> {
  // detached: the server leads a process group of its own, so stop() reaches the workers it
  // forks (uWSGI, gunicorn, Apache, fcgiwrap -c) even when the master dies first.
  const proc = spawn(o.command, o.args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const collect = (d: Buffer) => {
    if (output.length < MAX_OUTPUT) output += d;
  };
  proc.stdout!.on("data", collect);
  proc.stderr!.on("data", collect);
  const spawnError = new Promise<Error>((resolve) => proc.once("error", resolve));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));

  const log = () => {
    let files = "";
    for (const f of o.logFiles ?? []) if (existsSync(f)) files += `--- ${f}\n${readFileSync(f, "utf8")}`;
    return `${output}${files}`;
  };
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, signal);
    } catch {
      // The group is gone already.
    }
  };
  const stop = async () => {
    if (proc.pid !== undefined) {
      if (proc.exitCode === null && proc.signalCode === null) {
        // The master alone: it stops its workers in its own order.
        proc.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      // Workers that outlived their master, or a master that ignored SIGTERM.
      signalGroup("SIGKILL");
    }
    if (o.dir) rmSync(o.dir, { recursive: true, force: true });
  };

  try {
    await Promise.race([
      waitForPort(o.port, o.readyMs ?? 30_000, proc, o.name),
      spawnError.then((e) => Promise.reject(e)),
    ]);
  } catch (e) {
    await stop();
    throw new Error(`${o.name} did not start: ${(e as Error).message}\n${o.command} ${o.args.join(" ")}\n${log()}`);
  }
  return { name: o.name, port: o.port, log, stop };
}

/** A Server for an origin started by another helper (php-fpm's). */
export function asServer(name: string, s: { port: number; log(): string; stop(): Promise<void> }): Server {
  return { name, port: s.port, log: () => s.log(), stop: () => s.stop() };
}
