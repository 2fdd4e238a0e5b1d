// `edgepass serve` against the two servers people put in front of php-fpm instead, and a relay
// with no gateway in it, in the same run on the same php-fpm: wrk -t1 -c32 → edgepass serve
// (pooled, one process) → php-fpm, → nginx (one worker; fastcgi_keep_conn and an upstream
// keepalive pool) → php-fpm, → HAProxy (fcgi-app, keep-conn, one thread) → php-fpm, and → the
// Node relay floor (serve/floor.mjs) → php-fpm; a small page, the same page cached by each
// (no floor row), a 1 KiB form POST to it, a
// 256 KiB upload (no floor row for either: the floor relays GETs only) and a 4 MiB page; and a
// path each answers itself with no origin (`return`), which shows the client side apart from
// forwarding. Each row: requests/s, p50 and p99 as wrk
// measured them, the gateway's own CPU time per request (utime + stime of its processes from
// /proc, before and after the run, over the requests wrk counted) and php-fpm's, which shows
// what each gateway's way of talking to it costs the origin; each the median of
// BENCH_ROUNDS (3) rounds of BENCH_SECONDS (5) whose order alternates, after a warm-up.
// nginx and edgepass each write an access log line per request, buffered (their defaults log
// every request); HAProxy logs nothing (it logs only to a syslog server it is given).
// Not part of `npm test`: `npm run bench serve`. Needs nginx, haproxy and wrk (npm run setup:bench).
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chmodTree, freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, repoRoot, startServe } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { medianCells, msText, nginxPhpConfig, preEncoded, table, wrkRun, type WrkResult } from "./lib.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
// One php-fpm child per client connection, so no gateway's kept connections can starve
// another's turn, and every gateway may keep as many as it has clients.
const PHP_CHILDREN = CONNECTIONS;

const wrk = findProgram("wrk", "wrk");
const nginxBin = findProgram("nginx", "nginx-light");
const haproxyBin = findProgram("haproxy", "haproxy");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
// BENCH_FPM=unix: php-fpm on a Unix socket (what the README advises, and Debian's default)
// instead of a loopback port, for every gateway.
const UNIX = process.env.BENCH_FPM === "unix";
const fpm = await startPhpFpm({ maxChildren: PHP_CHILDREN, unixSocket: UNIX });
/** php-fpm's address as edgepass and nginx name it ("unix:/path" or "127.0.0.1:port"). */
const fpmAddress = fpm.socket ? `unix:${fpm.socket}` : `127.0.0.1:${fpm.port}`;
// nginx's workers (nobody, when the bench runs as root) must reach the socket's directory.
if (fpm.socket) chmodSync(path.dirname(fpm.socket), 0o755);
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-serve-"));
// nginx's workers (nobody, when the bench runs as root) write an upload over 16 KiB to a
// temporary file under this directory, as nginx does by default.
chmodSync(dir, 0o755);

const nginxPort = await freePort();
// A path each gateway answers itself, with no origin: what its client side and its own answer
// cost, apart from forwarding.
const RETURN_PATH = "/__return";
// The small page again under a prefix each gateway caches (nginx's fastcgi_cache, HAProxy's
// cache, edgepass's route cache), kept a minute: what a cache hit costs each.
const CACHED = "/cached/";
mkdirSync(path.join(www, CACHED));
// Its answer says how long it may be kept: HAProxy keeps nothing whose head does not.
writeFileSync(path.join(www, CACHED, "status.php"), `<?php\nheader('Cache-Control: max-age=60');\nheader('Content-Type: text/plain');\necho "status 200 from php\\n";\n`);
chmodTree(www, false);
writeFileSync(
  path.join(dir, "nginx.conf"),
  nginxPhpConfig({ dir, port: nginxPort, www, fpmAddress, keepalive: CONNECTIONS, returnPath: RETURN_PATH, accessLog: true, cachedPrefix: CACHED }),
);

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
cache small
  total-max-size 64
  max-age 60
frontend web
  bind 127.0.0.1:${haproxyPort}
  http-request return status 200 content-type text/plain string "ok" if { path ${RETURN_PATH} }
  default_backend php
backend php
  http-request cache-use small if { path_beg ${CACHED} }
  http-response cache-store small
  use-fcgi-app php
  http-reuse always
  server fpm ${fpm.socket ?? `127.0.0.1:${fpm.port}`} proto fcgi maxconn ${CONNECTIONS} pool-purge-delay 1s
`,
);

const serveConfig =
  `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["${fpmAddress}"]\n` +
  `max_connections = ${CONNECTIONS}\nidle_timeout = "1s"\n\n` +
  `[[routes]]\nmatch = "= ${RETURN_PATH}"\nreturn = "200 ok"\n\n` +
  `[[routes]]\nmatch = "^~ ${CACHED}"\nupstream = "php"\nroot = "${www}"\ncache = { valid = "1m" }\n\n` +
  `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`;

// A form post as a browser sends one: 1 KiB of urlencoded fields to the small page, which
// php-fpm reads (PHP parses a form body before the script runs).
const formPost = path.join(dir, "form-post.lua");
writeFileSync(formPost, `wrk.method = "POST"\nwrk.body = string.rep("a=1&b=2&", 128)\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n`);

// An upload: 256 KiB of bytes to echo.php, which reads them all and answers their digest.
const upload = path.join(dir, "upload.lua");
writeFileSync(upload, `wrk.method = "POST"\nwrk.body = string.rep("abcdefgh", 32768)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);

