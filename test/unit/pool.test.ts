// The FastCGI connection pool (src/pool) behind the gateway pipeline, against a scripted
// application (test/helpers/fcgi-peer.ts) that can answer, interleave, stay silent, hang up or
// reset on cue. Each test reads as a rule the pool follows.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { createCodec } from "../../src/codec/index.js";
import { FcgiFlags, FcgiProtocolStatus, FcgiType, type Codec } from "../../src/codec/types.js";
import { loadConfig } from "../../src/config/load.js";
import { createGateway } from "../../src/core/gateway.js";
import { ABORT_GRACE_MS, MPX_BUFFER_LIMIT } from "../../src/pool/connection.js";
import { PoolRegistry } from "../../src/pool/registry.js";
import { REPLAY_LIMIT } from "../../src/core/replay.js";
import { ScriptedPeer, type PeerRequest, type PeerScript } from "../helpers/fcgi-peer.js";

let codec: Codec;
beforeAll(async () => {
  codec = createCodec(await loadWasmModuleFromDisk());
});

const PHP_FPM_VALUES: PeerScript["values"] = () => [["FCGI_MPXS_CONNS", "0"]];
const mpxValues =
  (maxConns: number, maxReqs: number): PeerScript["values"] =>
  () => [
    ["FCGI_MAX_CONNS", String(maxConns)],
    ["FCGI_MAX_REQS", String(maxReqs)],
    ["FCGI_MPXS_CONNS", "1"],
  ];

let pools: PoolRegistry | undefined;
afterEach(() => pools?.dispose());

function setup(upstreamKeys: string, script: PeerScript, servers = `["127.0.0.1:9000"]`) {
  const peer = new ScriptedPeer(codec, script);
  const lines: string[] = [];
  const sink = (_: string, line: string) => void lines.push(line);
  pools = new PoolRegistry(sink);
  const readTimeout = upstreamKeys.includes("read_timeout") ? "" : 'read_timeout = "5s"\n';
  const toml = `[upstreams.app]\nprotocol = "fastcgi"\nservers = ${servers}\n${readTimeout}${upstreamKeys}\n[[routes]]\nmatch = "/"\nupstream = "app"\n`;
  const config = loadConfig(toml, "test.toml");
  // One pool object holds the whole upstream here, as on a host without Durable Objects.
  config.upstreams.app.pool.shards = 1;
  const registry = pools;
  const gateway = createGateway({
    config,
    codec,
    dial: peer.dial,
    sink,
    connections: (upstream, requestId) => registry.connections({ upstream, codec, dial: peer.dial }, requestId),
  });
  return {
    peer,
    lines,
    fetch: (path: string, init?: RequestInit) => gateway(new Request(`http://gw.test${path}`, init), { requestId: "t" }),
    stats: () => registry.stats()[0]!,
  };
}

/** Polls `cond` (bounded: at most `ms`), for states reached through timers or the wire. */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Answers requests only when the test says so. */
function held() {
  const waiting: PeerRequest[] = [];
  return {
    waiting,
    script: (req: PeerRequest) => void waiting.push(req),
    releaseAll() {
      for (const r of waiting.splice(0)) r.conn.answer(r.id, `ok ${r.params.get("REQUEST_URI")}`);
    },
  };
}

