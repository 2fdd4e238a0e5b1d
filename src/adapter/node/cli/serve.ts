// `edgepass serve --config FILE [--port N] [--host H]`: validate FILE for the plain server
// host, then serve it from this process until SIGINT or SIGTERM (which drains first). SIGHUP
// reads FILE again: a config that validates serves new requests, one that does not is refused
// on stderr and the running one kept. SIGUSR1 opens [serve] access_log again (logrotate).
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { GatewayError } from "../../../core/errors.js";
import { bufferedStdioSink } from "../log-sink.js";
import { cannotOpen, openAccessFile, type AccessFile } from "../access-file.js";
import { startServer, type RunningServer } from "../server.js";
import { EXIT_USAGE, listenOptions, parseFlags, parseHost, parsePort, readValidConfig, UsageError } from "./args.js";
import { serveUntilSignal } from "./until-signal.js";
import { startNotes } from "./notes.js";
import { primaryLimitStore } from "./shared-limits.js";
import { parseWorkers, runPrimary, type WorkerMessage } from "./workers.js";

export async function serve(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, { ...listenOptions, config: { type: "string", short: "c" }, workers: { type: "string" }, "redirect-port": { type: "string" } });
  if (flags.help) return "help";
  if (flags.config === undefined) throw new UsageError("serve needs --config FILE");
  const port = parsePort(flags.port);
  const host = parseHost(flags.host);
  const redirectPort = flags["redirect-port"] === undefined ? undefined : parsePort(flags["redirect-port"], "--redirect-port");
  const file = flags.config;
  const isWorker = cluster.isWorker && process.env.EDGEPASS_SERVE_WORKER === "1";
  const workers = parseWorkers(flags.workers);

  const valid = readValidConfig(file, "server");
  if (valid === null) return EXIT_USAGE;
  const { text } = valid;
  // Once, from the process that owns the terminal.
  if (!isWorker) for (const note of startNotes(valid.config)) process.stderr.write(`${note}\n`);
  if (!isWorker && workers > 1) return runPrimary(file, text, workers);
  const tell = (m: WorkerMessage) => isWorker && process.send?.(m);

  // V8 moves an allocation site's objects straight to the old generation once most of them
  // outlive a young collection. A busy server trips that for ordinary per-request objects; the
  // dead old objects then keep every young object they point to alive until a full
  // collection, which makes those sites look long-lived too. Measured on a small PHP page:
  // 1.9 KB per request promoted and then collected as garbage, 1.8x the young-collection
  // time; without it, 0.3 KB. Read by V8 at each collection, so setting it here takes hold.
  v8.setFlagsFromString("--no-allocation-site-pretenuring");
  let access: AccessFile | undefined;
  const accessLog = valid.config.serve.accessLog;
  try {
    if (accessLog) access = openAccessFile(accessLog, (m) => process.stderr.write(`edgepass: ${m}\n`));
  } catch (err) {
    process.stderr.write(`${cannotOpen(file, accessLog!, err)}\n`);
    tell({ edgepass: "start-failed", exitCode: EXIT_USAGE });
    return EXIT_USAGE;
  }
  let server: RunningServer;
  try {
    // A worker counts limits in its primary, with its fellow workers.
    const limits = isWorker ? primaryLimitStore({ send: (m) => process.send?.(m), on: (e, f) => process.on(e, f) }) : undefined;
    server = await startServer({ configText: text, configSource: file, configDir: path.dirname(path.resolve(file)), host, port, redirectPort, metricsListener: !isWorker, sink: bufferedStdioSink(process.stdout, process.stderr, access), limits, healthFromPrimary: isWorker });
  } catch (err) {
    // What only starting can find (a [serve] tls file that cannot be read) is a config error.
    if (!(err instanceof GatewayError)) throw err;
    process.stderr.write(`${err.message}\n`);
    tell({ edgepass: "start-failed", exitCode: EXIT_USAGE });
    access?.close();
    return EXIT_USAGE;
  }
  if (isWorker) {
    tell({ edgepass: "listening", origin: server.origin, redirectOrigin: server.redirectOrigin });
    process.on("message", (m: WorkerMessage) => {
      if (m?.edgepass === "metrics?") tell({ edgepass: "metrics", id: m.id, samples: server.metricsSamples() });
      else if (m?.edgepass === "health") server.adoptHealth(m.upstreams);
    });
    // The primary is gone (killed without a chance to stop us): drain and exit too.
    process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  } else {
    process.stdout.write(`edgepass: listening on ${server.origin} (config ${file}, edgepass serve)\n`);
    if (server.redirectOrigin) process.stdout.write(`edgepass: redirecting ${server.redirectOrigin} to https://\n`);
    if (server.metricsUrl) process.stdout.write(`edgepass: metrics on ${server.metricsUrl}\n`);
  }
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
    // As nginx, a reload opens the log files again too.
    reopen("SIGHUP");
  };
  const reopen = (signal: string) => {
    const failed = access?.reopen();
    if (failed) process.stderr.write(`edgepass: ${signal}: ${failed}\n`);
  };
  const onUsr1 = () => reopen("SIGUSR1");
  process.on("SIGHUP", reload);
  process.on("SIGUSR1", onUsr1);
  try {
    return await serveUntilSignal([server.stop]);
  } finally {
    process.off("SIGHUP", reload);
    process.off("SIGUSR1", onUsr1);
  }
}
