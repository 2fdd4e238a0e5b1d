// Several app servers behind one upstream, through the real gateway (`edgepass dev`, where
// pooled upstreams live in sharded Durable Objects, and `edgepass serve`) in front of real
// php-fpm pools that each say who answered: round robin spreads, weights, backups, least_conn
// against a slow pool, hash stickiness, passive health around a dead server, active health
// checks against a server that accepts and never answers, and one pool stopped mid-load
// costing no request that could have been retried. Outcomes are counted; nothing is timed.
import { logLines } from "../helpers/log-lines.js";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autoShards } from "../../src/config/pool.js";
import { freePort, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, startServe, type Dev } from "../helpers/process.js";
import { scriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

// Twelve children a pool: this file's upstreams share the pools, and each upstream keeps its own
// idle connections, each holding a child until idle_timeout. With php-fpm's four, the next
// upstream's first request waited for one to be let go (the README: upstreams sharing one
// php-fpm divide its workers), seconds a case that measured nothing.
const pool = (name: string) => startPhpFpm({ maxChildren: 12, pool: [`env[EDGEPASS_POOL] = ${name}`, "ping.path = /ping"] });

/** A FastCGI server that accepts and, until told to answer, never sends a byte. Answering, it
 *  replies to a request with "Status: 200" and to FCGI_GET_VALUES with FCGI_MPXS_CONNS=0. */
async function silentFastcgi(): Promise<ScriptedServer & { answering: boolean; requests: number }> {
  const state = { answering: false, requests: 0 };
  const record = (type: number, id: number, content: Buffer) => {
    const h = Buffer.from([1, type, id >> 8, id & 0xff, content.length >> 8, content.length & 0xff, 0, 0]);
    return Buffer.concat([h, content]);
  };
  const srv = await scriptedServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!state.answering) return;
      if (buf.includes(Buffer.from([1, 9, 0, 0]))) {
        const name = "FCGI_MPXS_CONNS";
        sock.end(record(10, 0, Buffer.concat([Buffer.from([name.length, 1]), Buffer.from(name + "0")])));
      } else if (buf.includes(Buffer.from([1, 5, 0, 1, 0, 0]))) {
        // The empty STDIN record: the request is whole.
        state.requests++;
        sock.end(Buffer.concat([record(6, 1, Buffer.from("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nsilent 0\n")), record(3, 1, Buffer.alloc(8))]));
      }
    });
  });
  return {
    port: srv.port,
    close: () => srv.close(),
    get answering() {
      return state.answering;
    },
    set answering(v: boolean) {
      state.answering = v;
    },
    get requests() {
      return state.requests;
    },
  };
}

function config(www: string, p: Record<string, number>, dead: number, silent: number): string {
  const s = (name: string, opts = "") => `"127.0.0.1:${p[name]}${opts}"`;
  const upstream = (name: string, servers: string, extra = "") =>
    `[upstreams.${name}]\nprotocol = "fastcgi"\nservers = [${servers}]\n${extra}\n[[routes]]\nmatch = "/${name}/"\nupstream = "${name}"\nroot = "${www}"\nscript = "/balance.php"\n\n`;
  return (
    `[gateway]\nadmin_path = "/_edgepass/pools"\n\n` +
    upstream("rr", `${s("a")}, ${s("b")}, ${s("c")}`) +
    upstream("weighted", `${s("a", " weight=3")}, ${s("b")}`) +
    upstream("backup", `${s("a")}, ${s("b")}, ${s("c", " backup")}`) +
    upstream("fallback", `"127.0.0.1:${dead}", ${s("b", " backup")}`) +
    upstream("least", `${s("a")}, ${s("b")}`, 'balance = "least_conn"\n# One pool object: least_conn compares the counts of the object it runs in.\nshards = 1\nmax_connections = 3') +
    upstream("hash", `${s("a")}, ${s("b")}, ${s("c")}`, 'balance = "hash"\nhash_key = "header:x-user"') +
    upstream("passive", `${s("a")}, "127.0.0.1:${dead}"`, 'fail_timeout = "60s"') +
    upstream("checked", `${s("d")}, "127.0.0.1:${silent}"`, 'read_timeout = "1s"\nhealth_check = { interval = "200ms", fails = 2, passes = 2, path = "/ping" }') +
    upstream("stop", `${s("a")}, ${s("b")}, ${s("e")}`) +
    upstream("stopdirect", `${s("c")}, ${s("d")}, ${s("f")}`, 'pool = "direct"')
  );
}

