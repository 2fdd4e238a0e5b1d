#!/usr/bin/env node
// The `edgepass` command. The CLI is TypeScript run as-is: tsx's ESM hooks are registered
// first, then the entry module runs. The Wasm module is built here when it is missing or
// older than its sources, so every command works right after `npm install`.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

const build = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build-wasm.mjs", import.meta.url)), "--if-stale"], {
  stdio: ["ignore", "ignore", "inherit"],
});
if (build.status !== 0) process.exit(build.status ?? 1);
register();
await import(new URL("../src/adapter/node/cli/main.ts", import.meta.url).href);
