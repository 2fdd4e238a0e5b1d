// `edgepass dev --config FILE [--port N] [--host H]`: validate FILE, then run the gateway
// Worker under workerd with FILE as its config (env.EDGEPASS_CONFIG).
import { runGateway } from "../miniflare.js";
import { EXIT_USAGE, listenOptions, parseFlags, parseHost, parsePort, readValidConfig, UsageError } from "./args.js";
import { serveUntilSignal } from "./until-signal.js";

export async function dev(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, { ...listenOptions, config: { type: "string", short: "c" } });
  if (flags.help) return "help";
  if (flags.config === undefined) throw new UsageError("dev needs --config FILE");
  const port = parsePort(flags.port);
  const host = parseHost(flags.host);
  const file = flags.config;

  const text = readValidConfig(file, "edge");
  if (text === null) return EXIT_USAGE;

  const gateway = await runGateway({ configText: text, configSource: file, host, port });
  process.stdout.write(`edgepass: listening on ${gateway.origin} (config ${file})\n`);
  return serveUntilSignal([gateway.dispose]);
}
