// SECURITY.md's retry rules, proven by counting what the origin received, through `edgepass
// dev` with the default pooled HTTP upstream: a connect failure moves on to the next server
// (nothing reached any origin); a kept connection that the server closes as the request
// crosses it is tried once more on a new one (README, "Stale connections"), and so is a GET
// whose new connection the origin closes unanswered (an origin going down); once any byte of
// the response arrived, or the origin went silent, the request is never sent again; a body
// too large to hold for a resend never rides a kept connection at all.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startCountingOrigin, type CountingOrigin } from "../helpers/counting-origin.js";
import { dropFirst, startRogueFastcgi } from "../helpers/rogue-fastcgi.js";
import type { ScriptedServer } from "../helpers/scripted-server.js";
import { freePort } from "../helpers/php-fpm.js";
import { startDev, startServe, type Dev } from "../helpers/process.js";
import { rawRequest, rawSession } from "../helpers/raw-http.js";
import { linesLike } from "../helpers/log-lines.js";

let origin: CountingOrigin;
let fcgi: ScriptedServer;
let dev: Dev;
let base: string;

beforeAll(async () => {
  [origin, fcgi] = await Promise.all([startCountingOrigin(), startRogueFastcgi()]);
  const dead = await freePort(); // nothing listens there
  dev = await startDev(
    `[upstreams.one]
protocol = "http"
servers = ["127.0.0.1:${origin.port}"]
read_timeout = "1s"
max_connections = 2

[upstreams.down]
protocol = "http"
servers = ["127.0.0.1:${dead}"]

[upstreams.down_fcgi]
protocol = "fastcgi"
servers = ["127.0.0.1:${dead}"]

[upstreams.fcgi]
protocol = "fastcgi"
servers = ["127.0.0.1:${fcgi.port}"]

[[routes]]
match = "/down/"
upstream = "down"

[[routes]]
match = "/fcgi/"
upstream = "fcgi"

[[routes]]
match = "/down-fcgi/"
upstream = "down_fcgi"

[upstreams.two]
protocol = "http"
servers = ["127.0.0.1:${dead}", "127.0.0.1:${origin.port}"]
max_connections = 2

[[routes]]
match = "/two/"
upstream = "two"

[[routes]]
match = "/"
upstream = "one"
`,
  );
  base = dev.base;
});

afterAll(async () => {
  await dev?.stop();
  await origin?.close();
  await fcgi?.close();
});

beforeEach(async () => {
  // No kept connection carries over from one case to the next.
  origin.hangUpAll();
  await new Promise((r) => setTimeout(r, 100));
  origin.arrived.clear();
  origin.answered.clear();
});

const post = (p: string, body: string | Buffer) => rawRequest(base, { method: "POST", path: p, body });

describe("what the origin receives, counted", () => {
  it("a connect failure: the POST goes to the next server, and arrives once", async () => {
    const res = await post("/two/ok", "a=1");
    expect(res.status).toBe(200);
    expect(origin.arrived.get("/two/ok")).toBe(1);
    // A fresh pool starts its round robin at the first server, the dead one.
    expect(linesLike(dev.run.stdout + dev.run.stderr, { event: "upstream_connect_failed", upstream: "two" })).not.toHaveLength(0);
  });

  it("a kept connection closed as the POST crosses it: sent once more on a new connection, answered once", async () => {
    expect((await rawRequest(base, { path: "/drop-next" })).status).toBe(200);
    const res = await post("/victim", "a=1");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("/victim 3\n");
    // The first copy was read by a server that then closed without answering (the case the
    // README names: a server done with the connection), the second answered.
    expect(origin.arrived.get("/victim")).toBe(2);
    expect(origin.answered.get("/victim")).toBe(1);
  });

  it("a body too large to hold for a resend (128 KiB) never rides a kept connection: a new one, sent once, answered", async () => {
    expect((await rawRequest(base, { path: "/drop-next" })).status).toBe(200);
    const before = origin.connections;
    const res = await post("/big-victim", Buffer.alloc(128 * 1024, 0x61));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(`/big-victim ${128 * 1024}\n`);
    expect(origin.arrived.get("/big-victim")).toBe(1);
    expect(origin.connections).toBe(before + 1);
  });

  it("a GET whose new connection the origin closes unanswered (an origin going down): sent once more on another new one, answered", async () => {
    const before = origin.connections;
    const res = await rawRequest(base, { path: "/drop-first" });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("/drop-first 0\n");
    expect(origin.arrived.get("/drop-first")).toBe(2);
    expect(origin.answered.get("/drop-first")).toBe(1);
    expect(origin.connections).toBe(before + 2);
  });

  it("a POST on a new connection the origin closes unanswered is not sent again: 502", async () => {
    const res = await post("/drop-first", "a=1");
    expect(res.status).toBe(502);
    expect(res.get("x-edgepass-error")).toBe("UPSTREAM_CLOSED_EARLY");
    expect(origin.arrived.get("/drop-first")).toBe(1);
  });

  it.each([
    ["GET", 200, 2],
    ["POST", 502, 1],
  ])("FastCGI (a server that closes every connection after one request): %s whose connection closes unanswered → %i, arrived %i times", async (method, status, arrived) => {
    Object.assign(dropFirst, { armed: true, arrived: 0 });
    const res = await rawRequest(base, { method, path: "/fcgi/drop-first", body: method === "POST" ? "a=1" : undefined });
    expect(res.status).toBe(status);
    if (status === 200) expect(res.body.toString()).toBe("answered\n");
    expect(dropFirst.arrived).toBe(arrived);
  });

  it.each([["GET"], ["POST"]])("%s: part of the response arrived, then the connection broke: never sent again, 502", async (method) => {
    const res = await rawRequest(base, { method, path: "/half", body: method === "POST" ? "a=1" : undefined });
    expect(res.status).toBe(502);
    expect(origin.arrived.get("/half")).toBe(1);
  });

  it("the origin read the request and went silent: 504 after read_timeout, sent once", async () => {
    const res = await rawRequest(base, { path: "/silent" });
    expect(res.status).toBe(504);
    expect(origin.arrived.get("/silent")).toBe(1);
  });
});

