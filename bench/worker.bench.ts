// The Worker path against the raw relay floor (bench/worker/floor-worker.js), both under the
// same miniflare as `edgepass dev`, on the same php-fpm, in alternating rounds: a small PHP
// page and a 4 MiB one, edgepass direct and pooled, and what workerd spends per request
// (utime + stime of the workerd processes from /proc: the CPU a deployment pays for).
// Three more contenders run on the small page only: in the floor's Worker, a request answered
// without an origin (what an invocation costs) and a relay that reads php-fpm's bytes in
// JavaScript before it answers them (what any Worker that looks at the bytes pays); and the
// direct gateway answering a `return` route (its pipeline without an origin).
// BENCH_LOG_OFF=1 adds a third gateway, direct with [gateway] log = "off": what the request
// line costs workerd, measured beside the others.
// Not part of `npm test`: `npm run bench -- worker [--json]`. Needs wrk (npm run setup:bench).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { freePort, publicCopy, startPhpFpm } from "../test/helpers/php-fpm.js";
import { discardStdout, edgepass, repoRoot, waitFor, workerdPids } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../src/adapter/node/miniflare.js";
import { gatewayPhpConfig, median, preEncoded, table, wrkOutput } from "./lib.js";

const json = process.argv.includes("--json");
const SECONDS = process.env.BENCH_SECONDS ?? "5";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SMALL_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BIG_CONNECTIONS = Number(process.env.BENCH_BIG_CONNECTIONS ?? 8);
const PHP_WORKERS = 4;
const CASES = {
  small: { target: "/status.php?code=200", script: "status.php", query: "code=200", connections: SMALL_CONNECTIONS, bodyBytes: 20 },
  big: { target: "/big.php", script: "big.php", query: "", connections: BIG_CONNECTIONS, bodyBytes: 4 << 20 },
} as const;

const wrk = findProgram("wrk", "wrk");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: PHP_WORKERS });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-worker-"));

const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
/** utime + stime of the processes, all threads, in µs. */
function cpuUs(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * TICK_US;
}

// The floor, under the same miniflare and compatibility settings as `edgepass dev`.
const before = new Set(workerdPids(process.pid));
const floor = new Miniflare({
  modules: true,
  scriptPath: path.join(repoRoot, "bench/worker/floor-worker.js"),
  compatibilityDate: COMPATIBILITY_DATE,
  compatibilityFlags: COMPATIBILITY_FLAGS,
  bindings: {
    FPM_PORT: String(fpm.port),
    REQUESTS: JSON.stringify(Object.fromEntries(Object.values(CASES).map((c) => [c.target, preEncoded(www, c.script, c.query, false)]))),
  },
  host: "127.0.0.1",
  port: await freePort(),
});
const floorUrl = (await floor.ready).origin;
const floorPids = workerdPids(process.pid).filter((p) => !before.has(p));

