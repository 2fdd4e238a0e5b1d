// End to end: wrk → edgepass dev (miniflare/workerd) → php-fpm, against the anchor it
// replaces, wrk → nginx → the same php-fpm, measured in the same run on the same script.
// Not part of `npm test`: run with `npm run bench`. Needs nginx and wrk (npm run setup:bench).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, publicCopy, startPhpFpm, waitForPort } from "../test/helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor } from "../test/helpers/process.js";
import { findProgram } from "../test/helpers/servers/launch.js";
import { Miniflare } from "miniflare";
import { table } from "./lib.js";

const DURATION = process.env.BENCH_SECONDS ?? "8";
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

const wrk = findProgram("wrk", "wrk");
const nginxBin = findProgram("nginx", "nginx");
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: 4 });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-bench-"));

// nginx the way a PHP site runs it: fastcgi_pass with the stock fastcgi_params.
const nginxPort = await freePort();
const isRoot = process.getuid?.() === 0;
writeFileSync(
  path.join(dir, "nginx.conf"),
  `${isRoot ? "user nobody nogroup;" : ""}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; fastcgi_temp_path ${dir}/fcgi; proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${nginxPort};
    root ${www};
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_pass 127.0.0.1:${fpm.port};
    }
  }
}
`,
);
const nginx = spawn(nginxBin, ["-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "inherit" });
await waitForPort(nginxPort, 10_000, nginx, "nginx");

writeFileSync(
  path.join(dir, "edgepass.toml"),
  `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n\n[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`,
);
const gw = edgepass(["dev", "--config", "edgepass.toml", "--port", "0"], dir);
const [, gwUrl] = await waitFor(gw, /listening on (http:\/\/127\.0\.0\.1:\d+)/);

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

function runWrk(url: string): Result {
  const r = spawnSync(wrk, ["-t2", `-c${CONNECTIONS}`, `-d${DURATION}s`, "--latency", url], { encoding: "utf8" });
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => new RegExp(`\\s${p}%\\s+([\\d.]+\\w+)`).exec(out)?.[1] ?? "?";
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0";
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
  return { rps, p50: pct("50"), p99: pct("99"), errors: `non-2xx ${non2xx}; socket ${sockErr}` };
}

try {
  const ceiling = runWrk(`http://127.0.0.1:${helloPort}/`);
  const rows = [];
  for (const [name, target] of [
    ["small PHP page (status.php)", "/status.php?code=200"],
    ["4 MiB PHP response (big.php)", "/big.php"],
  ] as const) {
    const ng = runWrk(`http://127.0.0.1:${nginxPort}${target}`);
    const ep = runWrk(`${gwUrl}${target}`);
    rows.push({
      case: name,
      "nginx → php-fpm": `${ng.rps.toFixed(0)} req/s (p50 ${ng.p50}, p99 ${ng.p99})`,
      "edgepass dev → php-fpm": `${ep.rps.toFixed(0)} req/s (p50 ${ep.p50}, p99 ${ep.p99})`,
      "edgepass / nginx": `${(ep.rps / ng.rps).toFixed(2)}x`,
      "edgepass / empty Worker": `${(ep.rps / ceiling.rps).toFixed(2)}x`,
      "edgepass errors": ep.errors,
    });
  }
  console.log(`\nAnchor: an empty Worker under the same miniflare answers ${ceiling.rps.toFixed(0)} req/s (p50 ${ceiling.p50}, p99 ${ceiling.p99}).`);
  table(`Throughput, wrk -t2 -c${CONNECTIONS} -d${DURATION}s on one machine (2 cores shared by wrk, gateway and php-fpm)`, rows);
} finally {
  gw.child.kill("SIGTERM");
  await hello.dispose();
  nginx.kill("SIGTERM");
  await gw.exit;
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