describe("an error before the body was read costs the client nothing more", () => {
  it.each([["/down/"], ["/down-fcgi/"]])("%s: a 1 MiB POST to an origin that is down gets 502, and the same connection carries the next request", async (prefix) => {
    const session = await rawSession(base);
    try {
      const first = await session.request({ method: "POST", path: `${prefix}upload`, body: Buffer.alloc(1024 * 1024, 0x62) });
      expect(first.status).toBe(502);
      expect(first.get("x-edgepass-error")).toBe("UPSTREAM_CONNECT_FAILED");
      const second = await session.request({ method: "POST", path: `${prefix}again`, body: "a=1" });
      expect(second.status).toBe(502);
    } finally {
      session.close();
    }
  });
});

// edgepass serve holds bodies up to 1 MiB for a resend (core/replay.ts, ReplayHold): such an
// upload rides a kept connection, and the stale-connection rule saves it as it saves a short
// one; a longer body still goes on a new connection. (The Worker holds 64 KiB: the 128 KiB case
// above.)
describe("edgepass serve: what the origin receives of a longer body, counted", () => {
  let serve: Dev;
  beforeAll(async () => {
    serve = await startServe(`[upstreams.one]\nprotocol = "http"\nservers = ["127.0.0.1:${origin.port}"]\nread_timeout = "1s"\nmax_connections = 2\n\n[[routes]]\nmatch = "/"\nupstream = "one"\n`);
  });
  afterAll(() => serve?.stop());
  const send = (p: string, body: Buffer) => rawRequest(serve.base, { method: "POST", path: p, body });

  it("a 256 KiB POST rides the kept connection; closed as it crosses: sent once more on a new connection, answered once", async () => {
    expect((await rawRequest(serve.base, { path: "/drop-next" })).status).toBe(200);
    const before = origin.connections;
    const res = await send("/held-victim", Buffer.alloc(256 * 1024, 0x61));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(`/held-victim ${256 * 1024}\n`);
    expect(origin.arrived.get("/held-victim")).toBe(2);
    expect(origin.answered.get("/held-victim")).toBe(1);
    // The first copy went on the kept connection, the second on the one new connection.
    expect(origin.connections).toBe(before + 1);
    expect(linesLike(serve.run.stdout + serve.run.stderr, { event: "pool_stale_retry" })).toHaveLength(1);
  });

  it("a body past the hold (2 MiB) never rides a kept connection: a new one, sent once, answered", async () => {
    expect((await rawRequest(serve.base, { path: "/drop-next" })).status).toBe(200);
    const before = origin.connections;
    const res = await send("/big-victim", Buffer.alloc(2 * 1024 * 1024, 0x61));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(`/big-victim ${2 * 1024 * 1024}\n`);
    expect(origin.arrived.get("/big-victim")).toBe(1);
    expect(origin.connections).toBe(before + 1);
  });
});
