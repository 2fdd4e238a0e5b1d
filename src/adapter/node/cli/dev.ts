// `edgepass dev --config FILE [--port N] [--host H]`: validate FILE, then run the gateway
// Worker under workerd with FILE as its config (env.EDGEPASS_CONFIG).
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadConfig } from "../../../config/load.js";
import { runGateway } from "../miniflare.js";
import { EXIT_USAGE, listenOptions, parseFlags, parseHost, parsePort, UsageError } from "./args.js";
import { serveUntilSignal } from "./until-signal.js";

export async function dev(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, { ...listenOptions, config: { type: "string", short: "c" }, files: { type: "string" }, "inspector-port": { type: "string" } });
  if (flags.help) return "help";
  if (flags.config === undefined) throw new UsageError("dev needs --config FILE");
  const port = parsePort(flags.port);
  const host = parseHost(flags.host);
  const file = flags.config;
  const inspectorPort = flags["inspector-port"] === undefined ? undefined : parsePort(flags["inspector-port"], "--inspector-port");

  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    process.stderr.write(`edgepass: cannot read config ${file}: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const filesFrom = flags.files ?? "disk";
  if (filesFrom !== "disk" && filesFrom !== "assets") throw new UsageError(`--files takes "disk" or "assets", got "${filesFrom}"`);
  const configDir = path.dirname(path.resolve(file));
  let config;
  try {
    config = loadConfig(text, file, configDir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${(err as ConfigError).message}\n`);
    return EXIT_USAGE;
  }
  const assetsDirectory = config.assets?.absoluteDirectory;
  if (assetsDirectory !== undefined && !isDirectory(assetsDirectory)) {
    process.stderr.write(`${file}: assets.directory: ${assetsDirectory} is not a directory\n`);
    return EXIT_USAGE;
  }

  const gateway = await runGateway({
    configText: text,
    configSource: file,
    host,
    port,
    configDir,
    assetsDirectory,
    filesFrom,
    r2Bucket: config.assets?.r2,
    inspectorPort,
  });
  process.stdout.write(`edgepass: listening on ${gateway.origin} (config ${file})\n`);
  return serveUntilSignal([gateway.dispose]);
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
