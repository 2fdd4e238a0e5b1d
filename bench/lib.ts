// Shared by the benchmarks: a warm-up-then-measure timer, a plain table printer, the reference
// servers' configs, the relay floors' pre-encoded requests, and a wrk run with the CPU time the
// server spent on it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { encodeRequest } from "./anchors/fastcgi-plain.js";

/** Median nanoseconds per call over several timed batches, after a warm-up. */
export function timeIt(fn: () => unknown, batchMs = 300, batches = 7): number {
  let sink = 0;
  const start = performance.now();
  while (performance.now() - start < 200) sink += Number(fn()) || 0;
  let per = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < per; i++) sink += Number(fn()) || 0;
    if (performance.now() - t > batchMs / 4) break;
    per *= 2;
  }
  const results: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) sink += Number(fn()) || 0;
    results.push(((performance.now() - t) * 1e6) / per);
  }
  if (sink === -1) console.log(sink);
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

export function table(title: string, rows: Array<Record<string, string>>): void {
  console.log(`\n${title}\n`);
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(width[i])).join(" | ") + " |";
  console.log(line(cols));
  console.log("|" + width.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

/** Operations per second of each function, measured in alternating rounds: all functions are
 *  warmed up, each is timed once per round in turn, and each figure is the median of `rounds`
 *  rounds, so drift on a shared machine hits every contender alike. */
export function alternate(fns: Record<string, () => unknown>, rounds = 9, batchMs = 80): Record<string, number> {
  let sink = 0;
  const names = Object.keys(fns);
  const per: Record<string, number> = {};
  for (const name of names) {
    const fn = fns[name];
    const start = performance.now();
    while (performance.now() - start < 150) sink += Number(fn()) || 0;
    let n = 1;
    for (;;) {
      const t = performance.now();
      for (let i = 0; i < n; i++) sink += Number(fn()) || 0;
      if (performance.now() - t > batchMs) break;
      n *= 2;
    }
    per[name] = n;
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const fn = fns[name];
      const n = per[name];
      const t = performance.now();
      for (let i = 0; i < n; i++) sink += Number(fn()) || 0;
      samples[name].push((n * 1000) / (performance.now() - t));
    }
  }
  if (sink === -1) console.log(sink);
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** nginx's config around one `http` block's contents (`http`: its upstreams and servers):
 *  one worker (run as root, its workers as nobody), its pid, error log and temporary files in
 *  `dir`, and with `accessLog` a line for every request, buffered as edgepass buffers its
 *  request lines (64 KiB or 10 ms), else none. */
export function nginxConfig(dir: string, http: string, o: { accessLog?: boolean } = {}): string {
  const isRoot = process.getuid?.() === 0;
  return `${isRoot ? "user nobody nogroup;" : ""}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log ${o.accessLog ? `${dir}/access.log combined buffer=64k flush=10ms` : "off"};
  client_body_temp_path ${dir}/body; fastcgi_temp_path ${dir}/fcgi; proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

/** nginx in front of php-fpm the way a PHP site runs it: one worker, fastcgi_pass with the
 *  stock fastcgi_params. With `keepalive`, an upstream pool of that many idle connections
 *  (fastcgi_keep_conn on), each closed after 1 s idle; with `returnPath`, a location nginx
 *  answers itself (200 "ok"), with no origin behind it; with `accessLog`, a line for every
 *  request (nginx's default, and edgepass's), buffered as edgepass buffers its request lines
 *  (64 KiB or 10 ms), else none. `listen`: what follows the address ("ssl http2"); `server`:
 *  more directives for the server block. */
export function nginxPhpConfig(o: {
  dir: string;
  port: number;
  www: string;
  /** php-fpm's address as nginx names it: "127.0.0.1:PORT" or "unix:/path". */
  fpmAddress: string;
  keepalive?: number;
  returnPath?: string;
  accessLog?: boolean;
  listen?: string;
  server?: string[];
  cachedPrefix?: string;
}): string {
  const pool = o.keepalive ? `upstream php { server ${o.fpmAddress}; keepalive ${o.keepalive}; keepalive_timeout 1s; }` : "";
  const pass = o.keepalive ? "fastcgi_keep_conn on;\n      fastcgi_pass php;" : `fastcgi_pass ${o.fpmAddress};`;
  // With `cachedPrefix`: PHP under it is kept a minute in fastcgi_cache (in memory and a file).
  const cache = o.cachedPrefix ? `  fastcgi_cache_path ${o.dir}/cache levels=1:2 keys_zone=bench:4m inactive=10m;\n` : "";
  const cachedLocation = o.cachedPrefix
    ? `\n    location ^~ ${o.cachedPrefix} {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_cache bench;
      fastcgi_cache_key "$scheme$request_method$host$request_uri";
      fastcgi_cache_valid 200 1m;
      fastcgi_cache_lock on;
      ${pass}
    }`
    : "";
  return nginxConfig(
    o.dir,
    `${cache}  ${pool}
  server {
    listen 127.0.0.1:${o.port}${o.listen ? ` ${o.listen}` : ""};${(o.server ?? []).map((l) => `\n    ${l}`).join("")}
    root ${o.www};${o.returnPath ? `\n    location = ${o.returnPath} { default_type text/plain; return 200 "ok\\n"; }` : ""}${cachedLocation}
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      ${pass}
    }
  }
`,
    { accessLog: o.accessLog },
  );
}

/** An edgepass config forwarding *.php to one php-fpm: pooled (the default; max_connections =
 *  pm.max_children, as the README says — a larger pool would pin every worker with idle
 *  connections and starve other clients) or direct (a new connection per request). */
export function gatewayPhpConfig(o: { fpmPort: number; www: string; pool: "pooled" | "direct"; workers: number }): string {
  return (
    `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${o.fpmPort}"]\npool = "${o.pool}"\n` +
    (o.pool === "pooled" ? `max_connections = ${o.workers}\nidle_timeout = "1s"\nqueue = 1000\n` : "") +
    `\n[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${o.www}"\n`
  );
}

