// The gateway the soak runs, on either host: `edgepass dev` (the Worker and its pool objects in
// workerd) or `edgepass serve` (one Node process). Each reports the same things: its live
// JavaScript heap after a collection (a V8 heap snapshot through the inspector), its RSS, and
// its pool's counters; `serve` can also reload its config (SIGHUP) in the middle of the run.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { heapCensus, nodeHeapCensus, type HeapCensus } from "./heap-probe";
import { freePort } from "../test/helpers/php-fpm";
import { poolShard, startDev, type Dev } from "../test/helpers/pool-load";
import { startServe, workerdPids } from "../test/helpers/process";

export type Host = "dev" | "serve";

export interface Heap {
  liveMiB: number;
  /** workerd Socket objects alive (closed ones included: workerd issue 7202); 0 on serve. */
  sockets: number;
  /** Our own objects, by constructor, for the report when the heap grew. */
  census: HeapCensus;
}

export interface PoolCounters {
  served: number;
  retried: number;
  closedByServer: number;
  connectFailures: number;
}

export interface SoakGateway {
  base: string;
  /** What the report calls the process whose memory it measures. */
  process: string;
  heap(): Promise<Heap>;
  rssMiB(): number;
  pool(): Promise<PoolCounters>;
  /** serve: SIGHUP after adding a route to the config; resolves once that route answers. */
  reload?(): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export async function startGateway(host: Host, toml: string): Promise<SoakGateway> {
  const inspectorPort = await freePort();
  return host === "dev" ? startOnDev(toml, inspectorPort) : startOnServe(toml, inspectorPort);
}

async function startOnDev(toml: string, inspectorPort: number): Promise<SoakGateway> {
  const dev = await startDev(toml, ["--inspector-port", String(inspectorPort)]);
  const root = dev.run.child.pid!;
  if (workerdPids(root).length === 0) throw new Error("no workerd process found under `edgepass dev`");
  return {
    ...common(dev),
    process: "workerd process",
    async heap() {
      const census = await heapCensus(inspectorPort);
      const sockets = census.byName.find((r) => r.name === "synthetic:workerd / Socket")?.count ?? 0;
      return { liveMiB: census.liveBytes / 2 ** 20, sockets, census };
    },
    rssMiB: () => workerdPids(root).reduce((mib, pid) => mib + rssOf(pid), 0),
    async pool() {
      const shard = await poolShard(dev.base, "php");
      return { served: shard.served, retried: shard.retried, closedByServer: shard.servers[0].closedByServer, connectFailures: shard.servers[0].connectFailures };
    },
  };
}

async function startOnServe(toml: string, inspectorPort: number): Promise<SoakGateway> {
  const serve = await startServe(toml, {}, [`--inspect=127.0.0.1:${inspectorPort}`]);
  const pid = serve.run.child.pid!;
  let reloads = 0;
  const file = path.join(serve.dir, "site.toml");
  const original = readFileSync(file, "utf8");
  return {
    ...common(serve),
    process: "edgepass serve process",
    async heap() {
      const census = await nodeHeapCensus(inspectorPort);
      return { liveMiB: census.liveBytes / 2 ** 20, sockets: 0, census };
    },
    rssMiB: () => rssOf(pid),
    async pool() {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const stats = (await (await fetch(`${serve.base}/_edgepass/pools`)).json()) as any;
      const php = stats.upstreams.find((u: { upstream: string }) => u.upstream === "php");
      return { served: php.served, retried: php.retried, closedByServer: php.servers[0].closedByServer, connectFailures: php.servers[0].connectFailures };
    },
    async reload() {
      // A real change, so the reload is seen to take effect: a route that answers with the
      // reload's number.
      const n = ++reloads;
      writeFileSync(file, `[[routes]]\nmatch = "= /soak-reload"\nreturn = "200 reload ${n}"\n\n${original}`);
      // serve answers a SIGHUP on stdout ("reloaded config") or, refusing it, on stderr.
      const [out, err] = [serve.run.stdout.length, serve.run.stderr.length];
      const said = () => serve.run.stdout.includes("reloaded config", out) || serve.run.stderr.includes("SIGHUP:", err);
      process.kill(pid, "SIGHUP");
      for (const until = Date.now() + 10_000; !said(); await sleep(50)) {
        if (Date.now() > until) throw new Error("serve said nothing within 10 s of SIGHUP");
      }
      const res = await fetch(`${serve.base}/soak-reload`);
      const text = await res.text();
      if (res.status !== 200 || text.trim() !== `reload ${n}`) {
        const refused = serve.run.stderr.split("\n").filter((l) => l.includes("SIGHUP:")).pop();
        throw new Error(`after SIGHUP, /soak-reload answered ${res.status} ${JSON.stringify(text)}, not "reload ${n}"${refused ? ` (${refused})` : ""}`);
      }
    },
  };
}

function common(d: Dev): Pick<SoakGateway, "base" | "output" | "stop"> {
  return { base: d.base, output: () => d.run.stdout + d.run.stderr, stop: () => d.stop() };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}