// BENCH_PAGES=return, small, cached, big, post or upload runs those pages only. The floor relays one
// pre-encoded request per client request, whatever it carries, so it has no row for a POST.
const PAGES = [
  { key: "return", page: "no origin (a return)", target: RETURN_PATH, script: "", query: "", lua: undefined, floor: true },
  { key: "small", page: "small page (status.php)", target: "/status.php?code=200", script: "status.php", query: "code=200", lua: undefined, floor: true },
  { key: "cached", page: "small page, cached", target: `${CACHED}status.php?code=200`, script: "", query: "", lua: undefined, floor: false },
  { key: "post", page: "1 KiB form POST (status.php)", target: "/status.php?code=200", script: "status.php", query: "code=200", lua: formPost, floor: false },
  { key: "upload", page: "256 KiB upload (echo.php)", target: "/echo.php", script: "echo.php", query: "", lua: upload, floor: false },
  { key: "big", page: "4 MiB page (big.php)", target: "/big.php", script: "big.php", query: "", lua: undefined, floor: true },
].filter((p) => !process.env.BENCH_PAGES || process.env.BENCH_PAGES.split(",").includes(p.key));
// The Node floor: a relay with no gateway in it (bench/serve/floor.mjs), on the same php-fpm.
const floorPort = await freePort();
const floorRequests = JSON.stringify(Object.fromEntries(PAGES.filter((p) => p.floor && p.script).map((p) => [p.target, preEncoded(www, p.script, p.query, true)])));

const children: ChildProcess[] = [];
function daemon(bin: string, args: string[], env?: Record<string, string>): ChildProcess {
  const c = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit"], env: env && { ...process.env, ...env } });
  children.push(c);
  return c;
}

const runWrk = (url: string, pid: number, seconds = SECONDS, lua?: string) => wrkRun(wrk, url, pid, CONNECTIONS, seconds, lua, fpm.pid);

const serve = await startServe(serveConfig);
discardStdout(serve.run);
try {
  const nginx = daemon(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"]);
  const haproxy = daemon(haproxyBin, ["-db", "-f", path.join(dir, "haproxy.cfg")]);
  await waitForPort(nginxPort, 10_000, nginx, "nginx");
  await waitForPort(haproxyPort, 10_000, haproxy, "haproxy");
  const floor = daemon(process.execPath, [path.join(repoRoot, "bench/serve/floor.mjs"), String(floorPort), fpm.socket ?? String(fpm.port)], { REQUESTS: floorRequests, RETURN_PATH });
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
  for (const { page, target, lua, floor: withFloor } of PAGES) {
    const these = withFloor ? gateways : gateways.filter((g) => g.name !== "Node relay floor");
    const results = new Map<string, WrkResult[]>(these.map((g) => [g.name, []]));
    for (const g of these) {
      await runWrk(`${g.base}${target}`, g.pid, 2, lua); // warm-up: JIT, kept connections
      await new Promise((res) => setTimeout(res, g.settle));
    }
    // Rounds alternate the order, so no gateway always runs right after the same one.
    for (let round = 0; round < ROUNDS; round++) {
      for (const g of round % 2 === 0 ? these : [...these].reverse()) {
        const r = await runWrk(`${g.base}${target}`, g.pid, SECONDS, lua);
        results.get(g.name)!.push(r);
        console.log(`${page}, round ${round + 1}, ${g.name}: ${r.rps.toFixed(0)} req/s, p99 ${msText(r.p99)}, ${r.cpuUs.toFixed(0)} µs CPU/req, php-fpm ${r.originCpuUs!.toFixed(0)} µs/req`);
        await new Promise((res) => setTimeout(res, g.settle));
      }
    }
    for (const g of these) {
      rows.push({ page, gateway: g.name, ...medianCells(results.get(g.name)!, "gateway CPU/req") });
    }
  }
  table(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, median of ${ROUNDS} alternating rounds, one php-fpm (pm = static, ${PHP_CHILDREN} children, ${UNIX ? "on a Unix socket" : "on a loopback port"}), one gateway process each, 2 cores shared by all`, rows);
  // What edgepass serve itself said went wrong (its warn and error lines, by event).
  const events = new Map<string, number>();
  for (const line of serve.run.stderr.split("\n")) {
    const m = /"level":"(warn|error)","event":"([^"]+)"/.exec(line);
    if (m) events.set(m[2], (events.get(m[2]) ?? 0) + 1);
  }
  console.log(events.size ? `edgepass serve logged: ${[...events].map(([e, n]) => `${e} ×${n}`).join(", ")}` : "edgepass serve logged no warnings or errors");
} finally {
  for (const c of children) c.kill("SIGTERM");
  await serve.stop();
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
