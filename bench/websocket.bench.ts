// WebSocket through edgepass against nginx and against no gateway at all, in the same run on the
// same origin (bench/websocket/echo.mjs, the ws package's echo server): clients in another
// process (bench/websocket/load.mjs) each send a message and the next one when its echo is
// back. Two loads: 32 clients with 64-byte messages (round trips per second, p50 and p99), and
// one client with 1 MiB messages (where round trips per second are MiB per second each way). Gateways: the origin directly (the
// anchor: what the clients and the origin cost alone), nginx (one worker; proxy_pass with the
// Upgrade and Connection headers set, as its WebSocket recipe says), edgepass serve (one
// process) and edgepass dev (the Worker under workerd, locally). Each row: the median of
// BENCH_ROUNDS (3) rounds of BENCH_SECONDS (5) in alternating order after a warm-up, and the
// gateway's CPU time per round trip (utime + stime of its processes from /proc).
// Not part of `npm test`: `npm run bench websocket`. Needs nginx (npm run setup:bench).
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, forwardAllSite, repoRoot, startDev, startServe, type Dev } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { cpuSeconds, median, msText, nginxConfig, table } from "./lib.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const here = path.join(repoRoot, "bench/websocket");

const nginxBin = findProgram("nginx", "nginx-light");
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-ws-"));
chmodSync(dir, 0o755);

const children: ChildProcess[] = [];
function daemon(bin: string, args: string[]): ChildProcess {
  const c = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit"] });
  children.push(c);
  return c;
}

const originPort = await freePort();
const origin = daemon(process.execPath, [path.join(here, "echo.mjs"), String(originPort)]);
await waitForPort(originPort, 10_000, origin, "the echo origin");

const nginxPort = await freePort();
writeFileSync(
  path.join(dir, "nginx.conf"),
  nginxConfig(
    dir,
    `  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://127.0.0.1:${originPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
    }
  }`,
  ),
);
const nginx = daemon(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"]);
await waitForPort(nginxPort, 10_000, nginx, "nginx");

const site = forwardAllSite(originPort);
const hosts: Dev[] = [];
try {
  const serve = await startServe(site);
  hosts.push(serve);
  discardStdout(serve.run);
  const dev = await startDev(site);
  hosts.push(dev);
  discardStdout(dev.run);
  const ws = (base: string) => base.replace(/^http/, "ws") + "/";
  const gateways = [
    { name: "origin directly", url: `ws://127.0.0.1:${originPort}/`, pid: 0 },
    { name: "nginx", url: `ws://127.0.0.1:${nginxPort}/`, pid: nginx.pid! },
    { name: "edgepass serve", url: ws(serve.base), pid: serve.run.child.pid! },
    { name: "edgepass dev (workerd)", url: ws(dev.base), pid: dev.run.child.pid! },
  ];
  const loads = [
    { name: "32 clients, 64 B messages", clients: 32, size: 64 },
    { name: "1 client, 1 MiB messages", clients: 1, size: 1 << 20 },
  ];
  interface Result {
    perSecond: number;
    p50: number;
    p99: number;
    cpuUs: number;
    errors: number;
  }
  const runLoad = async (url: string, pid: number, clients: number, size: number, seconds: number): Promise<Result> => {
    const before = pid ? cpuSeconds(pid) : 0;
    const child = spawn(process.execPath, [path.join(here, "load.mjs"), url, String(clients), String(size), String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await new Promise((r) => child.on("close", r));
    const r = JSON.parse(out) as { trips: number; perSecond: number; p50: number; p99: number; errors: number };
    const cpu = pid ? cpuSeconds(pid) - before : NaN;
    return { perSecond: r.perSecond, p50: r.p50, p99: r.p99, cpuUs: (cpu / r.trips) * 1e6, errors: r.errors };
  };
  const rows: Array<Record<string, string>> = [];
  for (const load of loads) {
    const results = new Map<string, Result[]>(gateways.map((g) => [g.name, []]));
    for (const g of gateways) await runLoad(g.url, g.pid, load.clients, load.size, 1); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) {
        const r = await runLoad(g.url, g.pid, load.clients, load.size, SECONDS);
        results.get(g.name)!.push(r);
        console.log(`${load.name}, round ${round + 1}, ${g.name}: ${r.perSecond.toFixed(0)} round trips/s, p99 ${msText(r.p99)}`);
      }
    }
    const nginxRate = median(results.get("nginx")!.map((r) => r.perSecond));
    for (const g of gateways) {
      const rs = results.get(g.name)!;
      const rate = median(rs.map((r) => r.perSecond));
      rows.push({
        load: load.name,
        gateway: g.name,
        "round trips/s": rate.toFixed(0),
        "against nginx": `${(rate / nginxRate).toFixed(2)}x`,
        p50: msText(median(rs.map((r) => r.p50))),
        p99: msText(median(rs.map((r) => r.p99))),
        "gateway CPU/round trip": g.pid ? `${median(rs.map((r) => r.cpuUs)).toFixed(0)} µs` : "–",
        errors: String(rs.reduce((n, r) => n + r.errors, 0)),
      });
    }
  }
  table(`WebSocket echo, median of ${ROUNDS} alternating rounds of ${SECONDS} s, one gateway process each (workerd under edgepass dev), 2 cores shared by all`, rows);
} finally {
  for (const h of hosts) await h.stop();
  for (const c of children) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
