// HTTP/2 over TLS: `edgepass serve` against nginx (`listen … ssl http2`), both in front of the same
// php-fpm in the same run, loaded by h2load (nghttp2's) with 4 connections of 8 streams each:
// a path each answers itself (`return`) and a small PHP page; and, on the first, the HTTP/2
// floor (bench/serve/h2-floor.mjs: Node's own http2 answering every stream itself). Each row: requests/s and the
// mean time per request as h2load measured them, and the gateway's own CPU time per request
// (utime + stime from /proc, over the requests h2load counted); the median of BENCH_ROUNDS (3)
// rounds of BENCH_SECONDS (5) whose order alternates, after a warm-up. Both write an access log
// line per request, buffered. Not part of `npm test`: `npm run bench h2`. Needs nginx and
// h2load (npm run setup:bench).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, repoRoot, startServe } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { selfSigned } from "../test/helpers/tls.js";
import { cpuSeconds, median, nginxPhpConfig, table } from "./lib.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = 4;
const STREAMS = 8;
const CONNECTIONS = CLIENTS * STREAMS;

const h2load = findProgram("h2load", "nghttp2-client");
const nginxBin = findProgram("nginx", "nginx-light");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: CONNECTIONS });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-h2-"));
chmodSync(dir, 0o755);
const pair = selfSigned("bench");
writeFileSync(path.join(dir, "cert.pem"), pair.cert);
writeFileSync(path.join(dir, "key.pem"), pair.key);
const RETURN_PATH = "/__return";

const nginxPort = await freePort();
writeFileSync(
  path.join(dir, "nginx.conf"),
  nginxPhpConfig({
    dir,
    port: nginxPort,
    www,
    fpmAddress: `127.0.0.1:${fpm.port}`,
    keepalive: CONNECTIONS,
    returnPath: RETURN_PATH,
    accessLog: true,
    listen: "ssl http2", // Debian 12's nginx 1.22; later ones write "http2 on;"
    server: [
      `ssl_certificate ${dir}/cert.pem;`,
      `ssl_certificate_key ${dir}/key.pem;`,
      // h2load keeps each connection for the whole run; nginx's default closes one after
      // 1,000 requests (GOAWAY), which h2load counts as failures. edgepass sets no such bound.
      "keepalive_requests 10000000;",
    ],
  }),
);

const serveConfig =
  `[serve]\ntls = { cert = "cert.pem", key = "key.pem" }\n\n` +
  `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n` +
  `max_connections = ${CONNECTIONS}\nidle_timeout = "1s"\n\n` +
  `[[routes]]\nmatch = "= ${RETURN_PATH}"\nreturn = "200 ok"\n\n` +
  `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`;

const PAGES = [
  { key: "return", page: "no origin (a return)", target: RETURN_PATH, floor: true },
  { key: "small", page: "small page (status.php)", target: "/status.php?code=200", floor: false },
].filter((p) => !process.env.BENCH_PAGES || process.env.BENCH_PAGES.split(",").includes(p.key));

interface H2Result {
  rps: number;
  meanMs: number;
  cpuUs: number;
  errors: string;
}

/** One h2load run against `url`; the gateway `pid`'s CPU over it. */
async function h2loadRun(url: string, pid: number, seconds: number): Promise<H2Result> {
  const before = cpuSeconds(pid);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(h2load, ["-t1", `-c${CLIENTS}`, `-m${STREAMS}`, `-D${seconds}`, url], { maxBuffer: 16 << 20 }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
  );
  const cpu = cpuSeconds(pid) - before;
  const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  if (!done) throw new Error(`h2load printed no totals:\n${out}`);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? "NaN";
  const meanMs = mean.endsWith("us") ? parseFloat(mean) / 1000 : mean.endsWith("ms") ? parseFloat(mean) : parseFloat(mean) * 1000;
  const status2xx = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? 0);
  const requests = Number(done[2]);
  const failed = Number(done[3]) + Number(done[4]);
  return {
    rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN),
    meanMs,
    cpuUs: (cpu / requests) * 1e6,
    errors: [failed && `failed ${failed}`, status2xx !== requests && `non-2xx ${requests - status2xx}`].filter(Boolean).join("; ") || "none",
  };
}

const children: ChildProcess[] = [];
const serve = await startServe(serveConfig, { "cert.pem": pair.cert, "key.pem": pair.key });
discardStdout(serve.run);
try {
  const nginx = spawn(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "inherit", "inherit"] });
  children.push(nginx);
  await waitForPort(nginxPort, 10_000, nginx, "nginx");
  const floorPort = await freePort();
  const floor = spawn(process.execPath, [path.join(repoRoot, "bench/serve/h2-floor.mjs"), String(floorPort), path.join(dir, "cert.pem"), path.join(dir, "key.pem")], { stdio: ["ignore", "inherit", "inherit"] });
  children.push(floor);
  await waitForPort(floorPort, 10_000, floor, "the Node http2 floor");
  const FLOOR = "Node http2 floor";
  const all = [
    { name: "edgepass serve", base: serve.base, pid: serve.run.child.pid! },
    { name: "nginx (http2)", base: `https://127.0.0.1:${nginxPort}`, pid: nginx.pid! },
    { name: FLOOR, base: `https://127.0.0.1:${floorPort}`, pid: floor.pid! },
  ];
  const rows: Array<Record<string, string>> = [];
  for (const { page, target, floor: withFloor } of PAGES) {
    const gateways = withFloor ? all : all.filter((g) => g.name !== FLOOR);
    const results = new Map<string, H2Result[]>(gateways.map((g) => [g.name, []]));
    for (const g of gateways) {
      await h2loadRun(`${g.base}${target}`, g.pid, 2); // warm-up: JIT, kept connections
      await new Promise((res) => setTimeout(res, 2500)); // the kept php-fpm connections close
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) {
        results.get(g.name)!.push(await h2loadRun(`${g.base}${target}`, g.pid, SECONDS));
        await new Promise((res) => setTimeout(res, 2500));
      }
    }
    const nginxRps = median(results.get("nginx (http2)")!.map((r) => r.rps));
    for (const g of gateways) {
      const rs = results.get(g.name)!;
      const rps = median(rs.map((r) => r.rps));
      rows.push({
        page,
        gateway: g.name,
        "req/s": Math.round(rps).toLocaleString("en-US"),
        "/ nginx": (rps / nginxRps).toFixed(2) + "x",
        "mean per request": `${median(rs.map((r) => r.meanMs)).toFixed(1)} ms`,
        "gateway CPU/req": `${Math.round(median(rs.map((r) => r.cpuUs)))} µs`,
        errors: [...new Set(rs.map((r) => r.errors))].join(", "),
        rounds: rs.map((r) => Math.round(r.rps)).join(" / "),
      });
    }
  }
  table(`HTTP/2 over TLS, h2load -c${CLIENTS} -m${STREAMS}, ${ROUNDS} rounds of ${SECONDS} s (median), php-fpm with ${CONNECTIONS} children`, rows);
} finally {
  for (const c of children) c.kill("SIGTERM");
  await serve.stop();
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
}
