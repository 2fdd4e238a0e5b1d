// Bundles the Worker entry with esbuild and runs it in workerd through Miniflare: the local
// twin of `wrangler deploy`. The bundle keeps every `.wasm` import as a separate CompiledWasm
// module (workerd, like Cloudflare, refuses to compile Wasm from bytes at run time) and inlines
// `.toml` imports as text, matching the rules in wrangler.toml.
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
// esbuild and Miniflare (with undici and workerd's bindings) load when a command bundles or
// runs the Worker, not with the module: `edgepass serve`, whose bundle holds this file too,
// never needs them (loading them cost it about 0.3 s and 80 MB at start).
import type * as esbuild from "esbuild";
import type { Request as MiniflareRequest, Response as MiniflareResponse } from "miniflare";
import { serveStoreRequest } from "../../edge/store-wire.js";
import { diskStore } from "./disk-store.js";
import { bufferedStdioSink } from "./log-sink.js";
import { createInterface } from "node:readline";

/** Must match wrangler.toml. */
export const COMPATIBILITY_DATE = "2026-04-20";
export const COMPATIBILITY_FLAGS = ["nodejs_compat", "enable_request_signal"];
/** wrangler.toml's Durable Object bindings: pooled upstreams keep their connections in
 *  UpstreamPool, limit_req / limit_conn counts live in LimitCounter. */
export const DURABLE_OBJECTS = {
  UPSTREAM_POOL: { className: "UpstreamPool", useSQLite: true },
  LIMITS: { className: "LimitCounter", useSQLite: true },
};

import { cannotListen, DEFAULT_HOST, DEFAULT_PORT } from "./listen-defaults.js";
export { DEFAULT_HOST, DEFAULT_PORT };

/** The repository (or installed package) root: this file lives in src/adapter/node/. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
}

export function defaultGatewayEntry(): string {
  return path.join(packageRoot(), "workers", "gateway.ts");
}

export interface WorkerModule {
  type: "ESModule" | "CompiledWasm";
  /** Absolute path under `modulesRoot`; the part after it is the module's name. */
  path: string;
  contents: Uint8Array<ArrayBuffer>;
}

export interface GatewayBundle {
  modulesRoot: string;
  /** The main ES module first, then one CompiledWasm module per distinct .wasm file. */
  modules: WorkerModule[];
}

