// `npm run bench [-- NAME...] [-- --json]`: runs every bench/*.bench.ts (or those whose file name
// contains a NAME) in turn; each prints its own table with ratios against the anchors it
// measures in the same run. With --json, each bench that supports it ends its output with one
// JSON line; these are merged and printed as one JSON object on the last line. Never part of
// `npm test`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes("--json");
const only = args.filter((a) => !a.startsWith("--"));
let failed = 0;
const merged = { kernels: {}, worker: {}, wasm: {} };
for (const f of readdirSync(here).filter((f) => f.endsWith(".bench.ts") || f.endsWith(".bench.mjs")).sort()) {
  if (only.length && !only.some((o) => f.includes(o))) continue;
  console.log(`\n=== bench/${f}`);
  const childArgs = ["--import", "tsx", path.join(here, f), ...(json ? ["--json"] : [])];
  const r = spawnSync(process.execPath, childArgs, { stdio: ["inherit", json ? "pipe" : "inherit", "inherit"], maxBuffer: 64 << 20 });
  if (r.status !== 0) failed++;
  if (!json) continue;
  const out = r.stdout.toString();
  const lines = out.trimEnd().split("\n");
  let last = null;
  try {
    last = JSON.parse(lines[lines.length - 1]);
  } catch {
    // This bench prints no JSON: its table is all it has.
  }
  process.stdout.write((last ? lines.slice(0, -1).join("\n") + "\n" : out));
  if (last) for (const k of Object.keys(merged)) Object.assign(merged[k], last[k] ?? {});
}
if (json) console.log(JSON.stringify(merged));
process.exit(failed ? 1 : 0);