/** Which pool answered each of `n` requests. */
async function served(base: string, target: string, n: number, init?: (i: number) => RequestInit): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(base + target, init?.(i));
    expect(res.status).toBe(200);
    const who = (await res.text()).split(" ")[0];
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

type Stats = { server: string; balance?: { state: string; health?: { state: string; lastCheck: { ok: boolean; detail: string } | null } } };

/** Every server record of `upstream` in the admin statistics (each shard's, on the edge). */
async function serverStats(base: string, upstream: string): Promise<Stats[]> {
  const body = (await (await fetch(`${base}/_edgepass/pools`)).json()) as {
    upstreams: Record<string, { shards?: Array<{ servers?: Stats[] }> }> | Array<{ upstream: string; servers: Stats[] }>;
  };
  if (Array.isArray(body.upstreams)) return body.upstreams.find((u) => u.upstream === upstream)?.servers ?? [];
  return (body.upstreams[upstream]?.shards ?? []).flatMap((s) => s.servers ?? []);
}

async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each([["dev"], ["serve"]] as const)("several servers per upstream, edgepass %s", (host) => {
  let www: string;
  const fpm: Record<string, PhpFpm> = {};
  let silent: Awaited<ReturnType<typeof silentFastcgi>>;
  let dead: number;
  let dev: Dev;
  let base: string;
  // Pool objects per upstream on the edge (the default shards); one process on a plain server.
  const shards = (servers: number) => (host === "dev" ? autoShards(8, servers) : 1);

  beforeAll(async () => {
    www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
    for (const name of ["a", "b", "c", "d", "e", "f"]) fpm[name] = await pool(name);
    silent = await silentFastcgi();
    dead = await freePort();
    const ports = Object.fromEntries(Object.entries(fpm).map(([k, v]) => [k, v.port]));
    dev = await (host === "dev" ? startDev : startServe)(config(www, ports, dead, silent.port));
    base = dev.base;
  });

  afterAll(async () => {
    await dev?.stop();
    for (const f of Object.values(fpm)) await f.stop();
    await silent?.close();
    rmSync(www, { recursive: true, force: true });
  });

  it("round robin (the default) spreads requests evenly over three pools", async () => {
    const counts = await served(base, "/rr/x", 60);
    // Each pool object runs its own round robin: per object no pool is behind by more than one.
    for (const p of ["a", "b", "c"]) expect(counts[p]).toBeGreaterThanOrEqual(20 - shards(3));
  });

  it("weight=3 against weight 1: three requests of four", async () => {
    const counts = await served(base, "/weighted/x", 40);
    expect(counts.a).toBeGreaterThanOrEqual(30 - 3 * shards(2));
    expect(counts.b).toBeGreaterThanOrEqual(10 - shards(2));
  });

  it("a backup takes nothing while the primaries are up", async () => {
    const counts = await served(base, "/backup/x", 30);
    expect(counts.c).toBeUndefined();
    expect((counts.a ?? 0) + (counts.b ?? 0)).toBe(30);
  });

  it("a backup takes everything when the only primary is down; even a POST, since nothing reached the dead one", async () => {
    const counts = await served(base, "/fallback/x", 10, (i) => (i % 2 ? { method: "POST", body: "abc" } : {}));
    expect(counts).toEqual({ b: 10 });
  });

  it("passive health: a dead server costs each pool object one connect failure, then it is skipped for fail_timeout", async () => {
    const failed = () => logLines(dev.run.stdout + dev.run.stderr).filter((l) => l.event === "upstream_connect_failed" && l.origin === `127.0.0.1:${dead}`).length;
    const before = failed();
    const counts = await served(base, "/passive/x", 30);
    expect(counts).toEqual({ a: 30 });
    const failures = failed() - before;
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(failures).toBeLessThanOrEqual(shards(2));
    const stats = (await serverStats(base, "passive")).filter((s) => s.server === `127.0.0.1:${dead}` && s.balance);
    expect(stats.length).toBeGreaterThan(0);
    for (const s of stats) expect(s.balance!.state).toBe("down");
  });

  it("least_conn: a pool that takes a second per request gets far fewer of them than a fast one", async () => {
    const counts: Record<string, number> = {};
    // Six clients, each sending its next request when the last is answered.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 8; i++) {
          const res = await fetch(`${base}/least/x?slow=a`);
          expect(res.status).toBe(200);
          const who = (await res.text()).split(" ")[0];
          counts[who] = (counts[who] ?? 0) + 1;
        }
      }),
    );
    // Round robin would give each half (24); least_conn sends to a only when it is as idle as b.
    expect(counts.a + counts.b).toBe(48);
    expect(counts.b).toBeGreaterThan(3 * counts.a);
  });

  it("hash on a header: each user always reaches the same pool, and the users spread over the pools", async () => {
    const home = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 24; u++) {
        const res = await fetch(`${base}/hash/x`, { headers: { "x-user": `user-${u}` } });
        const who = (await res.text()).split(" ")[0];
        if (round === 0) home.set(`user-${u}`, who);
        else expect(who).toBe(home.get(`user-${u}`));
      }
    }
    expect(new Set(home.values()).size).toBe(3);
  });

  it("active health: a server that accepts and never answers is marked down, and up again once it answers", async () => {
    // The first request makes the pool object (each shard on the edge) hold the upstream. Pool
    // d serves only this upstream: php-fpm gives each connection a child, and other upstreams'
    // idle kept connections would hold a's.
    for (let i = 0; i < 2 * shards(2); i++) expect((await fetch(`${base}/checked/x`)).status).toBe(200);
    const silentStats = async () => (await serverStats(base, "checked")).filter((s) => s.server === `127.0.0.1:${silent.port}` && s.balance?.health);
    await until("the silent server is down", async () => {
      const s = await silentStats();
      return s.length > 0 && s.every((x) => x.balance!.health!.state === "down");
    });
    const counts = await served(base, "/checked/x", 10);
    expect(counts).toEqual({ d: 10 });
    silent.answering = true;
    await until("the silent server is up", async () => {
      const s = await silentStats();
      return s.length > 0 && s.every((x) => x.balance!.health!.state === "up");
    });
    // php-fpm's ping.path answered the checks of the live pool all along.
    const live = (await serverStats(base, "checked")).filter((s) => s.server === `127.0.0.1:${fpm.d.port}`);
    expect(live.length).toBeGreaterThan(0);
    for (const s of live) expect(s.balance!.health).toMatchObject({ state: "up", lastCheck: { ok: true, detail: "200" } });
  });

  it.each([
    ["stop", "pooled (the default)", ["a", "b", "e"]],
    ["stopdirect", 'pool = "direct"', ["c", "d", "f"]],
  ])("/%s/, %s: one pool stopped mid-load, and no GET or small PUT fails (each could be retried on another pool)", async (route, _mode, names) => {
    const victim = fpm[names[2]];
    const port = victim.port;
    let done = 0;
    const failures: string[] = [];
    const counts: Record<string, number> = {};
    const stopping = (async () => {
      while (done < 40) await new Promise((r) => setTimeout(r, 20));
      await victim.stop();
    })();
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 20; i++) {
          const put = (w + i) % 3 === 0;
          const res = await fetch(`${base}/${route}/x?ms=150`, put ? { method: "PUT", body: "x".repeat(1000) } : {});
          const text = await res.text();
          if (res.status !== 200 || text.split(" ")[1] !== (put ? "1000\n" : "0\n")) failures.push(`${res.status} ${text.slice(0, 200)}`);
          const who = text.split(" ")[0];
          counts[who] = (counts[who] ?? 0) + 1;
          done++;
        }
      }),
    );
    await stopping;
    expect(failures).toEqual([]);
    expect(counts[names[2]]).toBeGreaterThan(0); // it did serve before it stopped
    expect(counts[names[0]] + counts[names[1]] + counts[names[2]]).toBe(160);
    // Requests did meet the stopped pool, and moved on.
    const moved = logLines(dev.run.stdout + dev.run.stderr).filter(
      (l) => l.level === "warn" && ["upstream_connect_failed", "upstream_next", "pool_stale_retry"].includes(String(l.event)) && l.origin === `127.0.0.1:${port}`,
    );
    expect(moved.length).toBeGreaterThan(0);
  });
});
