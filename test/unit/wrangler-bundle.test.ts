// What `wrangler deploy` would upload, checked without an account: the Worker bundle, the Wasm
// codec as a separate CompiledWasm module (Workers refuse to compile Wasm from bytes), and the
// default config's text. A wrong rule in wrangler.toml shows up here, not at deploy time.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const wrangler = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
let outdir: string;
let files: string[];
let worker: string;

beforeAll(async () => {
  outdir = mkdtempSync(path.join(tmpdir(), "edgepass-wrangler-"));
  await promisify(execFile)(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir], {
    cwd: root,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
  });
  files = readdirSync(outdir);
  worker = readFileSync(path.join(outdir, "gateway.js"), "utf8");
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it("bundles the gateway entry into one ES module", () => {
  expect(files).toContain("gateway.js");
  expect(worker).toMatch(/export\s*\{[^}]*\bas default\b/);
});

it("uploads the codec as a CompiledWasm module the bundle imports, byte for byte", () => {
  const wasm = files.filter((f) => f.endsWith(".wasm"));
  expect(wasm).toHaveLength(1);
  expect(worker).toContain(`from "./${wasm[0]}"`);
  const built = readFileSync(path.join(root, "wasm/build/edgepass.wasm"));
  expect(Buffer.compare(readFileSync(path.join(outdir, wasm[0])), built)).toBe(0);
  expect(WebAssembly.validate(built)).toBe(true);
});

it("uploads edgepass.toml as a Text module the bundle imports (the `rules` in wrangler.toml)", () => {
  const toml = files.filter((f) => f.endsWith(".toml"));
  expect(toml).toHaveLength(1);
  expect(worker).toContain(`from "./${toml[0]}"`);
  const defaultConfig = readFileSync(path.join(root, "edgepass.toml"), "utf8");
  expect(readFileSync(path.join(outdir, toml[0]), "utf8")).toBe(defaultConfig);
});

it("exports the UpstreamPool Durable Object class the UPSTREAM_POOL binding names", () => {
  expect(worker).toMatch(/export\s*\{[^}]*\bUpstreamPool\b[^}]*\}/);
  expect(readFileSync(path.join(root, "wrangler.toml"), "utf8")).toMatch(/class_name = "UpstreamPool"[\s\S]*new_sqlite_classes = \["UpstreamPool"\]/);
});

it("exports the LimitCounter Durable Object class the LIMITS binding names", () => {
  expect(worker).toMatch(/export\s*\{[^}]*\bLimitCounter\b[^}]*\}/);
  expect(readFileSync(path.join(root, "wrangler.toml"), "utf8")).toMatch(/name = "LIMITS"\nclass_name = "LimitCounter"[\s\S]*new_sqlite_classes = \["LimitCounter"\]/);
});

it("wrangler.toml serves Workers Static Assets the way edgepass dev --files assets does: the Worker first, a path is that file", async () => {
  const { parse } = await import("smol-toml");
  const { ASSETS_BINDING, ASSETS_CONFIG } = await import("../../src/adapter/node/miniflare.js");
  const assets = (parse(readFileSync(path.join(root, "wrangler.toml"), "utf8")) as { assets: Record<string, unknown> }).assets;
  expect(assets).toMatchObject({ binding: ASSETS_BINDING, run_worker_first: true, ...ASSETS_CONFIG });
});
