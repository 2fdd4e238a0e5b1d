// The simple firewall, on both hosts, through the real gateway on the wire: access rules by
// client address, limit_conn and limit_req counted exactly (Durable Objects under `edgepass
// dev`, in process under `edgepass serve`), dry_run, a zone shared by two routes, max_body on
// declared and chunked bodies, and strip_prefix as php-fpm and an HTTP origin see it. The
// client address is CF-Connecting-IP under dev (the platform's header; miniflare passes a
// client's on) and X-Forwarded-For from a trusted proxy (real_ip_from) under serve, so each
// test can be its own client. Outcomes are counted, never timed.
import { linesLike } from "../helpers/log-lines.js";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startCountingOrigin, type CountingOrigin } from "../helpers/counting-origin.js";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, startServe, type Dev } from "../helpers/process.js";
import { parseWire, rawExchange } from "../helpers/raw-http.js";

let php: PhpFpm;
let origin: CountingOrigin;
let www: string;
const hosts: Record<"dev" | "serve", Dev> = {} as never;

const config = () => `[serve]
real_ip_from = ["127.0.0.1"]

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${php.port}"]

[upstreams.origin]
protocol = "http"
servers = ["127.0.0.1:${origin.port}"]
request_buffering = true

# The same origin taking bodies as they stream (the Worker's default; serve holds them).
[upstreams.streamed]
protocol = "http"
servers = ["127.0.0.1:${origin.port}"]
request_buffering = false

${["private", "app", "conn", "conn1", "req", "dry", "delay"].map((p) => `[[routes]]\nmatch = "^~ /${p}/"\nupstream = "php"\nroot = "${www}"\nstrip_prefix = "/${p}"\n${ROUTE_EXTRA[p] ?? ""}`).join("\n")}
[[routes]]
match = "^~ /guarded/"
upstream = "origin"
access = ["allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all"]

[[routes]]
match = "^~ /za/"
upstream = "origin"
limit_req = { key = "header:X-Key", rate = "1r/m", burst = 1, nodelay = true, zone = "shared", status = 503 }

[[routes]]
match = "^~ /zb/"
upstream = "origin"
limit_req = { key = "header:X-Key", rate = "1r/m", burst = 1, nodelay = true, zone = "shared", status = 503 }

[[routes]]
match = "^~ /small/"
upstream = "origin"
max_body = "1k"

[[routes]]
match = "^~ /small-streamed/"
upstream = "streamed"
max_body = "1k"

[[routes]]
match = "^~ /h/"
upstream = "origin"
strip_prefix = "/h"
`;

const ROUTE_EXTRA: Record<string, string> = {
  private: `access = ["allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all"]\n`,
  conn: `limit_conn = { key = "ip", max = 2 }\n`,
  conn1: `limit_conn = { key = "ip", max = 1 }\n`,
  // 1r/m drains one request a minute: within a test nothing leaks out, so the count is exact.
  req: `limit_req = { key = "ip", rate = "1r/m", burst = 3, nodelay = true }\n`,
  dry: `limit_req = { key = "ip", rate = "1r/m", dry_run = true }\n`,
  // No nodelay: the burst waits its turn, one request a second.
  delay: `limit_req = { key = "ip", rate = "1r/s", burst = 2 }\n`,
};

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  [php, origin] = await Promise.all([startPhpFpm({ maxChildren: 8 }), startCountingOrigin()]);
  [hosts.dev, hosts.serve] = await Promise.all([startDev(config()), startServe(config())]);
});

afterAll(async () => {
  await Promise.all([hosts.dev?.stop(), hosts.serve?.stop()]);
  await Promise.all([php?.stop(), origin?.close()]);
  rmSync(www, { recursive: true, force: true });
});

