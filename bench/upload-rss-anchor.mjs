// The anchor for the soak's memory figure: workerd's RSS under the same kind of upload load
// (64 KiB to 1 MiB bodies, 12 clients) when the Worker does nothing but read each body. What
// the gateway adds is the difference between this and `npm run soak -- --only upload`.
//
//   node bench/upload-rss-anchor.mjs [--seconds N]
import { execSync } from "node:child_process";
import { Miniflare } from "miniflare";

const i = process.argv.indexOf("--seconds");
const seconds = i > 0 ? Number(process.argv[i + 1]) : 90;
const script = `export default { async fetch(req) { const b = await req.arrayBuffer(); return new Response("ok " + b.byteLength); } }`;
const mf = new Miniflare({ modules: true, script, compatibilityDate: "2026-04-20", port: 0 });
const url = await mf.ready;

/** The largest RSS among workerd processes, in MiB. */
function rss() {
  let max = 0;
  for (const pid of execSync("pgrep -f 'workerd serve' || true").toString().trim().split("\n").filter(Boolean)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(execSync(`cat /proc/${pid}/status 2>/dev/null`).toString());
      if (m) max = Math.max(max, Number(m[1]) / 1024);
    } catch {
      // the process went away between listing and reading
    }
  }
  return max.toFixed(1);
}

const end = Date.now() + seconds * 1000;
let requests = 0;
const before = rss();
const client = async () => {
  while (Date.now() < end) {
    const body = Buffer.alloc(65536 + Math.floor(Math.random() * 960_000), 97);
    const res = await fetch(new URL("/up", url), { method: "POST", body });
    await res.text();
    requests++;
  }
};
await Promise.all(Array.from({ length: 12 }, client));
console.log(`workerd RSS with a Worker that only reads upload bodies: ${before} MiB at start, ${rss()} MiB after ${seconds} s (${requests} uploads)`);
await mf.dispose();