describe("keeping connections", () => {
  it("sends FCGI_GET_VALUES first, then every request with FCGI_KEEP_CONN on one kept connection", async () => {
    const t = setup("", { values: PHP_FPM_VALUES });
    for (let i = 0; i < 5; i++) {
      const res = await t.fetch(`/n${i}`);
      expect(await res.text()).toBe("ok 1");
    }
    expect(t.peer.conns).toHaveLength(1);
    const conn = t.peer.conns[0]!;
    expect(conn.events[0]).toMatchObject({ kind: "values", type: FcgiType.GET_VALUES });
    expect(conn.all).toHaveLength(5);
    expect(conn.all.every((r) => (r.flags & FcgiFlags.KEEP_CONN) !== 0)).toBe(true);
    const s = t.stats();
    expect(s).toMatchObject({ open: 1, idle: 1, busy: 0, queued: 0, served: 5, retried: 0 });
    expect(s.servers[0]).toMatchObject({
      discovery: "done",
      reported: { maxConns: null, maxReqs: null, mpxs: false },
      limits: { maxConns: 8, maxReqs: 8, perConn: 1, mpxs: false, source: "server+config" },
    });
    expect(s.servers[0]!.connections[0]).toMatchObject({ served: 5, inFlight: 0 });
  });

  it("a body at hand goes out with the records that open its request, in one write; one still arriving, as it comes", async () => {
    const t = setup("", { values: PHP_FPM_VALUES, request: (req) => req.conn.answer(req.id, `body ${Buffer.concat(req.stdin).toString()}`) });
    expect(await (await t.fetch("/form", { method: "POST", body: "a=1&b=2" })).text()).toBe("body a=1&b=2");
    const conn = t.peer.conns[0]!;
    const opening = conn.writes.find((w) => w.some((e) => e.kind === "begin-request"))!;
    const stdin = opening.filter((e) => e.kind === "stream" && e.type === FcgiType.STDIN);
    expect(stdin.map((e) => (e.kind === "stream" && !e.end ? Buffer.from(e.data).toString() : "end"))).toEqual(["a=1&b=2", "end"]);
    // A client that sends half, then the rest later: the first half is not held back for it.
    let rest!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("x=1&"));
        rest = () => {
          c.enqueue(new TextEncoder().encode("y=2"));
          c.close();
        };
      },
    });
    const res = t.fetch("/slow", { method: "POST", body, duplex: "half", headers: { "content-length": "7" } } as RequestInit);
    await until(() => conn.writes.some((w) => w.some((e) => e.kind === "stream" && e.type === FcgiType.STDIN && !e.end && Buffer.from(e.data).toString() === "x=1&")));
    rest();
    expect(await (await res).text()).toBe("body x=1&y=2");
  });

  it("once the server has said FCGI_MAX_CONNS, never opens more connections than it, even with max_connections higher", async () => {
    const h = held();
    const t = setup("max_connections = 16", { values: () => [["FCGI_MAX_CONNS", "2"], ["FCGI_MAX_REQS", "2"], ["FCGI_MPXS_CONNS", "0"]], request: h.script });
    const warm = t.fetch("/warm");
    await until(() => h.waiting.length === 1);
    h.releaseAll();
    await (await warm).text();
    await until(() => t.stats().servers[0]!.discovery === "done");
    const responses = Array.from({ length: 6 }, (_, i) => t.fetch(`/r${i}`));
    await until(() => h.waiting.length === 2);
    expect(t.stats()).toMatchObject({ open: 2, busy: 2, queued: 4 });
    while (t.peer.requests.length < 6 || h.waiting.length) {
      h.releaseAll();
      await new Promise((r) => setTimeout(r, 5));
    }
    const bodies = await Promise.all(responses.map(async (r) => (await r).text()));
    expect(bodies.sort()).toEqual(["/r0", "/r1", "/r2", "/r3", "/r4", "/r5"].map((p) => `ok ${p}`));
    expect(t.peer.conns).toHaveLength(2);
    expect(t.stats().servers[0]!.limits).toMatchObject({ maxConns: 2, source: "server" });
  });

  it("max_connections applies while FCGI_GET_VALUES is pending and when it goes unanswered; a late answer still lowers it", async () => {
    const h = held();
    let answerLate = false;
    const t = setup("max_connections = 3", {
      values: () => null,
      request: (req) => {
        // libfcgi answers FCGI_GET_VALUES only once the next request arrives.
        if (answerLate && req.conn.no === 1) req.conn.send(codec.fcgiGetValuesResult([["FCGI_MAX_CONNS", "1"], ["FCGI_MAX_REQS", "1"], ["FCGI_MPXS_CONNS", "0"]]));
        h.script(req);
      },
    });
    const first = Array.from({ length: 4 }, (_, i) => t.fetch(`/a${i}`));
    // A cold burst gets the config's three connections at once, while the answer is pending…
    await until(() => h.waiting.length === 3);
    expect(t.stats().servers[0]!.discovery).toBe("pending");
    expect(t.stats()).toMatchObject({ open: 3, queued: 1 });
    // …and keeps them when no answer comes.
    await until(() => t.stats().servers[0]!.discovery === "done");
    expect(t.stats().servers[0]!.limits).toMatchObject({ maxConns: 3, source: "config" });
    h.releaseAll();
    await until(() => h.waiting.length === 1);
    h.releaseAll();
    await Promise.all(first);
    answerLate = true;
    const again = t.fetch("/late");
    await until(() => h.waiting.length === 1);
    h.releaseAll();
    expect(await (await again).text()).toBe("ok /late");
    await until(() => t.stats().open === 1);
    expect(t.stats().servers[0]!.limits).toMatchObject({ maxConns: 1, source: "server" });
  });

  it("closes an idle connection after idle_timeout", async () => {
    const t = setup(`idle_timeout = "100ms"`, { values: PHP_FPM_VALUES });
    await (await t.fetch("/")).text();
    expect(t.stats().open).toBe(1);
    await until(() => t.stats().open === 0);
    expect(t.peer.conns[0]!.closedByGateway).toBe(true);
    expect(t.stats().servers[0]!.closedByGateway).toBe(1);
  });

  it("a connection used again counts its idle time from its last use, not its first", async () => {
    const t = setup(`idle_timeout = "300ms"`, { values: PHP_FPM_VALUES });
    await (await t.fetch("/")).text();
    await new Promise((r) => setTimeout(r, 200));
    const second = Date.now();
    await (await t.fetch("/")).text();
    expect(t.peer.conns).toHaveLength(1);
    await until(() => t.stats().open === 0);
    // Closed no sooner than 300 ms after the second request began (the first use's time
    // was up 100 ms after it).
    expect(Date.now() - second).toBeGreaterThanOrEqual(300);
    expect(t.stats().servers[0]!.closedByGateway).toBe(1);
  });

  it("notices a server closing an idle connection, and uses a new one without a retry", async () => {
    const t = setup("", { values: PHP_FPM_VALUES });
    await (await t.fetch("/")).text();
    t.peer.conns[0]!.hangUp();
    await until(() => t.stats().open === 0);
    expect(await (await t.fetch("/")).text()).toBe("ok 1");
    expect(t.peer.conns).toHaveLength(2);
    expect(t.stats()).toMatchObject({ retried: 0, served: 2 });
    expect(t.stats().servers[0]!.closedByServer).toBe(1);
  });

  it("stops reusing connections of a server that closes each one after a request (uWSGI)", async () => {
    const t = setup("", {
      values: () => null,
      request: (req) => {
        req.conn.answer(req.id, "ok");
        req.conn.hangUp();
      },
    });
    for (let i = 0; i < 5; i++) expect((await t.fetch("/")).status).toBe(200);
    await until(() => t.stats().servers[0]!.singleUse);
    for (let i = 0; i < 3; i++) expect((await t.fetch("/")).status).toBe(200);
    expect(t.stats().open).toBe(0);
  });

  it("tries the next server when a connect fails", async () => {
    const t = setup("", { values: PHP_FPM_VALUES }, `["127.0.0.1:9000", "127.0.0.1:9001"]`);
    t.peer.refuse = 1;
    const res = await t.fetch("/");
    expect(res.status).toBe(200);
    expect(t.stats().servers.map((s) => s.connectFailures).sort()).toEqual([0, 1]);
  });
});

