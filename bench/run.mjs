// `npm run bench`: runs every bench/*.bench.ts in turn (each prints its own table with ratios
// against the anchors it measures in the same run). Never part of `npm test`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
let failed = 0;
for (const f of readdirSync(here).filter((f) => f.endsWith(".bench.ts") || f.endsWith(".bench.mjs")).sort()) {
  if (only.length && !only.some((o) => f.includes(o))) continue;
  console.log(`\n=== bench/${f}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(here, f)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
