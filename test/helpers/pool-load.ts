// What the pool's integration tests share: `edgepass dev` (process.ts), a bounded request loop, and a sampler counting ESTABLISHED TCP connections to a port with
// `ss` (the kernel's view, not the gateway's own account).
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export { startDev, type Dev } from "./process.js";

const run = promisify(execFile);

/** ESTABLISHED connections whose destination port is `port` (the clients' side of them). */
export async function establishedTo(port: number): Promise<number> {
  const { stdout } = await run("ss", ["-Htn", "state", "established", `( dport = :${port} )`]);
  return stdout.split("\n").filter((l) => l.trim()).length;
}

/** Samples establishedTo(port) about every `everyMs` until stop(); returns every sample. */
export function sampleEstablished(port: number, everyMs = 50): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(await establishedTo(port));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Runs `count` calls of `fn` with at most `concurrency` in flight; never more than `count`. */
export async function bounded<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

export interface Outcome {
  status: number;
  body: string;
  error?: string;
}

/** A GET that reports failures as values, so a load run can count them all. */
export async function get(url: string, init?: RequestInit): Promise<Outcome> {
  try {
    const res = await fetch(url, init);
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { status: 0, body: "", error: String((e as Error).cause ?? e) };
  }
}

/** One shard's statistics from the admin route (`admin_path = "/_edgepass/pools"`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function poolShard(base: string, upstream: string, shard = 0): Promise<any> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const body = (await (await fetch(`${base}/_edgepass/pools`)).json()) as any;
  return body.upstreams[upstream].shards[shard];
}

/** Every shard's statistics for an upstream. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function poolShards(base: string, upstream: string): Promise<any[]> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const body = (await (await fetch(`${base}/_edgepass/pools`)).json()) as any;
  return body.upstreams[upstream].shards;
}

/** `count` requests in flight at once to `${base}/load/<i>` (a route whose script prints
 *  REQUEST_URI), each checked for its own; the ESTABLISHED connections to `originPort` are
 *  sampled meanwhile. */
export async function clientsAtOnce(count: number, base: string, originPort: number): Promise<{ errors: Array<Outcome & { i: number }>; samples: number[]; max: number }> {
  const sampler = sampleEstablished(originPort);
  const results = await bounded(count, count, (i) => get(`${base}/load/${i}`));
  const samples = await sampler.stop();
  const errors = results.map((r, i) => ({ i, ...r })).filter((r) => r.status !== 200 || !r.body.includes(`REQUEST_URI=/load/${r.i}\n`));
  return { errors, samples, max: Math.max(0, ...samples) };
}
