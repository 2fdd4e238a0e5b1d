// How php-fpm is reached decides how fast a page of a few KiB comes back. php-fpm writes its
// output in 8 KiB pieces and leaves Nagle's algorithm on, so on a kept TCP connection each
// piece after the first waits until the gateway's side acknowledges the one before, which
// Linux delays by about 40 ms once a connection carries requests and answers in turn. Over a
// Unix socket there is no Nagle, and a new connection per request starts in quick-ACK mode.
// Node cannot set TCP_QUICKACK on a socket, so edgepass cannot lift the wait itself.
//
// wrk -t1 -c32 against edgepass serve (pooled, the default) with php-fpm on a loopback port
// and on a Unix socket, edgepass serve with pool = "direct" on the port, and nginx (one
// worker, fastcgi_keep_conn with an upstream keepalive pool) on the port as the anchor; pages
// of 4, 16 and 64 KiB of HTML made in one echo. Each figure: the median of BENCH_ROUNDS (3)
// rounds of BENCH_SECONDS (3) whose order alternates, after a warm-up.
// Not part of `npm test`: `npm run bench fpm-socket`. Needs nginx and wrk (npm run setup:bench).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, repoRoot, startServe } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { medianCells, msText, nginxPhpConfig, table, wrkRun, type WrkResult } from "./lib.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
const PAGES_KIB = [4, 16, 64];

const wrk = findProgram("wrk", "wrk");
const nginxBin = findProgram("nginx", "nginx-light");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
writeFileSync(path.join(www, "text.php"), `<?php header("Content-Type: text/html; charset=utf-8"); echo str_repeat(str_pad("<p>a row of the page</p>", 31) . "\\n", (int)$_GET["kb"] * 32);\n`);
// One php-fpm child per client connection on each, so no kept connection starves a turn.
const tcp = await startPhpFpm({ maxChildren: CONNECTIONS });
const unix = await startPhpFpm({ maxChildren: CONNECTIONS, unixSocket: true });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-fpm-socket-"));
const nginxPort = await freePort();
writeFileSync(path.join(dir, "nginx.conf"), nginxPhpConfig({ dir, port: nginxPort, www, fpmAddress: `127.0.0.1:${tcp.port}`, keepalive: CONNECTIONS }));

const route = `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`;
const pooled = (server: string) => `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["${server}"]\nmax_connections = ${CONNECTIONS}\nidle_timeout = "1s"\n\n${route}`;
const serves = [
  await startServe(pooled(`127.0.0.1:${tcp.port}`)),
  await startServe(pooled(`unix:${unix.socket}`)),
  await startServe(`[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${tcp.port}"]\npool = "direct"\n\n${route}`),
];
for (const s of serves) discardStdout(s.run);
const children: ChildProcess[] = [];
try {
  const nginx = spawn(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "inherit", "inherit"] });
  children.push(nginx);
  await waitForPort(nginxPort, 10_000, nginx, "nginx");
  // `settle`: until a gateway's idle php-fpm connections have closed (1 s idle), so none holds
  // a child when the next one's turn starts.
  const gateways = [
    { name: "edgepass serve, TCP port (pooled)", base: serves[0].base, pid: serves[0].run.child.pid!, settle: 1500 },
    { name: "edgepass serve, Unix socket (pooled)", base: serves[1].base, pid: serves[1].run.child.pid!, settle: 1500 },
    { name: "edgepass serve, TCP port, pool = \"direct\"", base: serves[2].base, pid: serves[2].run.child.pid!, settle: 200 },
    { name: "nginx, TCP port (keepalive)", base: `http://127.0.0.1:${nginxPort}`, pid: nginx.pid!, settle: 1500 },
  ];
  const rows = [];
  for (const kb of PAGES_KIB) {
    const target = `/text.php?kb=${kb}`;
    const results = new Map<string, WrkResult[]>(gateways.map((g) => [g.name, []]));
    for (const g of gateways) {
      const res = await fetch(`${g.base}${target}`);
      const body = await res.text();
      if (res.status !== 200 || body.length !== kb * 1024) throw new Error(`${g.name} ${target}: ${res.status}, ${body.length} bytes`);
      await wrkRun(wrk, `${g.base}${target}`, g.pid, CONNECTIONS, 1);
      await new Promise((r) => setTimeout(r, g.settle));
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) {
        const r = await wrkRun(wrk, `${g.base}${target}`, g.pid, CONNECTIONS, SECONDS);
        results.get(g.name)!.push(r);
        console.log(`${kb} KiB, round ${round + 1}, ${g.name}: ${r.rps.toFixed(0)} req/s, p50 ${msText(r.p50)}`);
        await new Promise((res) => setTimeout(res, g.settle));
      }
    }
    for (const g of gateways) rows.push({ page: `${kb} KiB`, gateway: g.name, ...medianCells(results.get(g.name)!, "gateway CPU/req") });
  }
  table(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, median of ${ROUNDS} alternating rounds, php-fpm with ${CONNECTIONS} static children on each transport, 2 cores shared by all`, rows);
} finally {
  for (const c of children) c.kill("SIGTERM");
  for (const s of serves) await s.stop();
  await tcp.stop();
  await unix.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