/** What nginx's fastcgi_params would send for a GET of `script` under `www`, as one encoded
 *  FastCGI request (base64), for the raw relay floors. */
export function preEncoded(www: string, script: string, query: string, keepConn: boolean): string {
  const uri = `/${script}${query ? `?${query}` : ""}`;
  const params: Array<[string, string]> = [
    ["SCRIPT_FILENAME", path.join(www, script)], ["SCRIPT_NAME", `/${script}`], ["DOCUMENT_ROOT", www],
    ["REQUEST_METHOD", "GET"], ["REQUEST_URI", uri], ["QUERY_STRING", query], ["SERVER_PROTOCOL", "HTTP/1.1"],
    ["GATEWAY_INTERFACE", "CGI/1.1"], ["SERVER_SOFTWARE", "floor"], ["REMOTE_ADDR", "127.0.0.1"],
    ["SERVER_NAME", "127.0.0.1"], ["SERVER_PORT", "80"], ["HTTP_HOST", "127.0.0.1"],
  ];
  return Buffer.from(encodeRequest(1, params, new Uint8Array(0), keepConn)).toString("base64");
}

/** Runs wrk and resolves with what it printed, without blocking this process's event loop:
 *  a gateway's log lines come to the bench through a pipe, which must be read while wrk runs. */
export function wrkOutput(wrk: string, args: string[]): Promise<string> {
  const child = spawn(wrk, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  return new Promise((resolve) => child.on("close", () => resolve(out)));
}

const HZ = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime + stime of `pid` and every process under it (nginx's worker, HAProxy's), in seconds. */
export function cpuSeconds(pid: number): number {
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
  return ticks / HZ;
}

/** wrk's "812.34us", "10.32ms", "1.39s" in ms. */
export function wrkMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? "");
  if (!m) return NaN;
  return Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3, m: 60e3 }[m[2] as "us" | "ms" | "s" | "m"];
}

export const msText = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);

export interface WrkResult {
  rps: number;
  /** Latency percentiles in ms. */
  p50: number;
  p99: number;
  /** The server's CPU time per request (cpuSeconds of `pid`, over the requests wrk counted). */
  cpuUs: number;
  /** The origin's CPU time per request (cpuSeconds of `originPid`), when one was given. */
  originCpuUs?: number;
  errors: string;
}

/** A table row's cells for one server's rounds: the medians, and any errors by round.
 *  `cpuColumn` names the CPU-per-request column. */
export function medianCells(rs: WrkResult[], cpuColumn: string): Record<string, string> {
  const errors = rs.map((r, i) => (r.errors === "none" ? "" : `round ${i + 1}: ${r.errors}`)).filter(Boolean);
  return {
    "req/s": median(rs.map((r) => r.rps)).toFixed(0),
    p50: msText(median(rs.map((r) => r.p50))),
    p99: msText(median(rs.map((r) => r.p99))),
    [cpuColumn]: `${median(rs.map((r) => r.cpuUs)).toFixed(0)} µs`,
    ...(rs[0]?.originCpuUs === undefined ? {} : { "php-fpm CPU/req": `${median(rs.map((r) => r.originCpuUs!)).toFixed(0)} µs` }),
    errors: errors.join("; ") || "none",
  };
}

/** One wrk -t1 run with latency percentiles against `url`, and what `pid` spent on it. */
/** `script`: a wrk Lua script (a request of another shape than a GET, say). */
export async function wrkRun(wrk: string, url: string, pid: number, connections: number, seconds: number, script?: string, originPid?: number): Promise<WrkResult> {
  const before = cpuSeconds(pid);
  const originBefore = originPid ? cpuSeconds(originPid) : 0;
  const out = await wrkOutput(wrk, ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", ...(script ? ["-s", script] : []), url]);
  const cpu = cpuSeconds(pid) - before;
  const originCpu = originPid ? cpuSeconds(originPid) - originBefore : NaN;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => wrkMs(new RegExp(`\\s${p}%\\s+([\\d.]+\\w+)`).exec(out)?.[1]);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1];
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: pct("50"),
    p99: pct("99"),
    cpuUs: (cpu / requests) * 1e6,
    ...(originPid ? { originCpuUs: (originCpu / requests) * 1e6 } : {}),
    errors: [non2xx && `non-2xx ${non2xx}`, sockErr && `socket ${sockErr}`].filter(Boolean).join("; ") || "none",
  };
}