/** A bundling failure a user can fix (missing entry, unbuilt Wasm, a syntax error). */
export class BundleError extends Error {
  readonly code = "EDGEPASS_BUNDLE";
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/** Marks `.wasm` imports external, renamed to a flat module name next to the bundle, and
 *  collects their bytes so Miniflare can hand them to workerd as compiled modules. */
function wasmModulesPlugin(modulesRoot: string, out: WorkerModule[]): esbuild.Plugin {
  const nameByFile = new Map<string, string>();
  return {
    name: "edgepass-compiled-wasm",
    setup(build) {
      build.onResolve({ filter: /\.wasm(\?module)?$/ }, (args) => {
        const file = path.resolve(args.resolveDir, args.path.replace(/\?module$/, ""));
        if (!existsSync(file)) {
          return {
            errors: [
              {
                text: `Wasm module not found: ${path.relative(packageRoot(), file)} (run \`npm run build\` first)`,
              },
            ],
          };
        }
        let name = nameByFile.get(file);
        if (name === undefined) {
          const base = path.basename(file);
          name = nameByFile.size === 0 ? base : `${nameByFile.size}-${base}`;
          nameByFile.set(file, name);
          out.push({ type: "CompiledWasm", path: path.join(modulesRoot, name), contents: new Uint8Array(readFileSync(file)) });
        }
        return { path: `./${name}`, external: true };
      });
    },
  };
}

export async function bundleGateway(entry: string = defaultGatewayEntry()): Promise<GatewayBundle> {
  if (!existsSync(entry)) throw new BundleError(`Worker entry not found: ${entry}`);
  const modulesRoot = path.dirname(entry);
  const wasmModules: WorkerModule[] = [];
  const { build, formatMessages } = await import("esbuild");
  let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[] };
  try {
    result = await build({
      entryPoints: [entry],
      outfile: path.join(modulesRoot, "__edgepass_worker.js"),
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["browser", "module", "main"],
      external: ["cloudflare:*", "node:*"],
      loader: { ".toml": "text" },
      plugins: [wasmModulesPlugin(modulesRoot, wasmModules)],
      sourcemap: "inline",
      logLevel: "silent",
    });
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw err;
    const text = await formatMessages(failure.errors, { kind: "error", color: false });
    throw new BundleError(`cannot bundle ${path.relative(packageRoot(), entry)}:\n${text.join("")}`);
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  if (!js) throw new BundleError("esbuild produced no JavaScript output");
  return {
    modulesRoot,
    modules: [{ type: "ESModule", path: js.path, contents: new Uint8Array(js.contents) }, ...wasmModules],
  };
}

export interface RunGatewayOptions {
  /** Worker entry; defaults to workers/gateway.ts. */
  entry?: string;
  /** TOML text for env.EDGEPASS_CONFIG; omitted means the embedded default. */
  configText?: string;
  /** Names the config in messages (env.EDGEPASS_CONFIG_SOURCE). */
  configSource?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The config file's folder (env.EDGEPASS_CONFIG_DIR): a relative [assets] directory and
   *  X-Sendfile paths are resolved against it. */
  configDir?: string;
  /** The [assets] directory, absolute, when the config has one. */
  assetsDirectory?: string;
  /** "disk" (default): the directory read live on every request, through a service binding,
   *  so files added while running are served. "assets": Workers Static Assets, exactly as
   *  deployed (a snapshot miniflare takes at start). */
  filesFrom?: "disk" | "assets";
  /** [assets] r2: a local R2 bucket under that binding name (in memory). */
  r2Bucket?: string;
  /** workerd's V8 inspector (Chrome DevTools protocol) on 127.0.0.1 at this port: profiles
   *  and heap snapshots of the Worker and its pool objects. */
  inspectorPort?: number;
}

export interface RunningGateway {
  /** Where it listens, e.g. http://127.0.0.1:8787 (no trailing slash). */
  origin: string;
  port: number;
  dispose(): Promise<void>;
}

/** workerd reports a taken port as a fatal trace; checking first gives one clear line. */
async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", (err: NodeJS.ErrnoException) => reject(cannotListen(err, host, port)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Miniflare installs SIGINT/SIGTERM handlers that kill workerd and exit the process at once
 *  (code 128+n), before the caller can stop anything else it started or report the stop. They
 *  are taken out again here, so signals stay the caller's business; Miniflare's "exit" hook
 *  (kill workerd however node exits) stays in place. */
function withoutSignalExit<T>(create: () => T): T {
  const before = new Map(SIGNALS.map((sig) => [sig, new Set(process.listeners(sig))]));
  const made = create();
  for (const sig of SIGNALS) {
    for (const listener of process.listeners(sig)) {
      if (!before.get(sig)!.has(listener)) process.off(sig, listener as (...args: unknown[]) => void);
    }
  }
  return made;
}

/** Starts the gateway. The caller owns SIGINT/SIGTERM and must call dispose(). */
export async function runGateway(opts: RunGatewayOptions = {}): Promise<RunningGateway> {
  const bundle = await bundleGateway(opts.entry);
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? DEFAULT_PORT;
  await assertCanListen(host, port);
  const bindings: Record<string, string> = {};
  if (opts.configText !== undefined) bindings.EDGEPASS_CONFIG = opts.configText;
  if (opts.configSource !== undefined) bindings.EDGEPASS_CONFIG_SOURCE = opts.configSource;
  if (opts.configDir !== undefined) bindings.EDGEPASS_CONFIG_DIR = opts.configDir;
  const { Miniflare, Response } = await import("miniflare");
  const files = filesOptions(opts, Response);
  const mf = withoutSignalExit(
    () =>
      new Miniflare({
        name: "edgepass",
        modules: bundle.modules,
        modulesRoot: bundle.modulesRoot,
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: COMPATIBILITY_FLAGS,
        bindings,
        durableObjects: DURABLE_OBJECTS,
        ...files,
        host,
        port,
        // workerd's output (the request lines, warnings) goes through serve's sink rather than
        // miniflare's console.log per line: a stalled reader of this process's stdout then costs
        // lines, counted, not memory without a bound.
        handleRuntimeStdio: relayRuntimeOutput,
        ...(opts.inspectorPort !== undefined ? { inspectorPort: opts.inspectorPort, inspectorHost: "127.0.0.1" } : {}),
      }),
  );
  let url: URL;
  try {
    url = await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const actualPort = Number(url.port);
  return { origin: `http://${shownHost}:${actualPort}`, port: actualPort, dispose: () => mf.dispose() };
}

function relayRuntimeOutput(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream): void {
  const sink = bufferedStdioSink();
  createInterface({ input: stdout, crlfDelay: Infinity }).on("line", (line) => sink("info", line));
  createInterface({ input: stderr, crlfDelay: Infinity }).on("line", (line) => sink("error", line));
}

/** wrangler.toml's [assets] settings, for the "assets" mode: the Worker runs first on every
 *  request, and a path means exactly that file (no .html guessing, no 404 page of its own). */
export const ASSETS_BINDING = "ASSETS";
export const ASSETS_CONFIG = { html_handling: "none", not_found_handling: "none" } as const;

function filesOptions(opts: RunGatewayOptions, ResponseClass: typeof import("miniflare").Response) {
  const out: {
    serviceBindings?: Record<string, (request: MiniflareRequest) => Promise<MiniflareResponse>>;
    assets?: { directory: string; binding: string; routerConfig: { invoke_user_worker_ahead_of_assets: boolean; has_user_worker: boolean }; assetConfig: typeof ASSETS_CONFIG };
    r2Buckets?: string[];
  } = {};
  if (opts.r2Bucket) out.r2Buckets = [opts.r2Bucket];
  const dir = opts.assetsDirectory;
  if (dir === undefined) return out;
  if (opts.filesFrom === "assets") {
    out.assets = { directory: dir, binding: ASSETS_BINDING, routerConfig: { invoke_user_worker_ahead_of_assets: true, has_user_worker: true }, assetConfig: ASSETS_CONFIG };
    return out;
  }
  const store = diskStore(dir);
  out.serviceBindings = {
    EDGEPASS_FILES: async (request) => {
      const res = await serveStoreRequest(store, new Request(request.url, { method: request.method, headers: request.headers as unknown as HeadersInit }));
      return new ResponseClass(res.body as never, { status: res.status, headers: [...res.headers] });
    },
  };
  return out;
}
