// Side by side in the Worker: `edgepass dev` from this checkout against `edgepass dev` from
// another revision of the repository, in front of one php-fpm (4 workers), wrk -t2 -c32 rounds
// alternating between them, and the median of each one's workerd CPU per request (utime +
// stime of its workerd processes from /proc, over the requests wrk counted) and requests/s.
// How a change to the Worker's small-request path is judged: two full runs of
// `npm run bench -- worker` differ more than most such changes.
//
//   npx tsx bench/worker/ab.ts --base REV [--pool direct|pooled] [--path /status.php?code=200]
//                              [--rounds 6] [--seconds 4] [--lua FILE]
//
// --lua: a wrk script for every request (an upload: wrk.method = "POST", wrk.body = ...).
//
// REV (a commit, HEAD~1, a branch) is checked out in a temporary git worktree that shares this
// checkout's node_modules; `edgepass dev` bundles each side's own src. Uncommitted changes
// count on this side only. Not part of `npm test`; needs wrk (npm run setup:bench).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { publicCopy, startPhpFpm } from "../../test/helpers/php-fpm.js";
import { repoRoot, workerdPids } from "../../test/helpers/process.js";
import { findProgram } from "../../test/helpers/servers/launch.js";
import { gatewayPhpConfig, median, wrkOutput } from "../lib.js";

const { values: o } = parseArgs({
  options: {
    base: { type: "string" },
    pool: { type: "string", default: "direct" },
    path: { type: "string", default: "/status.php?code=200" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "4" },
    lua: { type: "string" },
  },
});
if (!o.base) throw new Error("--base REV is required: the revision to compare this checkout with");
if (o.pool !== "direct" && o.pool !== "pooled") throw new Error(`--pool: direct or pooled, not ${o.pool}`);
const wrk = findProgram("wrk", "wrk");
const git = (args: string[]) => {
  const r = spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-worker-ab-"));
const baseRoot = path.join(dir, "base");
git(["worktree", "add", "--detach", baseRoot, o.base]);
symlinkSync(path.join(repoRoot, "node_modules"), path.join(baseRoot, "node_modules"));

const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: 4 });
writeFileSync(path.join(dir, "site.toml"), gatewayPhpConfig({ fpmPort: fpm.port, www, pool: o.pool, workers: 4 }));

interface Side {
  name: string;
  child: ChildProcess;
  url: string;
  pids: number[];
  cpu: number[];
  rps: number[];
}

async function start(name: string, root: string): Promise<Side> {
  const child = spawn(process.execPath, [path.join(root, "bin/edgepass.mjs"), "dev", "--config", "site.toml", "--port", "0"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // The request lines come through this pipe: it is read to the end, or workerd would wait.
  let out = "";
  let found = false;
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      if (found) return;
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        found = true;
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`${name}: edgepass dev exited (${code})`)));
  });
  return { name, child, url, pids: workerdPids(child.pid!), cpu: [], rps: [] };
}

const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
const cpuUs = (pids: number[]) =>
  pids.reduce((sum, p) => {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return sum + (Number(f[11]) + Number(f[12])) * TICK_US;
  }, 0);

const sides: Side[] = [];
try {
  sides.push(await start(`base (${o.base})`, baseRoot), await start("this checkout", repoRoot));
  const script = o.lua ? ["-s", o.lua] : [];
  for (const s of sides) await wrkOutput(wrk, ["-t2", "-c32", "-d2s", ...script, `${s.url}${o.path}`]);
  for (let i = 0; i < Number(o.rounds); i++) {
    for (const s of i % 2 ? [...sides].reverse() : sides) {
      const c0 = cpuUs(s.pids);
      const text = await wrkOutput(wrk, ["-t2", "-c32", `-d${o.seconds}s`, ...script, `${s.url}${o.path}`]);
      const c1 = cpuUs(s.pids);
      const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
      if (!(requests > 0)) throw new Error(`${s.name}: wrk counted no requests:\n${text}`);
      s.cpu.push((c1 - c0) / requests);
      s.rps.push(Number(/Requests\/sec:\s+([\d.]+)/.exec(text)![1]));
    }
  }
  console.log(`${o.path}, ${o.pool}, wrk -t2 -c32, ${o.rounds} alternating rounds of ${o.seconds} s (medians)`);
  for (const s of sides) {
    console.log(`${s.name}: ${median(s.cpu).toFixed(0)} µs workerd CPU/req [${s.cpu.map((x) => x.toFixed(0)).join(" ")}], ${median(s.rps).toFixed(0)} req/s [${s.rps.map((x) => x.toFixed(0)).join(" ")}]`);
  }
  const [a, b] = sides as [Side, Side];
  console.log(`this checkout / base: CPU per request ${(median(b.cpu) / median(a.cpu)).toFixed(3)}x, req/s ${(median(b.rps) / median(a.rps)).toFixed(3)}x`);
} finally {
  for (const s of sides) s.child.kill("SIGTERM");
  await Promise.all(sides.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once("exit", r)))));
  await fpm.stop?.();
  git(["worktree", "remove", "--force", baseRoot]);
  rmSync(dir, { recursive: true, force: true });
}
