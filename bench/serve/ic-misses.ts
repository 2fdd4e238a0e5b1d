// Where requests miss V8's inline caches in `edgepass serve`: one server per path under `node
// --log-ic`, `wrk` against it for a few seconds, and the property accesses whose cache changed
// state at least once per 10 requests, by place in the bundle. A warmed-up request should miss
// none: one that does reads an object of a shape its code had not seen (a copy made with a
// spread, a field added late), and each miss costs a lookup in V8's runtime. Such misses were
// the largest single cost of a small page once (README, the serve bench's notes).
//
//   npx tsx bench/serve/ic-misses.ts [--paths /status.php?code=200,/ret] [--seconds 2]
//                                    [--lua FILE] [--pool pooled|direct] [--bundle FILE]
//
// A place in edgepass is the bundle's line and column (dist/cli/node/main.mjs unless --bundle
// names another build of the CLI), with that line's text; places in Node's own modules are
// listed with the function they are in (with pool = "direct", Node's socket constructor
// misses about 30 per request: a socket per request is Node's cost). Exits 1 when any place
// in edgepass was found.
// Not part of `npm test`; needs wrk (npm run setup:bench).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../../test/helpers/php-fpm.js";
import { repoRoot } from "../../test/helpers/process.js";
import { findProgram } from "../../test/helpers/servers/launch.js";

const { values: o } = parseArgs({
  options: {
    paths: { type: "string", default: "/status.php?code=200,/ret" },
    seconds: { type: "string", default: "2" },
    lua: { type: "string" },
    pool: { type: "string", default: "pooled" },
    bundle: { type: "string" },
  },
});
if (o.pool !== "pooled" && o.pool !== "direct") throw new Error(`--pool: pooled or direct, not ${o.pool}`);
const wrk = findProgram("wrk", "wrk");
const bundle = path.resolve(o.bundle ?? path.join(repoRoot, "dist/cli/node/main.mjs"));
const bundleLines = readFileSync(bundle, "utf8").split("\n");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: 8 });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-ic-"));
writeFileSync(
  path.join(dir, "site.toml"),
  `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n` +
    (o.pool === "direct" ? `pool = "direct"\n\n` : "\n") +
    `[[routes]]\nmatch = "= /ret"\nreturn = "200 ok"\n\n` +
    `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`,
);

/** A place an IC changed state: V8's log line for it is type, pc, time, line, column, old
 *  state, new state, map, key, …; which script the line and column are in is the code the pc
 *  falls in (the log's code-creation lines), found for the first miss of each place. */
interface Miss {
  type: string;
  line: number;
  column: number;
  key: string;
  states: string;
  n: number;
  /** The first miss's pc, and its line's index in the log. */
  pc: bigint;
  at: number;
  /** The function and script its code belongs to ("name file:///…/main.mjs:L:C", "node:net…"). */
  code?: string;
}

/** The code whose range holds `pc`, created before log line `at` (searched backwards). */
function codeAt(lines: string[], at: number, pc: bigint): string {
  for (let i = at - 1; i >= 0; i--) {
    if (!lines[i].startsWith("code-creation,")) continue;
    const f = lines[i].split(",");
    const start = BigInt(f[4]);
    if (pc >= start && pc < start + BigInt(f[5])) return f[6].trim();
  }
  return "?";
}

async function missesFor(target: string): Promise<{ requests: number; misses: Map<string, Miss> }> {
  const port = await freePort();
  const log = path.join(dir, "v8.log");
  rmSync(log, { force: true });
  const child = spawn(process.execPath, ["--log-ic", `--logfile=${log}`, "--no-logfile-per-isolate", bundle, "serve", "--config", "site.toml", "--port", String(port)], {
    cwd: dir,
    stdio: ["ignore", "ignore", "ignore"],
  });
  try {
    await waitForPort(port, 10_000, child, "edgepass serve");
    const url = `http://127.0.0.1:${port}${target}`;
    const lua = o.lua ? ["-s", path.resolve(o.lua)] : [];
    // The warm-up's misses are the code learning its shapes; only the measured run's count.
    spawnSync(wrk, ["-t1", "-c8", "-d1s", ...lua, url]);
    // Complete lines only: V8 may be partway through writing the last one.
    const before = readFileSync(log, "utf8").split("\n").length - 1;
    const out = spawnSync(wrk, ["-t1", "-c8", `-d${o.seconds}s`, ...lua, url], { encoding: "utf8" }).stdout;
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    const lines = readFileSync(log, "utf8").split("\n");
    const misses = new Map<string, Miss>();
    for (let at = before; at < lines.length; at++) {
      const f = lines[at].split(",");
      if (!/IC$/.test(f[0])) continue;
      const k = `${f[0]} ${f[3]}:${f[4]} ${f[8]}`;
      let m = misses.get(k);
      if (!m) misses.set(k, (m = { type: f[0], line: Number(f[3]), column: Number(f[4]), key: f[8] ?? "", states: `${f[5]}->${f[6]}`, n: 0, pc: BigInt(f[1]), at }));
      m.n++;
    }
    for (const m of misses.values()) if (m.n * 10 >= requests) m.code = codeAt(lines, m.at, m.pc);
    return { requests, misses };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
  }
}

let found = 0;
try {
  for (const target of o.paths.split(",")) {
    const { requests, misses } = await missesFor(target);
    if (!requests) throw new Error(`wrk counted no requests for ${target}`);
    const often = [...misses.values()].filter((m) => m.n * 10 >= requests).sort((a, b) => b.n - a.n);
    const ours = often.filter((m) => m.code?.includes(bundle));
    console.log(`${target}: ${requests} requests, ${ours.length} places in edgepass missing at least once per 10 requests, ${often.length - ours.length} in Node's own modules`);
    for (const m of often) {
      const where = ours.includes(m) ? `main.mjs:${m.line}:${m.column}  ${bundleLines[m.line - 1]?.trim().slice(0, 90) ?? ""}` : `${m.line}:${m.column} in ${m.code}`;
      console.log(`  ${(m.n / requests).toFixed(2)} per request  ${m.type} .${m.key} ${m.states}  ${where}`);
    }
    found += ours.length;
  }
} finally {
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
process.exit(found ? 1 : 0);
