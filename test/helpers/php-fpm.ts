// Starts a real php-fpm on a free loopback port with its own temporary configuration, for
// tests and benchmarks. No php-fpm installed → a clear error with the install hint (tests
// must fail, not skip, when their real peer is missing).
import { createHash } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PhpFpm {
  /** The TCP port (0 when listening on a Unix socket). */
  port: number;
  /** The Unix socket path, with `unixSocket: true`. */
  socket?: string;
  /** The php-fpm master's error log (pool and worker messages). */
  logFile: string;
  /** The master's process id (its children are the workers). */
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

export interface PhpFpmOptions {
  maxChildren?: number;
  maxRequests?: number;
  /** Extra lines for the pool section. */
  pool?: string[];
  /** Listen on this port (e.g. to restart an origin where it was); default: a free one. */
  port?: number;
  /** Listen on a Unix socket in the temporary directory instead of a loopback port. */
  unixSocket?: boolean;
}

export function findPhpFpm(): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/local/sbin"])) {
    if (!dir || !existsSync(dir)) continue;
    if (existsSync(join(dir, "php-fpm"))) return join(dir, "php-fpm");
    const versioned = readdirSync(dir).filter((f) => /^php-fpm\d+(\.\d+)?$/.test(f)).sort();
    if (versioned.length) return join(dir, versioned[versioned.length - 1]);
  }
  throw new Error(
    "php-fpm is not installed, and the integration tests need a real one. " +
      "Run `npm run setup:test` (it installs Debian's php-fpm package), then `npm test` again.",
  );
}

/** What test/fixtures/www/noise.php sends for `seed`: KiB number i is the raw MD5 of "seed:i"
 *  64 times over, so a byte of another body shows. */
export function noiseBody(seed: string, kib: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < kib; i++) parts.push(Buffer.concat(Array(64).fill(createHash("md5").update(`${seed}:${i}`).digest())));
  return Buffer.concat(parts);
}

/** The config a new user writes for the PHP app under `www` on php-fpm at `fpmPort`: one
 *  FastCGI upstream with every default, and every path to a .php script routed to it. */
export const phpSite = (fpmPort: number, www: string, upstreamKeys = ""): string =>
  `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpmPort}"]\n${upstreamKeys}\n[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`;

// Ports already handed out by this process. A port is free only until its server binds it, so
// two calls before either server starts could otherwise get the same one from the kernel.
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** Waits until a loopback port (or a Unix socket path) accepts connections. */
export async function waitForPort(port: number | string, ms: number, proc?: ChildProcess, what = "server"): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = typeof port === "string" ? net.connect(port) : net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${typeof port === "string" ? port : `127.0.0.1:${port}`} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPhpFpm(opts: PhpFpmOptions = {}): Promise<PhpFpm> {
  const bin = findPhpFpm();
  const dir = mkdtempSync(join(tmpdir(), "edgepass-fpm-"));
  const socket = opts.unixSocket ? join(dir, "php-fpm.sock") : undefined;
  const port = socket ? 0 : (opts.port ?? (await freePort()));
  const logFile = join(dir, "error.log");
  const isRoot = process.getuid?.() === 0;
  const conf = [
    "[global]",
    `error_log = ${logFile}`,
    `pid = ${join(dir, "fpm.pid")}`,
    "daemonize = no",
    "log_level = notice",
    "[edgepass_test]",
    socket ? `listen = ${socket}` : `listen = 127.0.0.1:${port}`,
    // The socket must be reachable by the gateway when the workers run as nobody.
    ...(socket ? ["listen.mode = 0666"] : []),
    // php-fpm refuses to start as root unless told; run the workers as nobody then.
    ...(isRoot ? ["user = nobody", "group = nogroup"] : []),
    "pm = static",
    `pm.max_children = ${opts.maxChildren ?? 4}`,
    ...(opts.maxRequests ? [`pm.max_requests = ${opts.maxRequests}`] : []),
    "clear_env = no",
    "catch_workers_output = yes",
    // error_log() with no file configured goes to the FastCGI STDERR stream.
    "php_admin_flag[log_errors] = on",
    "php_admin_value[display_errors] = stderr",
    "php_admin_value[output_buffering] = 0",
    "php_admin_value[memory_limit] = 256M",
    ...(opts.pool ?? []),
    "",
  ].join("\n");
  const confFile = join(dir, "php-fpm.conf");
  writeFileSync(confFile, conf);
  const proc = spawn(bin, ["--nodaemonize", "--fpm-config", confFile, ...(isRoot ? ["--allow-to-run-as-root"] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  try {
    await waitForPort(socket ?? port, 15_000, proc, "php-fpm");
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\n${output}\n${existsSync(logFile) ? readFileSync(logFile, "utf8") : ""}`);
  }
  return {
    port,
    socket,
    logFile,
    pid: proc.pid!,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "") + output,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** php-fpm's workers run as an unprivileged user: give them a world-readable copy of a
 *  document root (a fresh clone or a temp dir may be private). Returns the copy's path. */
export function publicCopy(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), "edgepass-www-"));
  cpSync(src, dir, { recursive: true });
  chmodTree(dir, false);
  return dir;
}

/** Every directory and file under `root`: readable by all (0755/0644), or with `writable`
 *  writable by all too (0777/0666), for php-fpm's unprivileged workers. */
export function chmodTree(root: string, writable: boolean): void {
  const isDir = statSync(root).isDirectory();
  chmodSync(root, isDir ? (writable ? 0o777 : 0o755) : writable ? 0o666 : 0o644);
  if (isDir) for (const f of readdirSync(root)) chmodTree(join(root, f), writable);
}
