#!/usr/bin/env node
// The `edgepass` command. The Wasm module and the command's own bundle (scripts/build-cli.mjs)
// are built here when missing or older than their sources, so every command works right after
// `npm install`; then the bundle runs. The checks run in this process; a Wasm build, when one
// is needed, in a process of its own (the compiler's).
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const { wasmStale } = await import("../scripts/wasm-outputs.mjs");
if (wasmStale()) {
  const build = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build-wasm.mjs", import.meta.url)), "--if-stale"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const { buildCli, cliBundle } = await import("../scripts/build-cli.mjs");
await buildCli(true);
await import(pathToFileURL(cliBundle).href);
