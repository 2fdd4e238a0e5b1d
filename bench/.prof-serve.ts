import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { publicCopy, startPhpFpm, waitForPort, freePort } from "../test/helpers/php-fpm.js";
import { repoRoot } from "../test/helpers/process.js";
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
const fpm = await startPhpFpm({ maxChildren: 32 });
const dir = mkdtempSync(path.join(tmpdir(), "prof-"));
const port = await freePort();
writeFileSync(path.join(dir, "site.toml"), (process.env.EXTRA ?? "").replace(/\\n/g, "\n") + `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\nmax_connections = 32\nidle_timeout = "1s"\n\n[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`);
const prof = process.env.PROF === "1";
const args = [...(prof ? ["--cpu-prof", "--cpu-prof-interval", "100", `--cpu-prof-dir=${dir}`] : []), ...(process.env.BUNDLE ? [process.env.BUNDLE] : ["--import", path.join(repoRoot, "node_modules/tsx/dist/loader.mjs"), path.join(repoRoot, "src/adapter/node/cli/main.ts")]), "serve", "--config", "site.toml", "--port", String(port)];
const c = spawn(process.execPath, args, { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
await waitForPort(port, 20000, c, "serve");
const target = process.env.TARGET ?? "/status.php?code=200";
spawnSync("wrk", ["-t1", "-c32", "-d2s", `http://127.0.0.1:${port}${target}`]);
const pstat = () => { const f = readFileSync(`/proc/${c.pid}/stat`, "utf8").split(") ")[1].split(" "); console.log("utime", f[11], "stime", f[12]); return (Number(f[11]) + Number(f[12])) / 100; };
const b = pstat();
const r = spawnSync("wrk", ["-t1", "-c32", `-d${process.env.SECS ?? 6}s`, "--timeout", "10s", "--latency", `http://127.0.0.1:${port}${target}`], { encoding: "utf8" });
const cpu = pstat() - b;
const reqs = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
console.log(r.stdout.split("\n").filter((l) => /Req\/Sec|Latency|99%|50%|requests in|Requests\/sec|Non-2xx|Socket/.test(l)).join("\n"));
console.log("CPU/req us", ((cpu / reqs) * 1e6).toFixed(0));
if (process.env.HOLD) { console.log("PID", c.pid, "PORT", port); await new Promise((r) => setTimeout(r, Number(process.env.HOLD) * 1000)); }
c.kill("SIGINT");
await new Promise((res) => c.on("exit", res));
await fpm.stop();
if (prof) {
  const f = readdirSync(dir).find((n) => n.endsWith(".cpuprofile"))!;
  const p = JSON.parse(readFileSync(path.join(dir, f), "utf8"));
  const self = new Map<string, number>();
  const byId = new Map<number, any>(p.nodes.map((n: any) => [n.id, n]));
  const dt = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0;
  for (const [id, t] of dt) { const n = byId.get(id); const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + t); total += t; }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45));
  for (const [k, t] of top) console.log(((t / total) * 100).toFixed(1).padStart(5), k);
  console.log("profile", path.join(dir, f));
}
