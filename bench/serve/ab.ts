// Side by side: two `edgepass serve` builds (or node flags) in front of one php-fpm, wrk -c32
// rounds alternating between them, and each process's CPU time per request (utime + stime
// from /proc over the requests wrk counted) and bytes allocated per request (V8's own count,
// --trace-gc-nvp, summed over the young collections of the round). The median of each is
// what a change to the small-request path is judged by: on this 2-core machine two runs of the
// full bench differ more than most such changes, two processes measured in turn much less.
//
//   npx tsx bench/serve/ab.ts [--a BUNDLE] [--b BUNDLE] [--a-flags "..."] [--b-flags "..."]
//                             [--path /status.php?code=200] [--rounds 6] [--seconds 3]
//                             [--pool pooled|direct]
//
// A bundle is a build of the CLI (`node scripts/build-cli.mjs`, then copy
// dist/cli/node/main.mjs next to it under another name: it loads the Wasm from beside itself).
// Both default to the current build. Not part of `npm test`; needs wrk (npm run setup:bench).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../../test/helpers/php-fpm.js";
import { repoRoot } from "../../test/helpers/process.js";
import { findProgram } from "../../test/helpers/servers/launch.js";
import { median } from "../lib.js";

const { values: o } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    "a-flags": { type: "string", default: "" },
    "b-flags": { type: "string", default: "" },
    path: { type: "string", default: "/status.php?code=200" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "3" },
    pool: { type: "string", default: "pooled" },
  },
});
if (o.pool !== "pooled" && o.pool !== "direct") throw new Error(`--pool: pooled or direct, not ${o.pool}`);
const wrk = findProgram("wrk", "wrk");
const build = path.join(repoRoot, "dist/cli/node/main.mjs");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: 32 });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-ab-"));

interface Side {
  name: string;
  child: ChildProcess;
  port: number;
  gcLog: string;
  cpu: number[];
  alloc: number[];
  rps: number[];
}

async function start(name: string, bundle: string, flags: string): Promise<Side> {
  const port = await freePort();
  const config = path.join(dir, `${name}.toml`);
  writeFileSync(
    config,
    `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n` +
      (o.pool === "direct" ? `pool = "direct"\n\n` : `max_connections = 32\nidle_timeout = "1s"\n\n`) +
      `[[routes]]\nmatch = "= /ret"\nreturn = "200 ok"\n\n` +
      `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`,
  );
  // V8 prints its collections on stdout, with the request lines: both go to a file read by
  // offset. stdbuf makes the C stdio V8 prints with write each line at once.
  const gcLog = path.join(dir, `${name}.out`);
  const args = ["-oL", process.execPath, "--trace-gc-nvp", ...flags.split(" ").filter(Boolean), bundle, "serve", "--config", config, "--port", String(port)];
  const child = spawn("stdbuf", args, { cwd: dir, stdio: ["ignore", openSync(gcLog, "w"), "inherit"] });
  await waitForPort(port, 10_000, child, "edgepass serve");
  return { name, child, port, gcLog, cpu: [], alloc: [], rps: [] };
}

/** The node process under stdbuf: its CPU time in seconds. */
function cpuOf(side: Side): number {
  const f = readFileSync(`/proc/${side.child.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Bytes allocated in the young generation since `from` (a byte offset in the output). */
function allocatedSince(side: Side, from: number): number {
  const text = readFileSync(side.gcLog).subarray(from).toString("latin1");
  let n = 0;
  for (const m of text.matchAll(/ gc=s .*? allocated=(\d+)/g)) n += Number(m[1]);
  return n;
}

const url = (s: Side) => `http://127.0.0.1:${s.port}${o.path}`;
const sides: Side[] = [];
try {
  // Started inside the try: a side that fails to start still stops php-fpm and the other.
  sides.push(await start("A", path.resolve(o.a ?? build), o["a-flags"]));
  sides.push(await start("B", path.resolve(o.b ?? build), o["b-flags"]));
  for (const s of sides) spawnSync(wrk, ["-t1", "-c32", "-d2s", url(s)]);
  for (let round = 0; round < Number(o.rounds); round++) {
    for (const s of round % 2 ? [...sides].reverse() : sides) {
      const cpu0 = cpuOf(s);
      const at = readFileSync(s.gcLog).length;
      const out = spawnSync(wrk, ["-t1", "-c32", `-d${o.seconds}s`, url(s)], { encoding: "utf8" }).stdout;
      const cpu = cpuOf(s) - cpu0;
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      s.cpu.push((cpu / requests) * 1e6);
      s.alloc.push(allocatedSince(s, at) / requests);
      s.rps.push(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]));
      // The pool closes its idle connections after 1 s: the other side finds php-fpm free.
      await new Promise((r) => setTimeout(r, 1200));
    }
  }
} finally {
  for (const s of sides) s.child.kill("SIGTERM");
  await Promise.all(sides.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once("exit", r)))));
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
const row = (s: Side) =>
  `${s.name}: ${median(s.cpu).toFixed(0)} µs CPU/req [${s.cpu.map((x) => x.toFixed(0)).join(" ")}], ` +
  `${(median(s.alloc) / 1024).toFixed(1)} KiB allocated/req, ${median(s.rps).toFixed(0)} req/s [${s.rps.map((x) => x.toFixed(0)).join(" ")}]`;
console.log(`${o.path}, ${o.pool}, wrk -t1 -c32, ${o.rounds} alternating rounds of ${o.seconds} s (medians)`);
for (const s of sides) console.log(row(s));
const [a, b] = sides;
console.log(`B/A: CPU per request ${(median(b.cpu) / median(a.cpu)).toFixed(2)}x, allocated ${(median(b.alloc) / median(a.alloc)).toFixed(2)}x, req/s ${(median(b.rps) / median(a.rps)).toFixed(2)}x`);