writeFileSync(path.join(dir, "pooled.toml"), gatewayPhpConfig({ fpmPort: fpm.port, www, pool: "pooled", workers: PHP_WORKERS }));
// The direct gateway also answers a route of its own (`return`): the pipeline without an origin.
const RETURN_ROUTE = `\n[[routes]]\nmatch = "= /__return"\nreturn = "200 ok"\n`;
writeFileSync(path.join(dir, "direct.toml"), gatewayPhpConfig({ fpmPort: fpm.port, www, pool: "direct", workers: PHP_WORKERS }) + RETURN_ROUTE);
const logOff = process.env.BENCH_LOG_OFF === "1";
if (logOff) writeFileSync(path.join(dir, "direct-log-off.toml"), `[gateway]\nlog = "off"\n\n${gatewayPhpConfig({ fpmPort: fpm.port, www, pool: "direct", workers: PHP_WORKERS })}`);
const modes = logOff ? (["direct", "pooled", "direct-log-off"] as const) : (["direct", "pooled"] as const);
const gateways = await Promise.all(
  modes.map(async (mode) => {
    const run = edgepass(["dev", "--config", `${mode}.toml`, "--port", "0"], dir);
    const [, url] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    discardStdout(run);
    return { mode, run, url: url!, pids: workerdPids(run.child.pid!) };
  }),
);
// Besides the floor and the two gateways, three contenders for the small page only: the floor
// Worker's request answered without an origin and its relay that reads the origin's bytes in
// JavaScript before it answers (floor-worker.js), and the direct gateway's return route.
interface Contender {
  url: string;
  pids: number[];
  /** How the tables name it. */
  label: string;
  /** It answers php-fpm's bytes as they came, records and all (longer than the page). */
  unparsed?: boolean;
  /** Runs on the small page only; `path` replaces the page's target when set. */
  smallOnly?: { path?: string };
}
const contenders: Record<string, Contender> = {
  floor: { url: floorUrl, pids: floorPids, label: "raw relay floor", unparsed: true },
  "JS-read relay": { url: `${floorUrl}/__read`, pids: floorPids, label: "JS-read relay", unparsed: true, smallOnly: {} },
  "invocation only": { url: floorUrl, pids: floorPids, label: "invocation only", smallOnly: { path: "/__invocation" } },
  direct: { ...gateways[0], label: "edgepass direct" },
  pooled: { ...gateways[1], label: "edgepass pooled" },
  "return route": { ...gateways[0], label: "edgepass direct, a return route", smallOnly: { path: "/__return" } },
};
if (logOff) contenders["direct, log off"] = { ...gateways[2], label: "edgepass direct, log off" };
const runsOn = (caseName: string) => Object.keys(contenders).filter((n) => caseName === "small" || !contenders[n].smallOnly);
const urlOf = (who: Contender, target: string) => `${who.url}${who.smallOnly?.path ?? target}`;

interface Sample {
  rps: number;
  cpuUs: number;
  errors: string;
}

async function runWrk(url: string, connections: number, pids: number[]): Promise<Sample> {
  const cpu0 = cpuUs(pids);
  const out = await wrkOutput(wrk, ["-t2", `-c${connections}`, `-d${SECONDS}s`, url]);
  const cpu = cpuUs(pids) - cpu0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const sock = /Socket errors: (.*)/.exec(out)?.[1];
  const errors = [non2xx ? `non-2xx ${non2xx}` : "", sock ? `socket ${sock}` : ""].filter(Boolean).join("; ");
  return { rps, cpuUs: cpu / requests, errors };
}

/** The body's length, on a connection of its own (a kept one may be closed while wrk runs). */
function bodyBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let n = 0;
      res.on("data", (d: Buffer) => (n += d.length));
      res.on("end", () => resolve(n));
      res.on("error", reject);
    }).on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const samples: Record<string, Sample[]> = {};
try {
  // Every contender does the whole job: the page's bytes arrive (the floor's inside records).
  for (const [caseName, c] of Object.entries(CASES)) {
    for (const name of runsOn(caseName)) {
      const who = contenders[name];
      const got = await bodyBytes(urlOf(who, c.target)).catch((e) => Promise.reject(new Error(`${name} failed on ${c.target}`, { cause: e })));
      if (who.smallOnly?.path ? got === 0 : who.unparsed ? got <= c.bodyBytes : got !== c.bodyBytes) throw new Error(`${name} answered ${c.target} with ${got} bytes`);
      await runWrk(urlOf(who, c.target), 2, []);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [caseName, c] of Object.entries(CASES)) {
      const names = runsOn(caseName);
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const who = contenders[name];
        (samples[`${caseName}/${name}`] ??= []).push(await runWrk(urlOf(who, c.target), c.connections, who.pids));
        // The pool's idle connections pin php-fpm's workers until idle_timeout (1 s) closes them.
        await sleep(name === "pooled" ? 1500 : 300);
      }
    }
  }
} finally {
  for (const g of gateways) g.run.child.kill("SIGTERM");
  await floor.dispose();
  await Promise.all(gateways.map((g) => g.run.exit));
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}

