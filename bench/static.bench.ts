// Static files from disk: `edgepass serve` ([assets], the config a new user writes) against
// nginx (one worker, sendfile on, its access log written as edgepass writes its request
// lines) serving the same directory, in the same run: a 6 KiB stylesheet, a 100 KiB image and a
// 4 MiB download. Each row: requests/s, p50 and p99 as wrk measured them, and the server's own
// CPU time per request (utime + stime from /proc over the requests wrk counted); the median of
// BENCH_ROUNDS (3) rounds of BENCH_SECONDS (5) whose order alternates, after a warm-up.
// Not part of `npm test`: `npm run bench static`. Needs nginx and wrk (npm run setup:bench).
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, startServe } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { median, medianCells, msText, table, wrkRun, type WrkResult } from "./lib.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const wrk = findProgram("wrk", "wrk");
const nginxBin = findProgram("nginx", "nginx-light");
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-static-"));
// nginx's worker runs as another user when started as root: it must be able to read the site.
chmodSync(dir, 0o755);
const site = path.join(dir, "site");
mkdirSync(site, { mode: 0o755 });
// Bytes that do not repeat (no codec or cache can shortcut them), the same for both servers.
const bytes = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
};
const FILES = [
  { page: "6 KiB stylesheet", path: "/site.css", size: 6 * 1024, connections: 32 },
  { page: "100 KiB image", path: "/photo.jpg", size: 100 * 1024, connections: 32 },
  { page: "4 MiB download", path: "/download.bin", size: 4 * 1024 * 1024, connections: 8 },
];
for (const f of FILES) writeFileSync(path.join(site, f.path), bytes(f.size));

const nginxPort = await freePort();
writeFileSync(
  path.join(dir, "nginx.conf"),
  `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  types { text/css css; image/jpeg jpg; application/octet-stream bin; }
  access_log ${dir}/access.log combined buffer=64k flush=10ms;
  sendfile on;
  server { listen 127.0.0.1:${nginxPort}; root ${site}; }
}
`,
);

const runWrk = (url: string, pid: number, connections: number, seconds = SECONDS) => wrkRun(wrk, url, pid, connections, seconds);

const serve = await startServe(`[assets]\ndirectory = "${site}"\n\n[[routes]]\nmatch = "/"\n`);
discardStdout(serve.run);
let nginx: ChildProcess | undefined;
try {
  nginx = spawn(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "inherit", "inherit"] });
  await waitForPort(nginxPort, 10_000, nginx, "nginx");
  const servers = [
    { name: "edgepass serve", base: serve.base, pid: serve.run.child.pid! },
    { name: "nginx", base: `http://127.0.0.1:${nginxPort}`, pid: nginx.pid! },
  ];
  // Each server must deliver each file whole before anything is timed.
  for (const s of servers) {
    for (const f of FILES) {
      const res = await fetch(`${s.base}${f.path}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || !body.equals(readFileSync(path.join(site, f.path)))) throw new Error(`${s.name} ${f.path}: ${res.status}, ${body.length} bytes`);
    }
  }
  const rows = [];
  const ratios: string[] = [];
  for (const f of FILES) {
    const results = new Map<string, WrkResult[]>(servers.map((s) => [s.name, []]));
    for (const s of servers) await runWrk(`${s.base}${f.path}`, s.pid, f.connections, 2);
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
        const r = await runWrk(`${s.base}${f.path}`, s.pid, f.connections);
        results.get(s.name)!.push(r);
        console.log(`${f.page}, round ${round + 1}, ${s.name}: ${r.rps.toFixed(0)} req/s, p99 ${msText(r.p99)}, ${r.cpuUs.toFixed(0)} µs CPU/req`);
      }
    }
    for (const s of servers) {
      rows.push({ file: f.page, server: s.name, ...medianCells(results.get(s.name)!, "CPU/req") });
    }
    const rps = (n: string) => median(results.get(n)!.map((r) => r.rps));
    ratios.push(`${f.page}: edgepass serve ${(rps("edgepass serve") / rps("nginx")).toFixed(2)}x nginx's requests/s`);
  }
  table(`wrk -t1 -c32 (4 MiB: -c8) -d${SECONDS}s, median of ${ROUNDS} alternating rounds, one process each, 2 cores shared by all`, rows);
  for (const r of ratios) console.log(r);
} finally {
  nginx?.kill("SIGTERM");
  await serve.stop();
  rmSync(dir, { recursive: true, force: true });
}