describe("multiplexing (FCGI_MPXS_CONNS = 1)", () => {
  it("puts concurrent requests on one connection with distinct ids, demultiplexes interleaved records out of order", async () => {
    const h = held();
    const t = setup("max_connections = 1", { values: mpxValues(1, 10), request: h.script });
    const responses = Array.from({ length: 10 }, (_, i) => t.fetch(`/m${i}`));
    await until(() => h.waiting.length === 10);
    expect(t.peer.conns).toHaveLength(1);
    const conn = t.peer.conns[0]!;
    const ids = h.waiting.map((r) => r.id);
    expect(new Set(ids).size).toBe(10);
    expect(Math.max(...ids)).toBe(10);
    // Heads for all, in reverse order; then the bodies one byte-run at a time, round robin.
    const reqs = h.waiting.splice(0).reverse();
    for (const r of reqs) conn.stdout(r.id, "Status: 200 OK\r\n\r\n");
    for (let k = 0; k < 3; k++) for (const r of reqs) conn.stdout(r.id, `${r.params.get("REQUEST_URI")}.${k};`);
    for (const r of reqs) conn.end(r.id);
    const bodies = await Promise.all(responses.map(async (r) => (await r).text()));
    bodies.forEach((b, i) => expect(b).toBe(`/m${i}.0;/m${i}.1;/m${i}.2;`));
    // Ids are reused once their requests ended.
    const next = t.fetch("/again");
    await until(() => h.waiting.length === 1);
    expect(h.waiting[0]!.id).toBe(1);
    h.releaseAll();
    await next;
    expect(t.stats()).toMatchObject({ open: 1, served: 11 });
    expect(t.stats().servers[0]!.limits).toMatchObject({ mpxs: true, perConn: 10, maxReqs: 10 });
  });

  it("a client that goes away gets ABORT_REQUEST sent; the connection stays in use", async () => {
    const t = setup("max_connections = 1", {
      values: mpxValues(1, 10),
      request: (req) => {
        if (req.params.get("REQUEST_URI") === "/slow") req.conn.stdout(req.id, "Status: 200 OK\r\n\r\nfirst");
        else req.conn.answer(req.id, "fine");
      },
      abort: (req) => req.conn.end(req.id),
    });
    const res = await t.fetch("/slow");
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first");
    await reader.cancel();
    const conn = t.peer.conns[0]!;
    await until(() => conn.all[0]!.aborted);
    expect(conn.events.some((e) => e.kind === "abort-request" && e.requestId === 1)).toBe(true);
    expect(await (await t.fetch("/next")).text()).toBe("fine");
    expect(t.peer.conns).toHaveLength(1);
    expect(conn.open).toBe(true);
    await until(() => t.stats().busy === 0);
  });

  it("a slow client cannot stall the others: past the buffer bound its request is aborted", async () => {
    const big = new Uint8Array(64 * 1024).fill(0x61);
    const t = setup("max_connections = 1", {
      values: mpxValues(1, 10),
      request: (req) => {
        if (req.params.get("REQUEST_URI") !== "/flood") return req.conn.answer(req.id, "quick");
        req.conn.stdout(req.id, "Status: 200 OK\r\n\r\n");
        for (let i = 0; i < (2 * MPX_BUFFER_LIMIT) / big.length; i++) req.conn.stdout(req.id, big);
      },
      abort: (req) => req.conn.end(req.id),
    });
    const flood = await t.fetch("/flood"); // the head; nobody reads the body
    expect(await (await t.fetch("/quick")).text()).toBe("quick");
    const conn = t.peer.conns[0]!;
    await until(() => conn.all[0]!.aborted);
    await expect(flood.text()).rejects.toThrow();
    expect(t.lines.some((l) => l.includes('"event":"pool_client_too_slow"'))).toBe(true);
    expect(conn.open).toBe(true);
  });
});