let nextClient = 1;
describe.each(["dev", "serve"] as const)("edgepass %s", (host) => {
  const base = () => hosts[host].base;
  /** A client address of the test's own: the header each host believes. */
  const as = (ip: string): Record<string, string> => (host === "dev" ? { "cf-connecting-ip": ip } : { "x-forwarded-for": ip });
  const fresh = () => `10.${host === "dev" ? 1 : 2}.0.${nextClient++}`;
  const arrived = (p: string) => origin.arrived.get(p) ?? 0;

  describe("access", () => {
    it("allow by IPv4 and IPv6 block, deny all the rest; the allowed client is REMOTE_ADDR", async () => {
      for (const ip of ["10.20.30.40", "2001:db8::7", "2001:db8:ffff::1"]) {
        const res = await fetch(`${base()}/private/info.php`, { headers: as(ip) });
        expect(res.status, ip).toBe(200);
        const j: any = await res.json();
        expect(j.server.REMOTE_ADDR).toBe(ip);
      }
      for (const ip of ["192.0.2.1", "11.0.0.1", "2001:db9::1", "::1"]) {
        const res = await fetch(`${base()}/private/info.php`, { headers: as(ip) });
        expect(res.status, ip).toBe(403);
        expect(res.headers.get("x-edgepass-error")).toBe("ACCESS_DENIED");
        expect(await res.text()).toContain("error: ACCESS_DENIED");
      }
    });

    it("an IPv4-mapped IPv6 address matches the IPv4 block", async () => {
      expect((await fetch(`${base()}/private/info.php`, { headers: as("::ffff:10.9.9.9") })).status).toBe(200);
      expect((await fetch(`${base()}/private/info.php`, { headers: as("::ffff:192.0.2.9") })).status).toBe(403);
    });

    it("an address that does not parse matches no allow, so deny all refuses it", async () => {
      expect((await fetch(`${base()}/private/info.php`, { headers: as("not-an-address") })).status).toBe(403);
    });

    it("a refused request is never forwarded", async () => {
      const before = arrived("/guarded/x");
      for (const ip of ["192.0.2.1", "2001:db9::1", "bogus"]) expect((await fetch(`${base()}/guarded/x`, { headers: as(ip) })).status).toBe(403);
      expect(arrived("/guarded/x")).toBe(before);
      expect((await fetch(`${base()}/guarded/x`, { headers: as("10.0.0.1") })).status).toBe(200);
      expect(arrived("/guarded/x")).toBe(before + 1);
    });
  });

  describe("limit_conn", () => {
    it("max = 2 with 5 concurrent slow requests: exactly 3 refused with 429 and Retry-After; the places come back", async () => {
      const ip = fresh();
      const all = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const res = await fetch(`${base()}/conn/slow.php?s=2`, { headers: as(ip) });
          return { status: res.status, retry: res.headers.get("retry-after"), body: await res.text() };
        }),
      );
      const refused = all.filter((r) => r.status === 429);
      expect(all.filter((r) => r.status === 200)).toHaveLength(2);
      expect(refused).toHaveLength(3);
      for (const r of refused) {
        expect(Number(r.retry)).toBeGreaterThanOrEqual(1);
        expect(r.body).toContain("limit_conn limit on key ip");
        expect(r.body).toContain("^~ /conn/");
        expect(r.body).toContain("error: LIMIT_CONN");
      }
      // Both places were given back when those responses ended: two more fit at once.
      const again = await Promise.all([0, 1].map(() => fetch(`${base()}/conn/slow.php?s=1`, { headers: as(ip) }).then((r) => r.status)));
      expect(again).toEqual([200, 200]);
      // Another client has its own count.
      expect((await fetch(`${base()}/conn/info.php`, { headers: as(fresh()) })).status).toBe(200);
    });

    it("a client that leaves in the middle of the response gives its place back", async () => {
      const ip = fresh();
      const gone = new AbortController();
      // A piece, 3 s of pause, then 999 pieces 20 ms apart: the script runs 23 s or more. The
      // gateway learns of the leaving when it next writes (after the pause).
      const res = await fetch(`${base()}/conn1/drip.php?n=1000&pause=3000`, { headers: as(ip), signal: gone.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      // The place is taken while the body streams.
      expect((await fetch(`${base()}/conn1/info.php`, { headers: as(ip) })).status).toBe(429);
      gone.abort();
      await reader.cancel().catch(() => {});
      // The place must come back before the script would end (polled for up to 15 s, not
      // timed: on a loaded machine the client's leaving takes a while to reach the gateway).
      let status = 0;
      for (let i = 0; i < 150 && status !== 200; i++) {
        status = (await fetch(`${base()}/conn1/info.php`, { headers: as(ip) })).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
    });

    it("a HEAD answer, which has no body, gives its place back at once", async () => {
      const ip = fresh();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base()}/conn1/info.php`, { method: "HEAD", headers: as(ip) })).status);
      statuses.push((await fetch(`${base()}/conn1/info.php`, { headers: as(ip) })).status);
      expect(statuses).toEqual([200, 200, 200, 200]);
    });
  });

  describe("limit_req", () => {
    it("burst = 3, nodelay, 10 quick requests: exactly 4 pass, 6 refused with 429 and Retry-After", async () => {
      const ip = fresh();
      const statuses: number[] = [];
      let refusal: Response | undefined;
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${base()}/req/info.php`, { headers: as(ip) });
        statuses.push(res.status);
        if (res.status === 429) refusal ??= res;
        else await res.arrayBuffer();
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      // 1r/m: one more request fits in about a minute.
      expect(Number(refusal!.headers.get("retry-after"))).toBeGreaterThan(30);
      const body = await refusal!.text();
      expect(body).toContain("limit_req limit on key ip");
      expect(body).toContain("^~ /req/");
      expect(body).toContain("error: LIMIT_REQ");
      // Counts are per client.
      expect((await fetch(`${base()}/req/info.php`, { headers: as(fresh()) })).status).toBe(200);
    });

    it("burst = 2 without nodelay, 4 requests at once: one at once, two held 1 s and 2 s, one refused", async () => {
      const ip = fresh();
      const ids = [0, 1, 2, 3].map((i) => `delay-${host}-${ip}-${i}`);
      const started = performance.now();
      const answers = await Promise.all(
        ids.map(async (id) => {
          const res = await fetch(`${base()}/delay/info.php`, { headers: { ...as(ip), "x-request-id": id } });
          await res.arrayBuffer();
          return { id, status: res.status, ms: performance.now() - started };
        }),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 429]);
      // Each request's line says what the bucket decided; the held ones waited that long.
      // A request's line is written when its answer ends, so it may reach the log just after the
      // client has the body: wait for all three rather than read a missing line as "no delay".
      const passed = answers.filter((a) => a.status === 200);
      const lines = await vi.waitFor(() => {
        const logs = hosts[host].run.stdout + hosts[host].run.stderr;
        const found = passed.map((a) => linesLike(logs, { event: "request", request_id: a.id })[0]);
        expect(found.every(Boolean)).toBe(true);
        return found;
      });
      const delays = passed.map((a, i) => {
        const d = (lines[i].limit as { outcome?: string; delay_ms?: number } | undefined) ?? {};
        return { delay: d.outcome === "delayed" ? d.delay_ms! : 0, ms: a.ms };
      });
      delays.sort((a, b) => a.delay - b.delay);
      expect(delays[0].delay).toBe(0);
      // (Less than the full second by however long the requests took to arrive.)
      expect(delays[1].delay).toBeGreaterThan(500);
      expect(delays[1].delay).toBeLessThanOrEqual(1000);
      expect(delays[2].delay).toBeGreaterThan(1500);
      expect(delays[2].delay).toBeLessThanOrEqual(2000);
      // Held, not only labelled: no answer came before its wait was over.
      for (const d of delays) expect(d.ms).toBeGreaterThanOrEqual(d.delay);
    });

    it("dry_run only logs: every request passes, the would-be refusals are in the log", async () => {
      const ip = fresh();
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base()}/dry/info.php`, { headers: as(ip) })).status);
      expect(statuses).toEqual([200, 200, 200, 200]);
      // The warnings are written a moment after the answers (the log is buffered).
      const lines = await vi.waitFor(() => {
        const logs = hosts[host].run.stdout + hosts[host].run.stderr;
        const found = linesLike(logs, { event: "limit_would_refuse", route: "^~ /dry/" });
        expect(found.length).toBeGreaterThanOrEqual(3);
        return found;
      });
      expect(lines[0].dry_run).toBe(true);
    });

    it("a zone is one count across its routes; its status and key apply; requests without the header are not counted", async () => {
      const key = `k-${host}-${nextClient++}`;
      const s = async (p: string, k?: string) => {
        const res = await fetch(`${base()}${p}`, { headers: k ? { "x-key": k } : {} });
        const text = await res.text();
        return { status: res.status, retry: res.headers.get("retry-after"), text };
      };
      expect((await s("/za/1", key)).status).toBe(200);
      expect((await s("/zb/1", key)).status).toBe(200);
      const third = await s("/za/2", key);
      expect(third.status).toBe(503);
      expect(Number(third.retry)).toBeGreaterThan(30);
      expect(third.text).toContain('limit_req limit on key header:X-Key (zone "shared")');
      expect((await s("/zb/2", key)).status).toBe(503);
      expect((await s("/zb/3", `${key}-other`)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await s("/za/nokey")).status).toBe(200);
    });
  });

  describe("max_body", () => {
    it("a declared length over the limit is 413 before the origin sees a byte", async () => {
      const conns = origin.connections;
      const res = await fetch(`${base()}/small/declared`, { method: "POST", body: "x".repeat(1025) });
      expect(res.status).toBe(413);
      expect(res.headers.get("x-edgepass-error")).toBe("BODY_TOO_LARGE");
      expect(await res.text()).toContain("max_body");
      expect(arrived("/small/declared")).toBe(0);
      expect(origin.connections).toBe(conns);
    });

    it("a chunked body is cut when it passes the limit; the origin receives nothing", async () => {
      const conns = origin.connections;
      const u = new URL(base());
      const head = `POST /small/chunked HTTP/1.1\r\nHost: ${u.host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      const chunk = `258\r\n${"y".repeat(600)}\r\n`;
      const { raw, closed } = await rawExchange(base(), [head, chunk, chunk, chunk, "0\r\n\r\n"]);
      const r = parseWire(raw, "POST");
      expect(r.status).toBe(413);
      expect(r.get("x-edgepass-error")).toBe("BODY_TOO_LARGE");
      expect(closed).toBe(true);
      expect(arrived("/small/chunked")).toBe(0);
      // In the Worker a request with a body reserves its connection before the body is read
      // (pool/admission.ts): that one may be opened, and is given back unused.
      expect(origin.connections - conns).toBeLessThanOrEqual(host === "dev" ? 1 : 0);
    });

    it("a chunked body streamed to an HTTP origin is cut where it passes the limit: 413, and the origin never gets it whole", async () => {
      const u = new URL(base());
      const head = `POST /small-streamed/chunked HTTP/1.1\r\nHost: ${u.host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      const chunk = `258\r\n${"y".repeat(600)}\r\n`;
      const { raw, closed } = await rawExchange(base(), [head, chunk, chunk, chunk, "0\r\n\r\n"]);
      const r = parseWire(raw, "POST");
      expect(r.status).toBe(413);
      expect(r.get("x-edgepass-error")).toBe("BODY_TOO_LARGE");
      expect(r.body.toString()).toContain("max_body");
      expect(closed).toBe(true);
      expect(arrived("/small-streamed/chunked")).toBe(0);
      expect(origin.answered.get("/small-streamed/chunked") ?? 0).toBe(0);
      // Within the limit it streams through whole.
      const { raw: ok } = await rawExchange(base(), [`POST /small-streamed/ok HTTP/1.1\r\nHost: ${u.host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, `1f4\r\n${"q".repeat(500)}\r\n`, "0\r\n\r\n"]);
      expect(parseWire(ok, "POST").body.toString()).toBe("/small-streamed/ok 500\n");
    });

    it("a body within the limit arrives whole, declared or chunked", async () => {
      const res = await fetch(`${base()}/small/ok`, { method: "POST", body: "z".repeat(1024) });
      expect(await res.text()).toBe("/small/ok 1024\n");
      const u = new URL(base());
      const { raw } = await rawExchange(base(), [`POST /small/ok HTTP/1.1\r\nHost: ${u.host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, `1f4\r\n${"q".repeat(500)}\r\n`, "0\r\n\r\n"]);
      expect(parseWire(raw, "POST").body.toString()).toBe("/small/ok 500\n");
    });
  });

  describe("strip_prefix", () => {
    it("php-fpm sees SCRIPT_NAME, PATH_INFO and DOCUMENT_URI without the prefix, REQUEST_URI as the client sent it", async () => {
      const res = await fetch(`${base()}/app/info.php/extra/bit?x=1`);
      expect(res.status).toBe(200);
      const j: any = await res.json();
      expect(j.server.SCRIPT_NAME).toBe("/info.php");
      expect(j.server.PATH_INFO).toBe("/extra/bit");
      expect(j.server.DOCUMENT_URI).toBe("/info.php/extra/bit");
      expect(j.server.SCRIPT_FILENAME).toBe(`${www}/info.php`);
      expect(j.server.REQUEST_URI).toBe("/app/info.php/extra/bit?x=1");
      expect(j.get).toEqual({ x: "1" });
    });

    it("an HTTP origin gets the request-target without the prefix", async () => {
      const res = await fetch(`${base()}/h/a/b?q=1`);
      expect(await res.text()).toBe("/a/b 0\n");
      expect(arrived("/h/a/b")).toBe(0);
    });
  });
});

describe("edgepass serve: whose X-Forwarded-For is believed", () => {
  let plain: Dev;
  beforeAll(async () => {
    plain = await startServe(`[upstreams.origin]\nprotocol = "http"\nservers = ["127.0.0.1:${origin.port}"]\n\n[[routes]]\nmatch = "/"\nupstream = "origin"\naccess = ["allow 10.0.0.0/8", "deny all"]\n`);
  });
  afterAll(() => plain?.stop());

  it("without real_ip_from the peer is the client, whatever the header says", async () => {
    const res = await fetch(`${plain.base}/x`, { headers: { "x-forwarded-for": "10.1.2.3", "x-request-id": "xff-untrusted" } });
    expect(res.status).toBe(403);
    // The request line names the client the rules judged (nginx's $remote_addr).
    const line = await vi.waitFor(() => linesLike(plain.run.stdout, { event: "request", request_id: "xff-untrusted" })[0] ?? expect.fail("no line yet"));
    expect(line.remote_addr).toBe("127.0.0.1");
  });

  it("behind a trusted proxy the rightmost untrusted address is the client", async () => {
    const at = (xff: string) => fetch(`${hosts.serve.base}/guarded/y`, { headers: { "x-forwarded-for": xff } }).then((r) => r.status);
    expect(await at("10.1.2.3, 192.0.2.9")).toBe(403);
    expect(await at("192.0.2.9, 10.1.2.3")).toBe(200);
    expect(await at("10.1.2.3, 127.0.0.1")).toBe(200);
    expect((await fetch(`${hosts.serve.base}/guarded/y`)).status).toBe(403);
    await fetch(`${hosts.serve.base}/guarded/y`, { headers: { "x-forwarded-for": "192.0.2.9, 10.1.2.3", "x-request-id": "xff-trusted" } });
    const line = await vi.waitFor(() => linesLike(hosts.serve.run.stdout, { event: "request", request_id: "xff-trusted" })[0] ?? expect.fail("no line yet"));
    expect(line.remote_addr).toBe("10.1.2.3");
  });
});
