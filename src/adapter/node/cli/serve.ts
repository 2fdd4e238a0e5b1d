// `edgepass serve --config FILE [--port N] [--host H]`: validate FILE for the plain server
// host, then serve it from this process until SIGINT or SIGTERM (which drains first).
import { readFileSync } from "node:fs";
import { ConfigError, loadConfig } from "../../../config/load.js";
import { startServer } from "../server.js";
import { EXIT_USAGE, listenOptions, parseFlags, parseHost, parsePort, UsageError } from "./args.js";
import { serveUntilSignal } from "./until-signal.js";

export async function serve(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, { ...listenOptions, config: { type: "string", short: "c" } });
  if (flags.help) return "help";
  if (flags.config === undefined) throw new UsageError("serve needs --config FILE");
  const port = parsePort(flags.port);
  const host = parseHost(flags.host);
  const file = flags.config;

  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    process.stderr.write(`edgepass: cannot read config ${file}: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  try {
    loadConfig(text, file, "server");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EXIT_USAGE;
  }

  const server = await startServer({ configText: text, configSource: file, host, port });
  process.stdout.write(`edgepass: listening on ${server.origin} (config ${file}, edgepass serve)\n`);
  return serveUntilSignal([server.stop]);
}