describe("one request at a time (FCGI_MPXS_CONNS = 0)", () => {
  it("a client that goes away: ABORT_REQUEST, and the connection is not reused", async () => {
    const t = setup("", {
      values: PHP_FPM_VALUES,
      request: (req) => {
        if (req.params.get("REQUEST_URI") === "/slow") req.conn.stdout(req.id, "Status: 200 OK\r\n\r\nfirst");
        else req.conn.answer(req.id, "fine");
      },
      abort: (req) => req.conn.end(req.id),
    });
    const res = await t.fetch("/slow");
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => !t.peer.conns[0]!.open);
    expect(t.peer.conns[0]!.all[0]!.aborted).toBe(true);
    expect(await (await t.fetch("/next")).text()).toBe("fine");
    expect(t.stats()).toMatchObject({ open: 1, busy: 0 });
  });

  it("an app that ignores ABORT_REQUEST (php-fpm) has its connection closed after the grace period", async () => {
    const t = setup("", {
      values: PHP_FPM_VALUES,
      request: (req) => req.conn.stdout(req.id, "Status: 200 OK\r\n\r\nfirst"),
    });
    const res = await t.fetch("/slow");
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => !t.peer.conns[0]!.open, ABORT_GRACE_MS + 2000);
    expect(t.peer.conns[0]!.closedByGateway).toBe(true);
    expect(t.lines.some((l) => l.includes('"event":"pool_abort_unanswered"'))).toBe(true);
    expect(t.stats().open).toBe(0);
  });
});

