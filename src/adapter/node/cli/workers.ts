// `edgepass serve --workers N`: a primary process that forks N workers (node:cluster; Node 20
// has no reusePort), each a whole `edgepass serve` sharing the listening socket, so every core
// answers requests. The primary forwards SIGHUP (each worker reloads the config) and SIGTERM or
// SIGINT (each drains and exits), starts a new worker when one dies, holds the limit_req and
// limit_conn counts every worker shares (shared-limits.ts), runs the active health checks for
// all of them (shared-health.ts), and opens the metrics listener itself, asking every worker
// for its numbers and labelling them with its pid.
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import path from "node:path";
import { loadConfig } from "../../../config/load.js";
import { listenMetrics } from "../metrics-listener.js";
import { renderMetrics, type Sample } from "../metrics.js";
import { EXIT_FAILURE, EXIT_USAGE, readText, UsageError } from "./args.js";
import { sharedLimits } from "./shared-limits.js";
import { PrimaryHealth, type HealthMessage } from "./shared-health.js";
import { bufferedStdioSink } from "../log-sink.js";
import { readFileSync } from "node:fs";

/** Messages between the primary and its workers. */
export type WorkerMessage =
  | HealthMessage
  | { edgepass: "listening"; origin: string; redirectOrigin: string | null }
  | { edgepass: "start-failed"; exitCode: number }
  | { edgepass: "metrics?"; id: number }
  | { edgepass: "metrics"; id: number; samples: Sample[] };

export function parseWorkers(value: string | undefined): number {
  if (value === undefined) return 1;
  if (value === "auto") return availableParallelism();
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1) throw new UsageError(`--workers expects a number of processes (1 or more) or "auto", got "${value}"`);
  return Number(value);
}

/** Runs the primary until SIGTERM/SIGINT has drained every worker; returns the exit code. */
export async function runPrimary(file: string, text: string, count: number): Promise<number> {
  const config = loadConfig(text, file, path.dirname(path.resolve(file)), "server", readText);
  let stopping = false;
  let started = 0;
  let announced = false;
  const workers = new Set<Worker>();
  const limits = sharedLimits();
  // Active health checks run here, once for every worker, which are told what they find.
  const toAll = (m: WorkerMessage) => {
    for (const w of workers) if (w.isConnected()) w.send(m, undefined, undefined, () => {});
  };
  const health = new PrimaryHealth(config, toAll, bufferedStdioSink());
  let restarts = 0;
  let exitCode = 0;
  let done!: () => void;
  const allGone = new Promise<void>((r) => (done = r));

  const fork = () => {
    const w = cluster.fork({ EDGEPASS_SERVE_WORKER: "1" });
    workers.add(w);
    limits.attach(w);
    let listening = false;
    w.on("message", (m: WorkerMessage) => {
      if (m?.edgepass === "listening" && !listening) {
        listening = true;
        started++;
        w.send(health.snapshot(), undefined, undefined, () => {});
        if (!announced && started === count) {
          announced = true;
          process.stdout.write(`edgepass: listening on ${m.origin} (config ${file}, edgepass serve, ${count} workers, primary pid ${process.pid})\n`);
          if (m.redirectOrigin) process.stdout.write(`edgepass: redirecting ${m.redirectOrigin} to https://\n`);
        }
      } else if (m?.edgepass === "start-failed") {
        // The config or its files are wrong: every new worker would fail the same way.
        exitCode = m.exitCode;
        stop();
      }
    });
    w.on("exit", (code, signal) => {
      workers.delete(w);
      if (stopping) {
        if (workers.size === 0) done();
        return;
      }
      if (!listening) {
        process.stderr.write(`edgepass: worker ${w.process.pid} exited (${signal ?? code}) before listening; stopping\n`);
        exitCode = EXIT_FAILURE;
        stop();
        return;
      }
      restarts++;
      process.stderr.write(`edgepass: worker ${w.process.pid} exited (${signal ?? code}); starting another\n`);
      fork();
    });
  };

  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) w.process.kill("SIGTERM");
    if (workers.size === 0) done();
  };

  const collect = (): Promise<Sample[]> =>
    askWorkers(workers, 2_000).then((samples) => [{ name: "edgepass_worker_restarts_total", labels: { pid: String(process.pid) }, value: restarts }, ...samples]);

  const metricsAt = config.serve.metricsListen;
  let metrics: Awaited<ReturnType<typeof listenMetrics>> | null = null;
  try {
    if (metricsAt) metrics = await listenMetrics(metricsAt, async () => renderMetrics(await collect()));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return EXIT_USAGE;
  }

  const onHup = () => {
    for (const w of workers) w.process.kill("SIGHUP");
    // The checks follow the config too; one that does not load is refused by every worker,
    // which says why, and the running checks go on.
    try {
      health.reload(loadConfig(readFileSync(file, "utf8"), file, path.dirname(path.resolve(file)), "server", readText));
    } catch {
      // Kept.
    }
  };
  const onStop = (sig: NodeJS.Signals) => {
    process.stderr.write(`edgepass: ${sig}, stopping ${workers.size} workers\n`);
    stop();
  };
  // [serve] access_log is each worker's to open again.
  const onUsr1 = () => {
    for (const w of workers) w.process.kill("SIGUSR1");
  };
  process.on("SIGHUP", onHup);
  process.on("SIGUSR1", onUsr1);
  process.on("SIGINT", onStop);
  process.on("SIGTERM", onStop);
  for (let i = 0; i < count; i++) fork();
  if (metricsAt) process.stdout.write(`edgepass: metrics on http://${metricsAt.host.includes(":") ? `[${metricsAt.host}]` : metricsAt.host}:${metricsAt.port}/metrics\n`);
  await allGone;
  health.stop();
  process.off("SIGHUP", onHup);
  process.off("SIGUSR1", onUsr1);
  process.off("SIGINT", onStop);
  process.off("SIGTERM", onStop);
  await new Promise<void>((r) => (metrics ? metrics.close(() => r()) : r()));
  return exitCode;
}

let nextAsk = 0;

/** Every connected worker's metric samples, each labelled with the worker's pid. A worker that
 *  does not answer within `timeoutMs` (stuck, or dying) is left out rather than stalling the
 *  scrape, and so is one whose channel closed since (it died meanwhile): its send error comes
 *  to the callback, where without one it would be an 'error' event on the worker that nothing
 *  handles, and the primary would crash. */
export function askWorkers(workers: Iterable<Pick<Worker, "isConnected" | "send" | "on" | "off" | "process">>, timeoutMs: number): Promise<Sample[]> {
  const id = ++nextAsk;
  const asked = [...workers].filter((w) => w.isConnected());
  return new Promise((resolve) => {
    const out: Sample[] = [];
    let waiting = asked.length;
    const finish = () => {
      clearTimeout(timer);
      for (const w of asked) w.off("message", on);
      resolve(out);
    };
    const on = function (this: Worker, m: WorkerMessage) {
      if (m?.edgepass !== "metrics" || m.id !== id) return;
      const pid = String(this.process.pid);
      for (const s of m.samples) out.push({ ...s, labels: { ...s.labels, pid } });
      if (--waiting === 0) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    for (const w of asked) {
      w.on("message", on);
      w.send({ edgepass: "metrics?", id } satisfies WorkerMessage, undefined, undefined, (e: Error | null) => {
        if (e && --waiting === 0) finish();
      });
    }
    if (waiting === 0) finish();
  });
}
