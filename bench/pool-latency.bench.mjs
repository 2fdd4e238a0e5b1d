// Latency of pooled vs direct FastCGI upstreams where pooling matters: a 20 ms round trip
// between gateway and origin. Builds a network namespace with a veth pair whose two ends
// each delay packets 10 ms (tc netem), runs the demo FastCGI origin (or php-fpm, --origin
// php-fpm) inside it and `edgepass dev` outside, and times the same requests through a
// pooled and a direct upstream. Expectation: pooled ≈ 1 RTT per request (the request on a
// kept connection), direct ≈ 2 RTT (TCP handshake, then the request).
//
// A kernel without sch_netem ("Specified qdisc kind is unknown") gets the same 10 ms each way
// from a userspace delay line between two TUN devices (bench/tun-delay.py) instead of veth;
// the report says which one ran.
//
//   sudo node bench/pool-latency.bench.mjs [--requests N] [--concurrency C] [--origin demo|php-fpm]
//
// Needs root (or CAP_NET_ADMIN) for `ip netns`; without it, says why and exits 1. Never part
// of `npm test`. Everything it creates is removed on exit, Ctrl-C included.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    requests: { type: "string", default: "300" },
    concurrency: { type: "string", default: "4" },
    origin: { type: "string", default: "demo" },
    delay: { type: "string", default: "10" },
  },
});
const REQUESTS = Math.min(Number(opts.requests), 5000);
const CONCURRENCY = Math.min(Number(opts.concurrency), 64);
const ONE_WAY_MS = Number(opts.delay);
const REQUEST_TIMEOUT_MS = 10_000;

const tag = String(process.pid % 100000);
const NS = `ep-bench-${tag}`;
const HOST_IF = `epb${tag}a`;
const NS_IF = `epb${tag}b`;
const NET = `10.213.${process.pid % 250}`;
const HOST_IP = `${NET}.1`;
const ORIGIN_IP = `${NET}.2`;
const ORIGIN_PORT = 9000;

const children = [];
let workDir;
let netCreated = false;

function sh(cmd, args, { quiet = false } = {}) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (quiet) return "";
    const err = new Error(`${cmd} ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
    throw err;
  }
}

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  if (netCreated) {
    sh("ip", ["netns", "del", NS], { quiet: true });
    sh("ip", ["link", "del", HOST_IF], { quiet: true });
    netCreated = false;
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}

let link = "veth + tc netem";

function setUpNetwork() {
  try {
    sh("ip", ["netns", "add", NS]);
  } catch (e) {
    console.error(`pool-latency: cannot create a network namespace (${e.message}).`);
    console.error("This benchmark needs root or CAP_NET_ADMIN for `ip netns`, veth and `tc netem`; run it with sudo.");
    process.exit(1);
  }
  netCreated = true;
  sh("ip", ["netns", "exec", NS, "ip", "link", "set", "lo", "up"]);
  let netem = true;
  try {
    sh("ip", ["netns", "exec", NS, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"]);
    sh("ip", ["netns", "exec", NS, "tc", "qdisc", "del", "dev", "lo", "root"]);
  } catch (e) {
    if (!/unknown/i.test(e.message)) throw e;
    netem = false;
  }
  return netem ? vethNetem() : tunDelayLine();
}

async function vethNetem() {
  sh("ip", ["link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF]);
  sh("ip", ["link", "set", NS_IF, "netns", NS]);
  sh("ip", ["addr", "add", `${HOST_IP}/24`, "dev", HOST_IF]);
  sh("ip", ["link", "set", HOST_IF, "up"]);
  sh("ip", ["netns", "exec", NS, "ip", "addr", "add", `${ORIGIN_IP}/24`, "dev", NS_IF]);
  sh("ip", ["netns", "exec", NS, "ip", "link", "set", NS_IF, "up"]);
  // Both directions: 10 ms each way, a 20 ms round trip.
  sh("tc", ["qdisc", "add", "dev", HOST_IF, "root", "netem", "delay", `${ONE_WAY_MS}ms`]);
  sh("ip", ["netns", "exec", NS, "tc", "qdisc", "add", "dev", NS_IF, "root", "netem", "delay", `${ONE_WAY_MS}ms`]);
}

async function tunDelayLine() {
  link = "TUN delay line (this kernel has no tc netem)";
  await start("python3", [path.join(root, "bench", "tun-delay.py"), HOST_IF, NS_IF, String(ONE_WAY_MS)], { ready: /ready/, what: "tun-delay.py" });
  sh("ip", ["link", "set", NS_IF, "netns", NS]);
  sh("ip", ["addr", "add", HOST_IP, "peer", ORIGIN_IP, "dev", HOST_IF]);
  sh("ip", ["link", "set", HOST_IF, "up"]);
  sh("ip", ["netns", "exec", NS, "ip", "addr", "add", ORIGIN_IP, "peer", HOST_IP, "dev", NS_IF]);
  sh("ip", ["netns", "exec", NS, "ip", "link", "set", NS_IF, "up"]);
}

function start(cmd, args, { ready, what }) {
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 60 s:\n${out}`)), 60_000);
    const check = () => {
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        child.stdout.off("data", check);
        resolve(m);
      }
    };
    child.stdout.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}

