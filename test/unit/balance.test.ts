// The balancer without any network: the order servers are tried in for each balance method,
// weights, backups, passive health (max_fails within fail_timeout), health-check state, the
// per-request plan's budget, and the consistent hash's promise (adding a server moves few keys).
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { UpstreamConfig } from "../../src/config/types.js";
import { Peers } from "../../src/balance/peers.js";
import { Plan } from "../../src/balance/plan.js";
import { hashKeyOf, rendezvous } from "../../src/balance/hash.js";
import type { Exchange, ExchangeContext, ForwardRequest } from "../../src/core/exchange.js";

function upstream(servers: string[], extra = ""): UpstreamConfig {
  const list = servers.map((s) => JSON.stringify(s)).join(", ");
  const text = `[upstreams.app]\nprotocol = "fastcgi"\nservers = [${list}]\nmax_connections = 2\n${extra}\n[[routes]]\nmatch = "/"\nupstream = "app"\n`;
  return loadConfig(text, "test.toml", undefined, "server").upstreams.app;
}

/** A clock the test moves. */
function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const first = (p: Peers, n: number, key: string | null = null) => Array.from({ length: n }, () => p.order(key)[0]);
const count = (xs: number[]) => xs.reduce<Record<number, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

describe("round robin", () => {
  it("takes each server in turn, and the others after the first in order", () => {
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000"]));
    expect(first(p, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(p.order(null)).toEqual([0, 1, 2]);
    expect(p.order(null)).toEqual([1, 2, 0]);
  });

  it("weight=5 against two of weight 1: nginx's smooth sequence a a b a c a a", () => {
    const p = new Peers(upstream(["10.0.0.1:9000 weight=5", "10.0.0.2:9000", "10.0.0.3:9000"]));
    expect(first(p, 7)).toEqual([0, 0, 1, 0, 2, 0, 0]);
  });

  it("backups take nothing while a primary is up, and come last in the order", () => {
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000 backup"]));
    expect(new Set(first(p, 10))).toEqual(new Set([0, 1]));
    expect(p.order(null)[2]).toBe(2);
  });
});

describe("passive health (max_fails, fail_timeout)", () => {
  it("max_fails = 1 (default): one failure takes the server out for fail_timeout, then it is back", () => {
    const c = clock();
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000"], 'fail_timeout = "10s"'), c.now);
    p.fail(0);
    expect(first(p, 4)).toEqual([1, 1, 1, 1]);
    expect(p.stats()[0]).toMatchObject({ state: "down", why: "failed" });
    c.t += 10_001;
    expect(new Set(first(p, 4))).toEqual(new Set([0, 1]));
  });

  it("max_fails = 3: out only after three failures within fail_timeout; failures further apart never add up", () => {
    const c = clock();
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000"], 'max_fails = 3\nfail_timeout = "10s"'), c.now);
    p.fail(0);
    p.fail(0);
    expect(p.available(0)).toBe(true);
    c.t += 11_000; // the window passed: the count starts over
    p.fail(0);
    p.fail(0);
    expect(p.available(0)).toBe(true);
    p.fail(0);
    expect(p.available(0)).toBe(false);
  });

  it("max_fails = 0 never takes a server out; a per-server max_fails= overrides the upstream's", () => {
    const p = new Peers(upstream(["10.0.0.1:9000 max_fails=0", "10.0.0.2:9000"], "max_fails = 5"));
    for (let i = 0; i < 10; i++) p.fail(0);
    expect(p.available(0)).toBe(true);
    expect(p.servers[1].maxFails).toBe(5);
  });

  it("the backup serves only once every primary is down; with all down, every server is tried anyway", () => {
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000 backup"]));
    p.fail(0);
    expect(p.order(null)).toEqual([1, 2]);
    p.fail(1);
    expect(p.order(null)).toEqual([2]);
    p.fail(2);
    expect(p.order(null).sort()).toEqual([0, 1, 2]);
  });

  it("an answer forgives earlier failures", () => {
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000"], "max_fails = 2"));
    p.fail(0);
    p.ok(0);
    p.fail(0);
    expect(p.available(0)).toBe(true);
  });
});

describe("active health state", () => {
  it("down after `fails` failed checks in a row, up after `passes` passed ones", () => {
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000"], 'health_check = { interval = "1s", fails = 2, passes = 3 }'));
    expect(p.checkResult(0, false, "timeout", 2, 3)).toBeNull();
    expect(p.checkResult(0, true, "ok", 2, 3)).toBeNull(); // a pass in between resets the count
    expect(p.checkResult(0, false, "timeout", 2, 3)).toBeNull();
    expect(p.checkResult(0, false, "timeout", 2, 3)).toBe("down");
    expect(p.order(null)).toEqual([1]);
    expect(p.stats()[0]).toMatchObject({ state: "down", why: "check", health: { state: "down" } });
    expect(p.checkResult(0, true, "ok", 2, 3)).toBeNull();
    expect(p.checkResult(0, true, "ok", 2, 3)).toBeNull();
    expect(p.checkResult(0, true, "ok", 2, 3)).toBe("up");
    expect(p.order(null).sort()).toEqual([0, 1]);
  });
});

describe("least_conn and random_two", () => {
  it("least_conn: the server with the fewest requests per weight; ties take turns", () => {
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000 weight=2", "10.0.0.3:9000"], 'balance = "least_conn"'));
    const load = [3, 4, 1];
    expect(p.order(null, (i) => load[i])[0]).toBe(2);
    const even = [1, 2, 1]; // per weight: 1, 1, 1
    expect(new Set(Array.from({ length: 6 }, () => p.order(null, (i) => even[i])[0]))).toEqual(new Set([0, 1, 2]));
  });

  it("random_two: of the two drawn, the less loaded; a server far busier than the others is never first", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const p = new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000"], 'balance = "random_two"'), Date.now, random);
    const load = [0, 0, 100];
    const firsts = count(Array.from({ length: 300 }, () => p.order(null, (i) => load[i])[0]));
    expect(firsts[2]).toBeUndefined();
    expect(firsts[0]).toBeGreaterThan(50);
    expect(firsts[1]).toBeGreaterThan(50);
  });
});

describe("hash", () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `/item/${i}?session=${(i * 7919) % 104_729}`);
  const servers = ["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000", "10.0.0.4:9000"];

  it("the same key always goes to the same server, whatever the state of the round robin", () => {
    const p = new Peers(upstream(servers.slice(0, 3), 'balance = "hash"\nhash_key = "uri"'));
    for (const k of keys.slice(0, 50)) expect(new Set(first(p, 5, k)).size).toBe(1);
  });

  it("adding a fourth server to three moves about a quarter of the keys, all of them to the new server", () => {
    const three = upstream(servers.slice(0, 3), 'balance = "hash"');
    const four = upstream(servers, 'balance = "hash"');
    let moved = 0;
    for (const k of keys) {
      const before = rendezvous(three.servers, [0, 1, 2], k)[0];
      const after = rendezvous(four.servers, [0, 1, 2, 3], k)[0];
      if (before !== after) {
        moved++;
        expect(after).toBe(3);
      }
    }
    expect(moved / keys.length).toBeGreaterThan(0.15);
    expect(moved / keys.length).toBeLessThan(0.35);
  });

  it("spreads by weight: weight=2 wins about half the keys of three servers weighing 2, 1, 1", () => {
    const u = upstream(["10.0.0.1:9000 weight=2", "10.0.0.2:9000", "10.0.0.3:9000"], 'balance = "hash"');
    const share = count(keys.map((k) => rendezvous(u.servers, [0, 1, 2], k)[0]));
    expect(share[0] / keys.length).toBeGreaterThan(0.45);
    expect(share[0] / keys.length).toBeLessThan(0.55);
  });

  it("a server that is down passes its keys on; the others keep theirs", () => {
    const p = new Peers(upstream(servers.slice(0, 3), 'balance = "hash"'));
    const before = keys.slice(0, 300).map((k) => p.order(k)[0]);
    p.fail(1);
    const after = keys.slice(0, 300).map((k) => p.order(k)[0]);
    before.forEach((b, i) => (b === 1 ? expect(after[i]).not.toBe(1) : expect(after[i]).toBe(b)));
  });

  it("keys from the request: ip, uri, a header, a cookie; none found is null (round robin then)", () => {
    const req = { clientAddr: "192.0.2.7", target: "/a?b=1", headers: [["X-Tenant", "acme"], ["Cookie", "a=1; sid=xyz; b=2"]] as Array<[string, string]> };
    expect(hashKeyOf({ kind: "ip" }, req)).toBe("192.0.2.7");
    expect(hashKeyOf({ kind: "uri" }, req)).toBe("/a?b=1");
    expect(hashKeyOf({ kind: "header", name: "x-tenant" }, req)).toBe("acme");
    expect(hashKeyOf({ kind: "cookie", name: "sid" }, req)).toBe("xyz");
    expect(hashKeyOf({ kind: "cookie", name: "none" }, req)).toBeNull();
  });
});

