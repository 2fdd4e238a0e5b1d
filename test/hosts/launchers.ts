// Runs the corpus bundle (build.ts) in each host and returns its report. Every host loads the
// same wasm/build/edgepass.wasm through the same package entry (dist/codec/index.js); only how
// the module reaches the codec differs (see run/). A host that is not installed fails with the
// command that installs it.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { COMPATIBILITY_DATE } from "../../src/adapter/node/miniflare";
import type { CorpusReport } from "./corpus";
import { ROOT } from "./build";

const run = promisify(execFile);
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);

async function runScript(command: string, args: string[], hint: string): Promise<CorpusReport> {
  if (!existsSync(command)) throw new Error(`${command} is missing; ${hint}`);
  try {
    const { stdout } = await run(command, args, { cwd: ROOT, maxBuffer: 64 << 20 });
    return JSON.parse(stdout) as CorpusReport;
  } catch (e) {
    // Bun's npm package ships a placeholder binary that its postinstall replaces: installing
    // with --ignore-scripts leaves a host that only prints how to fix it.
    const err = e as Error & { stderr?: string };
    throw new Error(`${path.basename(command)} ${args.join(" ")} failed: ${err.stderr?.slice(0, 2000) || err.message}${hint ? `\n(${hint}, without --ignore-scripts)` : ""}`);
  }
}

export const runNode = () => runScript(process.execPath, ["test/hosts/run/node.mjs"], "");

// --no-config/--no-lock: Deno must not pick up package.json as its config or write deno.lock.
export const runDeno = () =>
  runScript(bin("deno"), ["run", "--no-config", "--no-lock", "--allow-read=.", "test/hosts/run/deno.mjs"], "run `npm install` (the npm package `deno`)");

export const runBun = () => runScript(bin("bun"), ["test/hosts/run/bun.mjs"], "run `npm install` (the npm package `bun`)");

export async function runWorkerd(): Promise<CorpusReport> {
  const mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath: path.join(ROOT, "test/hosts/run/worker.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
  });
  try {
    const res = await mf.dispatchFetch("http://localhost/");
    return (await res.json()) as CorpusReport;
  } finally {
    await mf.dispose();
  }
}

// --- Chromium (Debian's package, driven by playwright-core) -----------------------------------

const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
// No network beyond the loopback page server, no first-run or background services.
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

export function chromiumPath(): string {
  const found = CHROMIUM_PATHS.find((p) => existsSync(p));
  if (!found) throw new Error(`Chromium not found (looked for ${CHROMIUM_PATHS.join(", ")}); run \`npm run setup:test\` (Debian package chromium)`);
  return found;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
};

/** Serves the files a page needs from the repository, on a free loopback port. Only files
 *  under `allowed` prefixes are served. */
export async function serveFiles(allowed: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).slice(1);
    const file = path.join(ROOT, rel);
    if (rel.includes("..") || !allowed.some((a) => rel.startsWith(a)) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A fresh Chromium profile with the flags above; `use` gets a page, everything is torn down after. */
export async function withChromium<T>(use: (page: import("playwright-core").Page) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(path.join(os.tmpdir(), "edgepass-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      return await use(page);
    } catch (e) {
      throw errors.length ? new Error(`${String(e)}; page errors: ${errors.join("; ")}`) : e;
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

export async function runChromium(): Promise<CorpusReport> {
  const files = await serveFiles(["dist/codec/", ".tmp/hosts/", "wasm/build/edgepass.wasm", "wasm/build/edgepass-scalar.wasm", "test/hosts/run/"]);
  try {
    return await withChromium(async (page) => {
      await page.goto(`${files.url}/test/hosts/run/browser.html`);
      return (await page.evaluate("window.corpusReport")) as CorpusReport;
    });
  } finally {
    await files.close();
  }
}