/** Resolves once something accepts TCP connections on ORIGIN_IP:ORIGIN_PORT (bounded). */
async function waitForOrigin(what) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(ORIGIN_PORT, ORIGIN_IP);
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${ORIGIN_IP}:${ORIGIN_PORT} within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startOrigin() {
  if (opts.origin === "php-fpm") {
    // php-fpm's workers run as nobody when we are root: the script must be world-readable.
    chmodSync(workDir, 0o755);
    const script = path.join(workDir, "index.php");
    writeFileSync(script, "<?php header('Content-Type: text/plain'); echo 'hello from php-fpm ', $_SERVER['REQUEST_URI'], \"\\n\";\n");
    chmodSync(script, 0o644);
    const isRoot = process.getuid?.() === 0;
    const conf = path.join(workDir, "php-fpm.conf");
    writeFileSync(
      conf,
      [
        "[global]",
        `error_log = ${path.join(workDir, "fpm.log")}`,
        "daemonize = no",
        "[bench]",
        `listen = ${ORIGIN_IP}:${ORIGIN_PORT}`,
        ...(isRoot ? ["user = nobody", "group = nogroup"] : []),
        "pm = static",
        "pm.max_children = 8",
        "",
      ].join("\n"),
    );
    const bin = sh("sh", ["-c", "command -v php-fpm || ls /usr/sbin/php-fpm* | tail -1"]).trim();
    if (!bin) throw new Error("php-fpm is not installed (npm run setup:test installs it)");
    start("ip", ["netns", "exec", NS, bin, "--nodaemonize", "--fpm-config", conf, ...(isRoot ? ["--allow-to-run-as-root"] : [])], {
      ready: /(?!)/,
      what: "php-fpm",
    }).catch(() => {});
    await waitForOrigin("php-fpm");
    return { root: workDir, note: "php-fpm (pm.max_children = 8)" };
  }
  const tsx = path.join(root, "node_modules", ".bin", "tsx");
  await start("ip", ["netns", "exec", NS, tsx, "demo/origin.ts", "--host", ORIGIN_IP, "--port", String(ORIGIN_PORT)], {
    ready: /demo origin: FastCGI on/,
    what: "demo origin",
  });
  return { root: null, note: "the demo FastCGI origin" };
}

function config(originRoot) {
  const rootLine = originRoot ? `root = "${originRoot}"\nscript = "/index.php"\n` : "";
  return `[gateway]
admin_path = "/_edgepass/pools"

[upstreams.pooled]
protocol = "fastcgi"
servers = ["${ORIGIN_IP}:${ORIGIN_PORT}"]
pool = "pooled"
max_connections = ${Math.max(CONCURRENCY, 1)}
idle_timeout = "30s"

[upstreams.direct]
protocol = "fastcgi"
servers = ["${ORIGIN_IP}:${ORIGIN_PORT}"]
pool = "direct"

[[routes]]
match = "^~ /pooled/"
upstream = "pooled"
${rootLine}
[[routes]]
match = "^~ /direct/"
upstream = "direct"
${rootLine}`;
}

async function timed(url) {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}: status ${res.status}`);
  return ms;
}

/** `count` requests to `prefix`, at most CONCURRENCY at once. */
async function run(base, prefix, count) {
  const times = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        times.push(await timed(`${base}/${prefix}/r${i}`));
      }
    }),
  );
  return times;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

function summary(times) {
  const s = [...times].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function main() {
  await setUpNetwork();
  workDir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-"));
  const origin = await startOrigin();
  writeFileSync(path.join(workDir, "bench.toml"), config(origin.root));
  const [, base] = await start(process.execPath, [path.join(root, "bin/edgepass.mjs"), "dev", "--config", path.join(workDir, "bench.toml"), "--port", "0"], {
    ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    what: "edgepass dev",
  });
  const ping = sh("ping", ["-c", "5", "-i", "0.2", "-q", ORIGIN_IP], { quiet: true }).match(/= [\d.]+\/([\d.]+)\//);

  // Warm up both paths (workerd, the pool's connections, the origin).
  await run(base, "pooled", CONCURRENCY * 3);
  await run(base, "direct", CONCURRENCY * 3);

  // Alternate rounds so drift hits both alike.
  const rounds = 5;
  const per = Math.ceil(REQUESTS / rounds);
  const pooled = [];
  const direct = [];
  for (let r = 0; r < rounds; r++) {
    pooled.push(...(await run(base, "pooled", per)));
    direct.push(...(await run(base, "direct", per)));
  }
  const p = summary(pooled);
  const d = summary(direct);
  const rtt = ping ? Number(ping[1]) : 2 * ONE_WAY_MS;
  const f = (x) => x.toFixed(1).padStart(7);
  console.log(`\nedgepass pool latency: gateway (edgepass dev, workerd) → ${origin.note} across a ${rtt.toFixed(1)} ms RTT (ping; ${ONE_WAY_MS} ms each way by ${link})`);
  console.log(`${p.n} requests per mode, ${CONCURRENCY} at a time, ${rounds} alternating rounds\n`);
  console.log("mode      p50 ms  p99 ms  mean ms   p50/RTT");
  console.log(`pooled   ${f(p.p50)} ${f(p.p99)} ${f(p.mean)}   ${(p.p50 / rtt).toFixed(2)}`);
  console.log(`direct   ${f(d.p50)} ${f(d.p99)} ${f(d.mean)}   ${(d.p50 / rtt).toFixed(2)}`);
  console.log(`\ndirect/pooled: p50 ${(d.p50 / p.p50).toFixed(2)}x, p99 ${(d.p99 / p.p99).toFixed(2)}x`);
  console.log("anchors: 1 RTT = a request on a kept connection; 2 RTT = TCP handshake + request");
  const stats = await (await fetch(`${base}/_edgepass/pools`)).json();
  const shard = stats.upstreams.pooled.shards[0];
  console.log(`pooled upstream: ${shard.served} requests over ${shard.servers[0].opened} connections (${shard.retried} retried)`);
}

try {
  await main();
} catch (e) {
  console.error(`pool-latency: ${e.message}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
