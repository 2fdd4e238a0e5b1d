// Pooled HTTP/1.1 (keep-alive) through `edgepass dev` (CLI, workerd, the UpstreamPool Durable
// Object): against gevent's WSGIServer, which keeps connections open, and against a scripted
// origin that misbehaves on cue — answers `Connection: close` but leaves the socket open,
// drops kept connections when the next request arrives, or closes them after a short idle.
// The promises: few connections for many requests, never more than max_connections, a
// connection the server wants closed is never reused, a stale one costs no client an error,
// and bodies round-trip.
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import type net from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bounded, get, poolShard, sampleEstablished, startDev, type Dev } from "../helpers/pool-load.js";
import { scriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";
import { appsCopy } from "../helpers/servers/apps.js";
import { startGevent } from "../helpers/servers/gevent.js";
import type { Server } from "../helpers/servers/launch.js";

const run = promisify(execFile);
const MAX = 4;

function site(port: number, keys = ""): string {
  return `[gateway]
admin_path = "/_edgepass/pools"

[upstreams.web]
protocol = "http"
servers = ["127.0.0.1:${port}"]
pool = "pooled"
max_connections = ${MAX}
queue = 1000
queue_timeout = "30s"
${keys}

[[routes]]
match = "/"
upstream = "web"
`;
}

/** The local ports of ESTABLISHED connections to `port`: one per connection the gateway holds. */
async function clientPorts(port: number): Promise<string[]> {
  const { stdout } = await run("ss", ["-Htn", "state", "established", `( dport = :${port} )`]);
  return stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/)[2] ?? "");
}

describe("gevent WSGIServer (keeps connections open)", () => {
  let apps: string;
  let gevent: Server;
  let dev: Dev;
  beforeAll(async () => {
    apps = appsCopy();
    gevent = await startGevent({ appDir: join(apps, "wsgi") });
    dev = await startDev(site(gevent.port));
  });
  afterAll(async () => {
    await dev?.stop();
    await gevent?.stop();
    if (apps) rmSync(apps, { recursive: true, force: true });
  });

  it(`200 requests at concurrency 10, max_connections = ${MAX}: no errors, at most ${MAX} connections, few opened`, async () => {
    const sampler = sampleEstablished(gevent.port, 20);
    const seen = new Set<string>();
    let sampling = true;
    const ports = (async () => {
      for (let i = 0; i < 2000 && sampling; i++) {
        for (const p of await clientPorts(gevent.port)) seen.add(p);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const results = await bounded(200, 10, async (i) => {
      const r = await get(`${dev.base}/load/${i}/query?i=${i}`);
      return { i, ok: r.status === 200 && r.body.includes(`"path": "/load/${i}/query"`) && r.body.includes(`"query": "i=${i}"`), r };
    });
    sampling = false;
    await ports;
    const samples = await sampler.stop();
    const max = Math.max(0, ...samples);
    const shard = await poolShard(dev.base, "web");
    console.log(
      `http pooled: ${samples.length} ss samples, max ${max} ESTABLISHED; ${seen.size} distinct connections seen by ss; ` +
        `opened ${shard.servers[0].opened}, served ${shard.served}, retried ${shard.retried}`,
    );
    expect(results.filter((x) => !x.ok).slice(0, 5)).toEqual([]);
    expect(samples.length).toBeGreaterThan(3);
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThanOrEqual(MAX);
    // Far fewer connections than requests: the kernel's view and the pool's own count.
    expect(seen.size).toBeLessThanOrEqual(2 * MAX);
    expect(shard.servers[0].opened).toBeLessThanOrEqual(2 * MAX);
    expect(shard).toMatchObject({ upstream: "web", busy: 0, queued: 0, rejected: { queueFull: 0, queueTimeout: 0 } });
    expect(shard.served).toBeGreaterThanOrEqual(200);
  }, 120_000);

  it("HEAD then GET, 90 times: gevent sends a body after a HEAD response, and no GET pays for it", async () => {
    const results = await bounded(90, 3, async (i) => {
      const head = await fetch(`${dev.base}/query?head=${i}`, { method: "HEAD" });
      const r = await get(`${dev.base}/query?after=${i}`);
      return { head: head.status, get: r.status, ok: r.status === 200 && r.body.includes(`"query": "after=${i}"`) };
    });
    expect(results.filter((r) => r.head !== 200)).toEqual([]);
    expect(results.filter((r) => !r.ok).slice(0, 5)).toEqual([]);
  });

  it("POST bodies round-trip over kept connections: small, empty, streamed (chunked), and larger than the replay hold", async () => {
    const before = (await poolShard(dev.base, "web")).servers[0].opened;
    const bodyOf = (i: number) => {
      const size = i % 10 === 0 ? 200_000 + i : i % 7 === 0 ? 0 : 1 + ((i * 37) % 3000);
      return new Uint8Array(size).map((_, k) => (k * 7 + i) & 0xff);
    };
    const results = await bounded(60, 6, async (i) => {
      const sent = bodyOf(i);
      const streamed = i % 3 === 0 && sent.byteLength > 0;
      const init: RequestInit & { duplex?: "half" } = { method: "POST", headers: { "content-type": "application/octet-stream" } };
      if (streamed) {
        init.body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(sent.subarray(0, sent.byteLength >> 1));
            c.enqueue(sent.subarray(sent.byteLength >> 1));
            c.close();
          },
        });
        init.duplex = "half";
      } else {
        init.body = sent;
      }
      try {
        const res = await fetch(`${dev.base}/post/${i}/echo`, init);
        const got = new Uint8Array(await res.arrayBuffer());
        return { i, ok: res.status === 200 && Buffer.from(got).equals(Buffer.from(sent)), status: res.status, len: got.byteLength, want: sent.byteLength };
      } catch (e) {
        return { i, ok: false, status: 0, len: 0, want: sent.byteLength, error: String(e) };
      }
    });
    expect(results.filter((x) => !x.ok)).toEqual([]);
    const shard = await poolShard(dev.base, "web");
    // A body that cannot be held for a resend (streamed, or over 64 KiB) goes on a new
    // connection each time; the rest share kept ones.
    const oneOff = Array.from({ length: 60 }, (_, i) => i).filter((i) => bodyOf(i).byteLength > 64 * 1024 || (i % 3 === 0 && bodyOf(i).byteLength > 0)).length;
    expect(shard.servers[0].opened - before).toBeLessThanOrEqual(2 * MAX + oneOff);
    expect(shard.busy).toBe(0);
  }, 120_000);
});

