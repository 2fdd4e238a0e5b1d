// End to end: wrk → edgepass dev (miniflare/workerd) → php-fpm, against the anchor it
// replaces, wrk → nginx → the same php-fpm, measured in the same run on the same script.
// Not part of `npm test`: run with `npm run bench`. Needs nginx and wrk (npm run setup:bench).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, edgepass, repoRoot, waitFor } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { Miniflare } from "miniflare";
import { gatewayPhpConfig, nginxPhpConfig, table, wrkOutput } from "./lib.js";

const DURATION = process.env.BENCH_SECONDS ?? "8";
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

const wrk = findProgram("wrk", "wrk");
const nginxBin = findProgram("nginx", "nginx");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const PHP_WORKERS = 4;
const fpm = await startPhpFpm({ maxChildren: PHP_WORKERS });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-"));

const nginxPort = await freePort();
writeFileSync(path.join(dir, "nginx.conf"), nginxPhpConfig({ dir, port: nginxPort, www, fpmAddress: `127.0.0.1:${fpm.port}` }));
const nginx = spawn(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "inherit" });
await waitForPort(nginxPort, 10_000, nginx, "nginx");

// Two gateways on the same php-fpm: pooled (the default) and direct.
const gwConfig = (pool: "pooled" | "direct") => gatewayPhpConfig({ fpmPort: fpm.port, www, pool, workers: PHP_WORKERS });
writeFileSync(path.join(dir, "pooled.toml"), gwConfig("pooled"));
writeFileSync(path.join(dir, "direct.toml"), gwConfig("direct"));
const pooled = edgepass(["dev", "--config", "pooled.toml", "--port", "0"], dir);
const [, pooledUrl] = await waitFor(pooled, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
discardStdout(pooled);
const direct = edgepass(["dev", "--config", "direct.toml", "--port", "0"], dir);
const [, directUrl] = await waitFor(direct, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
discardStdout(direct);

// The platform's own ceiling: a Worker that answers "ok" at once, under the same miniflare.
// What separates it from edgepass is ours; what separates it from nginx is the runtime's.
const helloPort = await freePort();
const hello = new Miniflare({
  modules: true,
  script: 'export default { fetch() { return new Response("ok"); } };',
  compatibilityDate: "2026-04-20",
  host: "127.0.0.1",
  port: helloPort,
});
await hello.ready;

interface Result {
  rps: number;
  p50: string;
  p99: string;
  errors: string;
}

async function runWrk(url: string): Promise<Result> {
  const out = await wrkOutput(wrk, ["-t2", `-c${CONNECTIONS}`, `-d${DURATION}s`, "--latency", url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => new RegExp(`\\s${p}%\\s+([\\d.]+\\w+)`).exec(out)?.[1] ?? "?";
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0";
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
  return { rps, p50: pct("50"), p99: pct("99"), errors: `non-2xx ${non2xx}; socket ${sockErr}` };
}

try {
  const ceiling = await runWrk(`http://127.0.0.1:${helloPort}/`);
  const rows = [];
  for (const [name, target] of [
    ["small PHP page (status.php)", "/status.php?code=200"],
    ["4 MiB PHP response (big.php)", "/big.php"],
  ] as const) {
    const ng = await runWrk(`http://127.0.0.1:${nginxPort}${target}`);
    const dr = await runWrk(`${directUrl}${target}`);
    const po = await runWrk(`${pooledUrl}${target}`);
    // Let the pool's idle connections close before the next case's nginx run.
    await new Promise((r) => setTimeout(r, 2000));
    const fmt = (r: Result) => `${r.rps.toFixed(0)} req/s (p50 ${r.p50}, p99 ${r.p99})`;
    rows.push({
      case: name,
      "nginx → php-fpm": fmt(ng),
      "edgepass direct": fmt(dr),
      "edgepass pooled": fmt(po),
      "direct / nginx": `${(dr.rps / ng.rps).toFixed(2)}x`,
      "pooled / nginx": `${(po.rps / ng.rps).toFixed(2)}x`,
      "edgepass errors": `direct: ${dr.errors}; pooled: ${po.errors}`,
    });
  }
  console.log(`\nAnchor: an empty Worker under the same miniflare answers ${ceiling.rps.toFixed(0)} req/s (p50 ${ceiling.p50}, p99 ${ceiling.p99}).`);
  table(`Throughput, wrk -t2 -c${CONNECTIONS} -d${DURATION}s on one machine (2 cores shared by wrk, gateway and php-fpm)`, rows);
} finally {
  pooled.child.kill("SIGTERM");
  direct.child.kill("SIGTERM");
  await hello.dispose();
  nginx.kill("SIGTERM");
  await Promise.all([pooled.exit, direct.exit]);
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
