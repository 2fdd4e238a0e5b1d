// Uploads over HTTP/2 from a client far away: a 4 MiB POST (with its Content-Length) to php-fpm,
// one alone and four at once on one connection, through a relay that delays every piece by
// 25 ms each way (a 50 ms round trip), against edgepass serve (h2c; with its default stream
// window, and with http2_window = "1m") and nginx (`listen … http2`, cleartext, prior knowledge)
// in front of the same php-fpm in the same run. HTTP/2's flow control is end to end, so what a
// server's windows allow per round trip decides the time; the relay itself reads as fast as it
// is written to (it models the delay, not a TCP window). The median of BENCH_ROUNDS (3) rounds
// whose order alternates. Not part of `npm test`:
// `npm run bench upload-rtt`. Needs nginx (npm run setup:bench).
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { discardStdout, repoRoot, startServe } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { median, nginxPhpConfig, table } from "./lib.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONE_WAY_MS = 25;
const SIZE = 4 * 1024 * 1024;

const nginxBin = findProgram("nginx", "nginx-light");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
// Enough children for every gateway's kept connections at once (8 each), so none waits for
// another's idle ones.
const fpm = await startPhpFpm({ maxChildren: 24 });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-upload-rtt-"));
chmodSync(dir, 0o755);

const nginxPort = await freePort();
writeFileSync(
  path.join(dir, "nginx.conf"),
  nginxPhpConfig({
    dir,
    port: nginxPort,
    www,
    fpmAddress: `127.0.0.1:${fpm.port}`,
    keepalive: 8,
    listen: "http2", // cleartext HTTP/2 on Debian 12's nginx 1.22; later ones write "http2 on;"
    server: ["client_max_body_size 100m;"],
  }),
);

/** A relay on a free port to `port` that holds every piece ONE_WAY_MS before passing it on. */
async function delayRelay(port: number): Promise<{ port: number; close: () => void }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((a) => {
    const b = net.connect(port, "127.0.0.1");
    socks.add(a).add(b);
    const pass = (from: net.Socket, to: net.Socket) => {
      from.on("data", (d) => void setTimeout(() => to.write(d), ONE_WAY_MS));
      from.on("end", () => void setTimeout(() => to.end(), ONE_WAY_MS));
      from.on("error", () => to.destroy());
    };
    pass(a, b);
    pass(b, a);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, close: () => (server.close(), socks.forEach((s) => s.destroy())) };
}

/** `n` uploads at once on one new HTTP/2 connection to `port`; seconds until the last answer. */
async function uploads(port: number, n: number): Promise<number> {
  const body = Buffer.alloc(SIZE, 7);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const started = performance.now();
  try {
    const statuses = await Promise.all(
      Array.from({ length: n }, () => new Promise<number>((resolve) => {
        const st = session.request({ ":method": "POST", ":path": "/echo.php", "content-type": "application/octet-stream", "content-length": SIZE });
        let status = 0;
        st.on("response", (h) => (status = Number(h[":status"])));
        st.on("error", () => {});
        st.resume();
        st.on("close", () => resolve(status));
        st.end(body);
      })),
    );
    if (statuses.some((s) => s !== 200)) throw new Error(`statuses ${statuses.join(", ")}`);
    return (performance.now() - started) / 1000;
  } finally {
    session.close();
  }
}

const children: ChildProcess[] = [];
const relays: Array<{ close: () => void }> = [];
const site = (serveLines: string) =>
  `[serve]\nh2c = true\n${serveLines}\n[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n\n[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`;
const serve = await startServe(site(""));
discardStdout(serve.run);
// The same with each stream's window at 1 MiB ([serve] http2_window).
const wide = await startServe(site('http2_window = "1m"'));
discardStdout(wide.run);
try {
  const nginx = spawn(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "inherit", "inherit"] });
  children.push(nginx);
  await waitForPort(nginxPort, 10_000, nginx, "nginx");
  const gateways = [
    { name: "edgepass serve (h2c)", port: Number(new URL(serve.base).port) },
    { name: 'edgepass serve, http2_window = "1m"', port: Number(new URL(wide.base).port) },
    { name: "nginx (http2)", port: nginxPort },
  ];
  const relayed = new Map<string, number>();
  for (const g of gateways) {
    const r = await delayRelay(g.port);
    relays.push(r);
    relayed.set(g.name, r.port);
    await uploads(r.port, 1); // warm-up
  }
  const rows: Array<Record<string, string>> = [];
  for (const n of [1, 4]) {
    const results = new Map<string, number[]>(gateways.map((g) => [g.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) results.get(g.name)!.push(await uploads(relayed.get(g.name)!, n));
    }
    const nginxS = median(results.get("nginx (http2)")!);
    for (const g of gateways) {
      const s = median(results.get(g.name)!);
      rows.push({
        uploads: `${n} × 4 MiB on one connection`,
        gateway: g.name,
        seconds: s.toFixed(2),
        "MB/s": ((n * SIZE) / s / 1e6).toFixed(1),
        "time / nginx": (s / nginxS).toFixed(1) + "x",
        rounds: results.get(g.name)!.map((x) => x.toFixed(2)).join(" / "),
      });
    }
  }
  table(`HTTP/2 uploads across a ${2 * ONE_WAY_MS} ms round trip, ${ROUNDS} rounds (median), php-fpm's echo.php reading each body`, rows);
} finally {
  for (const r of relays) r.close();
  for (const c of children) c.kill("SIGTERM");
  await serve.stop();
  await wide.stop();
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
}
