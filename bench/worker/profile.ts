// Where the Worker path spends its CPU: runs `edgepass dev` with --inspector-port, drives N
// requests for a PHP page through it, and records a V8 CPU profile of the Worker over the
// inspector (workerd's, as in Chrome DevTools). Prints the functions with the most self time
// and writes the .cpuprofile for DevTools.
// `npx tsx bench/worker/profile.ts [--pooled] [--log-off] [--path /big.php] [--requests 40]
// [--concurrency 4] [--post BYTES] [--out f.cpuprofile]`; --post sends each request as a POST
// with a body of that many bytes (an upload: --path /echo.php --post 4194304).
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { WebSocket } from "undici";
import { freePort, publicCopy, startPhpFpm } from "../../test/helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor } from "../../test/helpers/process.js";
import { gatewayPhpConfig } from "../lib.js";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const pool = process.argv.includes("--pooled") ? "pooled" : "direct";
const target = arg("--path", "/big.php");
const requests = Number(arg("--requests", "40"));
const concurrency = Number(arg("--concurrency", "4"));
const out = arg("--out", "");
const post = Number(arg("--post", "0"));
const upload = post > 0 ? Buffer.alloc(post, 0x61) : null;

const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: 4 });
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-profile-"));
// --log-off: without the access log line (what it costs a request).
const logOff = process.argv.includes("--log-off") ? `[gateway]\nlog = "off"\n\n` : "";
writeFileSync(path.join(dir, "site.toml"), logOff + gatewayPhpConfig({ fpmPort: fpm.port, www, pool, workers: 4 }));
const inspectorPort = await freePort();
const run = edgepass(["dev", "--config", "site.toml", "--port", "0", "--inspector-port", String(inspectorPort)], dir);
const [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/);

const fetchOnce = () =>
  new Promise<number>((resolve, reject) =>
    request(`${base}${target}`, upload ? { method: "POST", headers: { "content-type": "application/octet-stream", "content-length": upload.length } } : {}, (res) => {
      let n = 0;
      res.on("data", (d: Buffer) => (n += d.length));
      res.on("end", () => resolve(n));
    })
      .on("error", reject)
      .end(upload),
  );

try {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string; title?: string; id?: string }>;
  // The pool object runs in its own isolate when pooled; profile every isolate listed.
  const sockets = await Promise.all(
    targets.map(
      (t) =>
        new Promise<WebSocket>((ok, fail) => {
          const ws = new WebSocket(t.webSocketDebuggerUrl);
          ws.addEventListener("open", () => ok(ws), { once: true });
          ws.addEventListener("error", fail, { once: true });
        }),
    ),
  );
  let id = 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const call = (ws: WebSocket, method: string, params: object = {}) =>
    new Promise<any>((ok) => {
      const my = ++id;
      const on = (m: { data: unknown }) => {
        const msg = JSON.parse(String(m.data));
        if (msg.id === my) {
          ws.removeEventListener("message", on);
          ok(msg.result);
        }
      };
      ws.addEventListener("message", on);
      ws.send(JSON.stringify({ id: my, method, params }));
    });
  for (let i = 0; i < 3; i++) await fetchOnce();
  for (const ws of sockets) {
    await call(ws, "Profiler.enable");
    await call(ws, "Profiler.setSamplingInterval", { interval: 100 });
    await call(ws, "Profiler.start");
  }
  const t0 = performance.now();
  let left = requests;
  let bytes = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) {
      const n = await fetchOnce();
      bytes += n;
    }
  }));
  const ms = performance.now() - t0;
  console.log(`${requests} × ${target} (${pool}), ${concurrency} at a time: ${ms.toFixed(0)} ms, ${(bytes / requests).toFixed(0)} B each, ${((requests * 1000) / ms).toFixed(1)} req/s`);
  for (const [k, ws] of sockets.entries()) {
    const { profile } = await call(ws, "Profiler.stop");
    if (out) writeFileSync(sockets.length > 1 ? out.replace(/(\.cpuprofile)?$/, `.${k}.cpuprofile`) : out, JSON.stringify(profile));
    const self = new Map<string, number>();
    const dt = new Map<number, number>();
    profile.samples.forEach((s: number, i: number) => dt.set(s, (dt.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    let total = 0;
    for (const n of profile.nodes) {
      const cf = n.callFrame;
      const key = `${cf.functionName || "(anonymous)"} ${cf.url.split("/").slice(-1)[0]}:${cf.lineNumber + 1}`;
      const us = dt.get(n.id) ?? 0;
      total += us;
      self.set(key, (self.get(key) ?? 0) + us);
    }
    console.log(`\nisolate ${k} (${targets[k].title ?? targets[k].id}): ${(total / 1000).toFixed(0)} ms sampled`);
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`);
    ws.close();
  }
} finally {
  run.child.kill("SIGTERM");
  await run.exit;
  await fpm.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
}
