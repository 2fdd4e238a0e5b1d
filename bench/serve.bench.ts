// `edgepass serve` against the two servers people put in front of php-fpm instead, in the same
// run on the same php-fpm: wrk -t1 -c32 → edgepass serve (pooled, one process) → php-fpm,
// → nginx (one worker; fastcgi_keep_conn and an upstream keepalive pool) → php-fpm, and
// → HAProxy (fcgi-app, keep-conn, one thread) → php-fpm. Each row: requests/s, p50 and p99 as
// wrk measured them, and the gateway's own CPU time per request (utime + stime of its
// processes from /proc, before and after the run, over the requests wrk counted).
// Not part of `npm test`: `npm run bench serve`. Needs nginx, haproxy and wrk (npm run setup:bench).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { repoRoot, startServe } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { nginxPhpConfig, preEncoded, table } from "./lib.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;
// One php-fpm child per client connection, so no gateway's kept connections can starve
// another's turn, and every gateway may keep as many as it has clients.
const PHP_CHILDREN = CONNECTIONS;

const wrk = findProgram("wrk", "wrk");
const nginxBin = findProgram("nginx", "nginx-light");
const haproxyBin = findProgram("haproxy", "haproxy");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: PHP_CHILDREN });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-serve-"));

const nginxPort = await freePort();
writeFileSync(path.join(dir, "nginx.conf"), nginxPhpConfig({ dir, port: nginxPort, www, fpmPort: fpm.port, keepalive: CONNECTIONS }));

const haproxyPort = await freePort();
writeFileSync(
  path.join(dir, "haproxy.cfg"),
  `global
  nbthread 1
  maxconn 1024
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
fcgi-app php
  docroot ${www}
  index index.php
  path-info ^(/.+\\.php)(/.*)?$
  option keep-conn
frontend web
  bind 127.0.0.1:${haproxyPort}
  default_backend php
backend php
  use-fcgi-app php
  http-reuse always
  server fpm 127.0.0.1:${fpm.port} proto fcgi maxconn ${CONNECTIONS} pool-purge-delay 1s
`,
);

const serveConfig =
  `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n` +
  `max_connections = ${CONNECTIONS}\nidle_timeout = "1s"\n\n` +
  `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`;

// The Node floor: a relay with no gateway in it (bench/serve/floor.mjs), on the same php-fpm.
const PAGES = [
  { page: "small page (status.php)", target: "/status.php?code=200", script: "status.php", query: "code=200" },
  { page: "4 MiB page (big.php)", target: "/big.php", script: "big.php", query: "" },
];
const floorPort = await freePort();
const floorRequests = JSON.stringify(Object.fromEntries(PAGES.map((p) => [p.target, preEncoded(www, p.script, p.query, true)])));

const children: ChildProcess[] = [];
function daemon(bin: string, args: string[], env?: Record<string, string>): ChildProcess {
  const c = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit"], env: env && { ...process.env, ...env } });
  children.push(c);
  return c;
}

/** utime + stime of `pid` and every process under it, in seconds. */
function cpuSeconds(pid: number): number {
  const hz = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  let ticks = 0;
  const walk = (p: number) => {
    const stat = `/proc/${p}/stat`;
    if (!existsSync(stat)) return;
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const f = readFileSync(stat, "utf8").split(") ")[1].split(" ");
    ticks += Number(f[11]) + Number(f[12]);
    for (const t of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) walk(Number(t));
  };
  walk(pid);
  return ticks / hz;
}

interface Result {
  rps: number;
  p50: string;
  p99: string;
  cpuUs: number;
  errors: string;
}

function runWrk(url: string, pid: number, seconds = SECONDS): Result {
  const before = cpuSeconds(pid);
  const r = spawnSync(wrk, ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", url], { encoding: "utf8" });
  const cpu = cpuSeconds(pid) - before;
  const out = r.stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => new RegExp(`\\s${p}%\\s+([\\d.]+\\w+)`).exec(out)?.[1] ?? "?";
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1];
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: pct("50"),
    p99: pct("99"),
    cpuUs: (cpu / requests) * 1e6,
    errors: [non2xx && `non-2xx ${non2xx}`, sockErr && `socket ${sockErr}`].filter(Boolean).join("; ") || "none",
  };
}

const serve = await startServe(serveConfig);
try {
  const nginx = daemon(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"]);
  const haproxy = daemon(haproxyBin, ["-db", "-f", path.join(dir, "haproxy.cfg")]);
  await waitForPort(nginxPort, 10_000, nginx, "nginx");
  await waitForPort(haproxyPort, 10_000, haproxy, "haproxy");
  const floor = daemon(process.execPath, [path.join(repoRoot, "bench/serve/floor.mjs"), String(floorPort), String(fpm.port)], { REQUESTS: floorRequests });
  await waitForPort(floorPort, 10_000, floor, "the Node relay floor");
  // `settle`: how long its kept php-fpm connections take to close once idle, so none is held
  // when the next gateway's turn starts. HAProxy closes half of its idle connections per
  // pool-purge-delay (1 s), so 32 take about 6 s; the others close all after 1 s.
  const gateways = [
    { name: "edgepass serve", base: serve.base, pid: serve.run.child.pid!, settle: 2500 },
    { name: "nginx", base: `http://127.0.0.1:${nginxPort}`, pid: nginx.pid!, settle: 2500 },
    { name: "HAProxy fcgi-app", base: `http://127.0.0.1:${haproxyPort}`, pid: haproxy.pid!, settle: 7000 },
    { name: "Node relay floor", base: `http://127.0.0.1:${floorPort}`, pid: floor.pid!, settle: 2500 },
  ];
  const rows = [];
  for (const { page, target } of PAGES) {
    for (const g of gateways) {
      runWrk(`${g.base}${target}`, g.pid, 2); // warm-up: JIT, kept connections
      const r = runWrk(`${g.base}${target}`, g.pid);
      rows.push({
        page,
        gateway: g.name,
        "req/s": r.rps.toFixed(0),
        p50: r.p50,
        p99: r.p99,
        "gateway CPU/req": `${r.cpuUs.toFixed(0)} µs`,
        errors: r.errors,
      });
      await new Promise((res) => setTimeout(res, g.settle));
    }
  }
  table(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, one php-fpm (pm = static, ${PHP_CHILDREN} children), one gateway process each, 2 cores shared by all`, rows);
} finally {
  for (const c of children) c.kill("SIGTERM");
  await serve.stop();
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