const rps = (k: string) => median(samples[k].map((s) => s.rps));
const cpu = (k: string) => median(samples[k].map((s) => s.cpuUs));
const errs = (k: string) => [...new Set(samples[k].map((s) => s.errors).filter(Boolean))].join(" / ") || "none";
const r2 = (x: number) => Number(x.toFixed(2));
const worker = {
  "small-direct": { ours: Math.round(rps("small/direct")), floor: Math.round(rps("small/floor")), ratio: r2(rps("small/direct") / rps("small/floor")), target: 0.8 },
  "big-direct": { ours: Math.round(rps("big/direct")), floor: Math.round(rps("big/floor")), ratio: r2(rps("big/direct") / rps("big/floor")), target: 0.8 },
  "big-pooled": { ours: Math.round(rps("big/pooled")), floor: Math.round(rps("big/floor")), ratio: r2(rps("big/pooled") / rps("big/floor")), target: 0.7 },
  "small-pooled-vs-direct": { ours: Math.round(rps("small/pooled")), direct: Math.round(rps("small/direct")), ratio: r2(rps("small/pooled") / rps("small/direct")), target: 0.9 },
  "cpu-per-request-direct": { oursUs: Math.round(cpu("small/direct")), floorUs: Math.round(cpu("small/floor")), ratio: r2(cpu("small/direct") / cpu("small/floor")), target: 1.25 },
  "cpu-per-request-pooled": { oursUs: Math.round(cpu("small/pooled")), floorUs: Math.round(cpu("small/floor")), ratio: r2(cpu("small/pooled") / cpu("small/floor")), target: 1.25 },
};
const rows = Object.keys(CASES).flatMap((c) =>
  runsOn(c).map((n) => ({
    case: `${c === "small" ? "small page (status.php)" : "4 MiB page (big.php)"}, ${contenders[n].label}`,
    "req/s": rps(`${c}/${n}`).toFixed(0),
    "workerd CPU / req": `${cpu(`${c}/${n}`).toFixed(0)} µs`,
    errors: errs(`${c}/${n}`),
  })),
);
table(`Worker path, wrk -t2 -c${SMALL_CONNECTIONS} (small) / -c${BIG_CONNECTIONS} (4 MiB) -d${SECONDS}s, median of ${ROUNDS} alternating rounds`, rows);
table(
  "Targets (ratio in this run; target: met when ratio ≥ target, CPU when ≤)",
  Object.entries(worker).map(([k, v]) => ({ target: k, ratio: `${v.ratio}x`, wanted: `${k.startsWith("cpu") ? "≤" : "≥"} ${v.target}x`, met: (k.startsWith("cpu") ? v.ratio <= v.target : v.ratio >= v.target) ? "yes" : "no" })),
);
// Where the small page's CPU goes: each contender's workerd CPU per request over what the
// invocation alone costs, and the JS-read relay's requests/s against the floor's (the most a
// Worker that reads the origin's bytes itself could reach).
const base = cpu("small/invocation only");
const smallAnchors = {
  invocationUs: Math.round(base),
  overInvocationUs: Object.fromEntries(["floor", "JS-read relay", "return route", "direct", "pooled"].map((n) => [n, Math.round(cpu(`small/${n}`) - base)])),
  jsReadRelayVsFloor: r2(rps("small/JS-read relay") / rps("small/floor")),
};
table(
  `Small page, workerd CPU per request over the invocation alone (${smallAnchors.invocationUs} µs: a request answered without an origin)`,
  Object.entries(smallAnchors.overInvocationUs).map(([n, us]) => ({ contender: contenders[n].label, "CPU over the invocation": `${us} µs`, "req/s vs floor": `${r2(rps(`small/${n}`) / rps("small/floor"))}x` })),
);
if (json) console.log(JSON.stringify({ worker: { ...worker, "small-anchors": smallAnchors } }));
