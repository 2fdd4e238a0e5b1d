// `edgepass serve --config FILE [--port N] [--host H]`: validate FILE for the plain server
// host, then serve it from this process until SIGINT or SIGTERM (which drains first). SIGHUP
// reads FILE again: a config that validates serves new requests, one that does not is refused
// on stderr and the running one kept.
import { readFileSync } from "node:fs";
import path from "node:path";
import { GatewayError } from "../../../core/errors.js";
import { bufferedStdioSink } from "../log-sink.js";
import { startServer, type RunningServer } from "../server.js";
import { EXIT_USAGE, listenOptions, parseFlags, parseHost, parsePort, readValidConfig, UsageError } from "./args.js";
import { serveUntilSignal } from "./until-signal.js";

export async function serve(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, { ...listenOptions, config: { type: "string", short: "c" } });
  if (flags.help) return "help";
  if (flags.config === undefined) throw new UsageError("serve needs --config FILE");
  const port = parsePort(flags.port);
  const host = parseHost(flags.host);
  const file = flags.config;

  const text = readValidConfig(file, "server");
  if (text === null) return EXIT_USAGE;

  let server: RunningServer;
  try {
    server = await startServer({ configText: text, configSource: file, configDir: path.dirname(path.resolve(file)), host, port, sink: bufferedStdioSink() });
  } catch (err) {
    // What only starting can find (a [serve] tls file that cannot be read) is a config error.
    if (!(err instanceof GatewayError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EXIT_USAGE;
  }
  process.stdout.write(`edgepass: listening on ${server.origin} (config ${file}, edgepass serve)\n`);
  const reload = () => {
    let next: string;
    try {
      next = readFileSync(file, "utf8");
    } catch (err) {
      process.stderr.write(`edgepass: SIGHUP: cannot read config ${file}: ${(err as Error).message}; keeping the running config\n`);
      return;
    }
    const refused = server.reload(next, file);
    if (refused) process.stderr.write(`edgepass: SIGHUP: ${refused.message}; keeping the running config\n`);
    else process.stdout.write(`edgepass: reloaded config ${file}\n`);
  };
  process.on("SIGHUP", reload);
  try {
    return await serveUntilSignal([server.stop]);
  } finally {
    process.off("SIGHUP", reload);
  }
}