describe("one request's plan", () => {
  it("each server once by default; next_upstream_tries bounds it, the first try included", () => {
    const all = new Plan(new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000"])), null);
    const seen: number[] = [];
    for (let i = all.candidates()[0]; i !== undefined; i = all.candidates()[0]) {
      all.take(i);
      seen.push(i);
    }
    expect(seen.sort()).toEqual([0, 1, 2]);
    const two = new Plan(new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000"], "next_upstream_tries = 2")), null);
    two.take(two.candidates()[0]);
    two.take(two.candidates()[0]);
    expect(two.hasNext()).toBe(false);
  });

  it("next_upstream_timeout: no new try once it has passed since the first", () => {
    const c = clock();
    const plan = new Plan(new Peers(upstream(["10.0.0.1:9000", "10.0.0.2:9000"], 'next_upstream_timeout = "2s"'), c.now), null, c.now);
    plan.take(plan.candidates()[0]);
    c.t += 2_500;
    expect(plan.hasNext()).toBe(false);
  });
});

describe("config", () => {
  const bad = (servers: string[], extra: string) => () => upstream(servers, extra);
  it("refuses what it cannot honour, naming the key", () => {
    expect(bad(["10.0.0.1:9000 weight=0"], "")).toThrow(/weight= needs an integer from 1/);
    expect(bad(["10.0.0.1:9000 heavy"], "")).toThrow(/unknown server option "heavy"/);
    expect(bad(["10.0.0.1:9000 backup"], "")).toThrow(/every server is marked backup/);
    expect(bad(["10.0.0.1:9000"], 'balance = "ip_hash"')).toThrow(/balance = "hash" with hash_key = "ip"/);
    expect(bad(["10.0.0.1:9000"], 'hash_key = "uri"')).toThrow(/no hash_key unless balance = "hash"/);
    expect(bad(["10.0.0.1:9000"], 'balance = "hash"\nhash_key = "$remote_addr"')).toThrow(/hash_key/);
    expect(bad(["10.0.0.1:9000"], "health_check = { interval = 5 , probe = 1 }")).toThrow(/unknown key/);
  });

  it("reads every key", () => {
    const u = upstream(["10.0.0.1:9000 weight=3 max_fails=2 fail_timeout=30s", "10.0.0.2:9000 backup"], [
      'balance = "hash"', 'hash_key = "cookie:sid"', 'fail_timeout = "5s"', "next_upstream_tries = 2", 'next_upstream_timeout = "3s"',
      'health_check = { interval = "2s", fails = 3, passes = 1, path = "/ping" }',
    ].join("\n"));
    expect(u.servers[0]).toMatchObject({ weight: 3, maxFails: 2, failTimeoutMs: 30_000, backup: false });
    expect(u.servers[1]).toMatchObject({ weight: 1, maxFails: 1, failTimeoutMs: 5_000, backup: true });
    expect(u.balance).toEqual({
      method: "hash",
      hashKey: { kind: "cookie", name: "sid" },
      tries: 2,
      timeoutMs: 3_000,
      healthCheck: { intervalMs: 2_000, fails: 3, passes: 1, path: "/ping", timeoutMs: 2_000 },
    });
  });
});

describe("Cloudflare's 6 connections per pool object, with several servers", () => {
  const edge = (servers: string[], extra = "") =>
    loadConfig(`[upstreams.app]\nprotocol = "fastcgi"\nservers = [${servers.map((x) => JSON.stringify(x)).join(", ")}]\n${extra}\n[[routes]]\nmatch = "/"\nupstream = "app"\n`, "t.toml").upstreams.app;

  it("the default shards keep every object within 6 connections over all servers, backups included", () => {
    for (const n of [1, 2, 3, 4, 6]) {
      const servers = Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:9000${i === n - 1 && n > 1 ? " backup" : ""}`);
      const u = edge(servers);
      expect(n * Math.max(1, Math.floor(u.pool.maxConnections / u.pool.shards))).toBeLessThanOrEqual(6);
    }
  });

  it("shards that would put more on one object are refused, naming the servers", () => {
    expect(() => edge(["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000 backup"], "shards = 1\nmax_connections = 3")).toThrow(/3 server\(s\) × max_connections 3/);
  });
});


describe("forwardBalanced", () => {
  // Not copies: a copy of the request or its context is an object of another shape, and every
  // read of its fields in the exchanges then went through V8's generic lookup (README, the
  // serve bench's notes).
  it("hands every try the request and context it was given, each try's copy of a held body on that request", async () => {
    const { forwardBalanced } = await import("../../src/balance/next-upstream.js");
    const { readBody } = await import("../../src/core/body.js");
    const { PiecesBody, heldPieces } = await import("../../src/core/pieces.js");
    const { GatewayError } = await import("../../src/core/errors.js");
    const u = upstream(["10.0.0.1:9000", "10.0.0.2:9000"]);
    const text = new TextEncoder().encode("a=1&b=2");
    const req = {
      method: "POST",
      body: { length: text.length, stream: new PiecesBody(heldPieces([text])), count: undefined },
      log: { log() {} },
    } as unknown as ForwardRequest;
    const ctx = { upstream: u, plan: undefined } as unknown as ExchangeContext;
    const seen: Array<{ req: unknown; ctx: unknown; plan: unknown; body: string }> = [];
    const exchange: Exchange = {
      cgi: true,
      needsLength: () => true,
      async forward(r, c) {
        const pieces = readBody(r.body!);
        let body = "";
        for (let got = await pieces.next(); got !== null; got = await pieces.next()) for (const p of got) body += new TextDecoder().decode(p);
        seen.push({ req: r, ctx: c, plan: c.plan, body });
        // The first server refuses the request unread (FastCGI OVERLOADED): the body is held, so
        // the next server is tried, a POST too.
        const server = c.plan!.candidates()[0]!;
        c.plan!.take(server);
        c.plan!.connected(server);
        if (seen.length === 1) throw new GatewayError("UPSTREAM_OVERLOADED", 503, "overloaded");
        return { status: 200, statusText: "OK", headers: [], body: null };
      },
    };
    const res = await forwardBalanced(exchange, req, ctx, new Peers(u));
    expect(res.status).toBe(200);
    expect(seen.map((s) => s.body)).toEqual(["a=1&b=2", "a=1&b=2"]);
    for (const s of seen) {
      expect(s.req).toBe(req);
      expect(s.ctx).toBe(ctx);
      expect(s.plan).toBeDefined();
    }
  });
});