type Mode = "close-header" | "drop-on-reuse" | "idle-close";

/** A keep-alive HTTP/1.1 origin for GET requests that misbehaves as `mode` says:
 *  close-header: every response says `Connection: close`, but the socket stays open;
 *  drop-on-reuse: the second request on a connection is met with a close, unanswered;
 *  idle-close: an idle connection is closed 30 ms after its response, unannounced. */
async function misbehaving(mode: Mode) {
  const counts = { accepted: 0, requests: 0, dropped: 0 };
  const server: ScriptedServer = await scriptedServer((sock: net.Socket) => {
    counts.accepted++;
    let buf = "";
    let served = 0;
    let idle: ReturnType<typeof setTimeout> | undefined;
    sock.on("data", (d) => {
      clearTimeout(idle);
      buf += d.toString("latin1");
      for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        if (mode === "drop-on-reuse" && served >= 1) {
          counts.dropped++;
          sock.destroy();
          return;
        }
        served++;
        counts.requests++;
        const target = head.split(" ")[1] ?? "";
        const body = `served ${target} as request ${served} on this connection\n`;
        const conn = mode === "close-header" ? "Connection: close\r\n" : "";
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${conn}\r\n${body}`);
        if (mode === "idle-close") idle = setTimeout(() => sock.end(), 30);
      }
    });
  });
  return { server, counts };
}

describe("a scripted origin that misbehaves", () => {
  let origin: Awaited<ReturnType<typeof misbehaving>> | undefined;
  let dev: Dev | undefined;
  afterAll(async () => {
    await dev?.stop();
    await origin?.server.close();
  });
  const start = async (mode: Mode) => {
    await dev?.stop();
    await origin?.server.close();
    origin = await misbehaving(mode);
    dev = await startDev(site(origin.server.port));
    return { origin, dev };
  };

  it("a server answering `Connection: close` never has its connection reused, even left open", async () => {
    const { origin, dev } = await start("close-header");
    const results = await bounded(40, 4, (i) => get(`${dev.base}/c/${i}`));
    expect(results.filter((r, i) => r.status !== 200 || !r.body.startsWith(`served /c/${i} as request 1 on`))).toEqual([]);
    expect(origin.counts).toMatchObject({ accepted: 40, requests: 40 });
    const shard = await poolShard(dev.base, "web");
    expect(shard).toMatchObject({ served: 40, retried: 0, open: 0 });
  }, 60_000);

  it("a kept connection the server drops when the next request arrives: sent again on a new one, no client error", async () => {
    const { origin, dev } = await start("drop-on-reuse");
    const results = await bounded(60, 3, (i) => get(`${dev.base}/d/${i}`));
    expect(results.filter((r, i) => r.status !== 200 || !r.body.startsWith(`served /d/${i} as request 1 on`))).toEqual([]);
    const shard = await poolShard(dev.base, "web");
    console.log(`drop-on-reuse: ${origin.counts.accepted} connections, ${origin.counts.dropped} dropped under a request, ${shard.retried} retried`);
    expect(origin.counts.dropped).toBeGreaterThan(0);
    expect(shard.retried).toBe(origin.counts.dropped);
    expect(shard.served).toBe(60);
  }, 60_000);

  it("a server that closes idle connections sooner than idle_timeout: no client error", async () => {
    const { origin, dev } = await start("idle-close");
    const results = await bounded(60, 2, async (i) => {
      // Some requests land right on a closing connection, some well after.
      await new Promise((r) => setTimeout(r, (i * 23) % 70));
      return get(`${dev.base}/i/${i}`);
    });
    expect(results.filter((r, i) => r.status !== 200 || !r.body.startsWith(`served /i/${i} as request`))).toEqual([]);
    const shard = await poolShard(dev.base, "web");
    console.log(`idle-close: ${origin.counts.accepted} connections for 60 requests, closed by the server ${shard.servers[0].closedByServer}, retried ${shard.retried}`);
    expect(shard.served).toBe(60);
    expect(shard.servers[0].closedByServer).toBeGreaterThan(0);
  }, 60_000);
});
