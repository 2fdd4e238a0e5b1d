// The builds' staleness check: the latest modification time of any file under a directory.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

export function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
