// The Wasm builds' outputs (wasm/asconfig.json's targets) and whether a source is newer than
// them: scripts/build-wasm.mjs builds them, and bin/edgepass.mjs asks before every command, in
// its own process (a node started only to find nothing stale cost each command about 60 ms).
// Sources are everything under wasm/assembly and wasm/abi, and wasm/asconfig.json.
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { newest } from "./newest.mjs";

export const root = fileURLToPath(new URL("..", import.meta.url));
const wasmDir = path.join(root, "wasm");
export const configPath = path.join(wasmDir, "asconfig.json");

/** Each target's module and listing paths. */
export function wasmOutputs(targets) {
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  return targets.map((target) => ({
    target,
    outPath: path.join(wasmDir, config.targets[target].outFile),
    textPath: path.join(wasmDir, config.targets[target].textFile),
  }));
}

/** True when one of `outputs` (wasmOutputs) is missing or older than a source. */
export function wasmStale(outputs = wasmOutputs(["release", "scalar"])) {
  const sources = Math.max(statSync(configPath).mtimeMs, newest(path.join(wasmDir, "assembly")), newest(path.join(wasmDir, "abi")));
  return outputs.some(({ outPath }) => !existsSync(outPath) || statSync(outPath).mtimeMs < sources);
}