describe("read_timeout on a kept connection", () => {
  it("a request whose app stays silent gets 504 UPSTREAM_READ_TIMEOUT; the connection stays for the next", async () => {
    let n = 0;
    const t = setup('read_timeout = "200ms"\nmax_connections = 1', {
      values: PHP_FPM_VALUES,
      request: (req) => {
        if (++n > 1) req.conn.answer(req.id, "second");
      },
    });
    const started = Date.now();
    const res = await t.fetch("/a.php");
    expect([res.status, res.headers.get("x-edgepass-error")]).toEqual([504, "UPSTREAM_READ_TIMEOUT"]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await (await t.fetch("/b.php")).text()).toBe("second");
  });

  it("the end of one request does not take the read deadline of the next one given its id", async () => {
    // Request 1's body is still being handed to its client when it ends (END_REQUEST), so its
    // id is free and request 2 gets it on the same connection while request 1 is not done;
    // its app then stays silent. Request 1 finishing afterwards must not drop 2's deadline.
    const big = "x".repeat(256 * 1024);
    let n = 0;
    const t = setup('read_timeout = "300ms"\nmax_connections = 1', {
      values: PHP_FPM_VALUES,
      request: (req) => {
        if (++n === 1) req.conn.answer(req.id, big);
      },
    });
    const first = await t.fetch("/first.php");
    const reader = first.body!.getReader();
    await reader.read();
    const second = t.fetch("/second.php");
    await until(() => t.peer.conns[0]!.all.length === 2);
    expect(t.peer.conns[0]!.all[1]!.id).toBe(t.peer.conns[0]!.all[0]!.id);
    let got = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      got += r.value.length;
    }
    expect(got).toBeGreaterThan(0);
    const res = await Promise.race([second, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    expect(res && [res.status, res.headers.get("x-edgepass-error")]).toEqual([504, "UPSTREAM_READ_TIMEOUT"]);
  });
});

describe("the wait queue", () => {
  it("past `queue` waiting requests: 503 at once, with Retry-After and a body that says saturated", async () => {
    const h = held();
    const t = setup(`max_connections = 1\nqueue = 1\nqueue_timeout = "5s"`, { values: PHP_FPM_VALUES, request: h.script });
    const first = t.fetch("/1");
    await until(() => h.waiting.length === 1);
    const second = t.fetch("/2");
    await until(() => t.stats().queued === 1);
    const third = await t.fetch("/3");
    expect(third.status).toBe(503);
    expect(third.headers.get("retry-after")).toBe("1");
    expect(third.headers.get("x-edgepass-error")).toBe("POOL_SATURATED");
    expect(await third.text()).toContain('The upstream "app" is saturated: all 1 of its connections are busy and 1 requests are already waiting for one (queue = 1)');
    h.releaseAll();
    await until(() => h.waiting.length === 1);
    h.releaseAll();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(t.stats().rejected).toEqual({ queueFull: 1, queueTimeout: 0 });
  });

  it("a client that goes away while waiting leaves the queue", async () => {
    const h = held();
    const t = setup(`max_connections = 1`, { values: PHP_FPM_VALUES, request: h.script });
    const first = t.fetch("/1");
    await until(() => h.waiting.length === 1);
    const ac = new AbortController();
    const second = t.fetch("/2", { signal: ac.signal });
    await until(() => t.stats().queued === 1);
    ac.abort();
    expect((await second).headers.get("x-edgepass-error")).toBe("CLIENT_GONE");
    expect(t.stats().queued).toBe(0);
    h.releaseAll();
    expect((await first).status).toBe(200);
    expect(t.peer.requests).toHaveLength(1);
  });

  it("a request that waits longer than queue_timeout: 503", async () => {
    const h = held();
    const t = setup(`max_connections = 1\nqueue_timeout = "150ms"`, { values: PHP_FPM_VALUES, request: h.script });
    const first = t.fetch("/1");
    await until(() => h.waiting.length === 1);
    const second = await t.fetch("/2");
    expect(second.status).toBe(503);
    expect(await second.text()).toContain("none became free within 0.15 s (queue_timeout)");
    h.releaseAll();
    expect((await first).status).toBe(200);
    expect(t.stats()).toMatchObject({ queued: 0, rejected: { queueFull: 0, queueTimeout: 1 } });
  });
});

describe("stale kept connections", () => {
  /** The app ends every connection once it served `n` requests, the way php-fpm recycles a
   *  worker at pm.max_requests — but only when the next request arrives (the race). */
  function recycling(n: number, how: "hangUp" | "reset" = "hangUp"): PeerScript {
    return {
      values: PHP_FPM_VALUES,
      request: (req) => {
        if (req.conn.all.length > n) return req.conn[how]();
        const body = req.stdin.reduce((k, p) => k + p.length, 0);
        req.conn.answer(req.id, `conn ${req.conn.no} body ${body}`);
      },
    };
  }

  it.each(["hangUp", "reset"] as const)("a request that meets a stale connection (%s) is sent again on a new one", async (how) => {
    const t = setup("", recycling(1, how));
    expect(await (await t.fetch("/")).text()).toBe("conn 1 body 0");
    expect(await (await t.fetch("/", { method: "POST", body: "x".repeat(1000) })).text()).toBe("conn 2 body 1000");
    expect(t.stats().retried).toBe(1);
    expect(t.lines.some((l) => l.includes('"event":"pool_stale_retry"'))).toBe(true);
  });

  it("a body too large to hold for a resend never rides a kept connection: it gets a new one", async () => {
    const t = setup("", recycling(1));
    await (await t.fetch("/")).text();
    const res = await t.fetch("/", { method: "POST", body: new Uint8Array(REPLAY_LIMIT + 1) });
    expect(res.status).toBe(200);
    await res.text();
    // Nothing was resent: the kept connection (which would have failed) was never used for it.
    expect(t.stats().retried).toBe(0);
    expect(t.peer.conns).toHaveLength(2);
    expect(t.peer.conns[0]!.all).toHaveLength(1);
  });

  it("a POST never, on a connection that had not been used before", async () => {
    const t = setup("", recycling(0));
    const res = await t.fetch("/", { method: "POST", body: "a=1" });
    expect(res.status).toBe(502);
    expect(t.stats().retried).toBe(0);
    expect(t.peer.conns).toHaveLength(1);
  });

  it("a GET once more on a new connection when a new one closed unanswered (an origin going down), and no more", async () => {
    const t = setup("", recycling(0));
    const res = await t.fetch("/");
    expect(res.status).toBe(502);
    expect(t.stats().retried).toBe(1);
    expect(t.peer.conns).toHaveLength(2);
  });

  it("never once a byte of the response arrived", async () => {
    const t = setup("", {
      values: PHP_FPM_VALUES,
      request: (req) => {
        if (req.conn.all.length === 1) return req.conn.answer(req.id, "one");
        req.conn.stdout(req.id, "Status: 200");
        req.conn.hangUp();
      },
    });
    await (await t.fetch("/")).text();
    const res = await t.fetch("/");
    expect(res.status).toBe(502);
    expect(t.stats().retried).toBe(0);
  });

  it("a POST a server refuses unread (OVERLOADED) goes to the next server with its body whole", async () => {
    let refused = 0;
    const t = setup(
      "",
      {
        values: PHP_FPM_VALUES,
        request: (req) => {
          if (refused++ === 0) return req.conn.end(req.id, FcgiProtocolStatus.OVERLOADED);
          req.conn.answer(req.id, `body ${Buffer.concat(req.stdin).toString()}`);
        },
      },
      `["127.0.0.1:9000", "127.0.0.1:9001"]`,
    );
    const res = await t.fetch("/form", { method: "POST", body: "a=1&b=2" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("body a=1&b=2");
    expect(t.lines.some((l) => l.includes('"event":"upstream_next"'))).toBe(true);
  });

  it("OVERLOADED is a 503, not a retry", async () => {
    const t = setup("", { values: PHP_FPM_VALUES, request: (req) => req.conn.end(req.id, FcgiProtocolStatus.OVERLOADED) });
    const res = await t.fetch("/");
    expect(res.status).toBe(503);
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_OVERLOADED");
  });
});
