#!/usr/bin/env node
// The `edgepass` command. The Wasm module and the command's own bundle (scripts/build-cli.mjs)
// are built here when missing or older than their sources, so every command works right after
// `npm install`; then the bundle runs.
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const build = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build-wasm.mjs", import.meta.url)), "--if-stale"], {
  stdio: ["ignore", "ignore", "inherit"],
});
if (build.status !== 0) process.exit(build.status ?? 1);
const { buildCli, cliBundle } = await import("../scripts/build-cli.mjs");
await buildCli(true);
await import(pathToFileURL(cliBundle).href);
