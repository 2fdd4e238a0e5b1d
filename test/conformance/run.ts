// One conformance suite for every protocol and every host (ARCHITECTURE.md: one Exchange
// interface, one suite), as hono's `runTest({ newRouter })` runs one router suite against each
// router: `runConformance({ host, origins })` starts the host with the config of ./variants.ts
// and runs the same cases through every variant (FastCGI, SCGI, uwsgi, HTTP; direct and
// pooled; HTTP through fetch()). Every case is judged on the wire with a raw socket: status,
// headers, body bytes, framing and whether the declared length arrived.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dev } from "../helpers/process.js";
import { rawRequest, type WireRequest, type WireResponse } from "../helpers/raw-http.js";
import type { ConformanceOrigins } from "./origins.js";
import { conformanceConfig, variants } from "./variants.js";

export interface ConformanceHost {
  /** For test names: the command, as a user runs it. */
  name: string;
  /** Starts the host with `toml` on a free loopback port. */
  start(toml: string): Promise<Dev>;
  /** workerd ends a chunked body that failed after its head with a clean terminator (workerd
   *  issue 6818); a host that frames responses itself leaves it without one. */
  endsCutChunkedCleanly: boolean;
  /** Sends one request and reads the answer on the wire; default: HTTP/1.1 on a raw socket
   *  (rawRequest). The HTTP/2 host passes an HTTP/2 client (test/helpers/h2-client.ts). */
  send?: (base: string, req: WireRequest) => Promise<WireResponse>;
}

/** A deterministic byte pattern that is not a multiple of any record or buffer size. */
function pattern(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** What the app's .../big streams: 64 pieces of 64 KiB, piece byte i = (i * 7 + 3) & 0xff. */
function firstBadBigByte(body: Buffer): number {
  for (let i = 0; i < body.length; i++) if (body[i] !== (((i % 65536) * 7 + 3) & 0xff)) return i;
  return -1;
}

/** The declared length is on the wire and every declared byte arrived, nothing after it. */
function expectWholeLength(r: WireResponse): void {
  expect(r.framing).toBe("length");
  expect(r.complete).toBe(true);
  expect(Number(r.get("content-length"))).toBe(r.body.length);
}

const all = (r: WireResponse, name: string) => r.headers.filter(([k]) => k === name).map(([, v]) => v);

export function runConformance({ host, origins }: { host: ConformanceHost; origins: () => ConformanceOrigins }): void {
  describe(`conformance: ${host.name}`, () => {
    let gw: Dev | undefined;
    beforeAll(async () => {
      gw = await host.start(conformanceConfig(origins()));
    });
    afterAll(async () => {
      await gw?.stop();
    });

    /** One request on a new connection; a failure carries the host's and uWSGI's output. */
    const send = async (req: WireRequest): Promise<WireResponse> => {
      if (!gw) throw new Error(`${host.name} did not start`);
      return (host.send ?? rawRequest)(gw.base, { timeoutMs: 15_000, ...req });
    };
    const logs = () => `\n--- ${host.name} ---\n${gw?.run.stdout.slice(-3000)}\n${gw?.run.stderr.slice(-3000)}\n--- uWSGI ---\n${origins().log().slice(-3000)}`;
    const check = (fn: () => Promise<void>) => async () => {
      try {
        await fn();
      } catch (e) {
        (e as Error).message += logs();
        throw e;
      }
    };

    describe.each(variants)("$name", (v) => {
      const at = (rest: string) => `/${v.id}/${rest}`;

      it("GET with a query: the app sees method, query and path; the length it declared is on the wire", check(async () => {
        const r = await send({ path: at("deep/query?a=1&b=x%20y") });
        expect(r.status).toBe(200);
        expect(r.get("content-type")).toBe("application/json");
        expectWholeLength(r);
        expect(JSON.parse(r.body.toString())).toMatchObject({ method: "GET", query: "a=1&b=x%20y", path: at("deep/query") });
      }));

      it("HEAD: the status and head of a GET, no body bytes on the wire", check(async () => {
        const r = await send({ method: "HEAD", path: at("query") });
        expect(r.status).toBe(200);
        expect(r.get("content-type")).toBe("application/json");
        expect(r.complete).toBe(true); // nothing after the head
      }));

      it("POST of 262,147 bytes with a Content-Length: echoed byte for byte", check(async () => {
        const body = pattern(262_147, 11);
        const r = await send({ method: "POST", path: at("echo"), body });
        expect(r.status).toBe(200);
        expectWholeLength(r);
        expect(r.body.length).toBe(body.length);
        expect(sha(r.body)).toBe(sha(body));
      }));

      it("POST of unknown length (chunked from the client): echoed byte for byte", check(async () => {
        const body = pattern(150_001, 7);
        const r = await send({ method: "POST", path: at("echo"), body, chunked: true });
        expect(r.status).toBe(200);
        expectWholeLength(r);
        expect(sha(r.body)).toBe(sha(body));
      }));

      // Some APIs take a query as a GET body (a search, say); nginx passes it on. fetch()
      // cannot send one, and the client is told so rather than sent on without its body.
      it(v.viaFetch ? "a GET with a body: 501 FETCH_CANNOT_SEND_BODY, and the body says why" : "a GET with a body (as some APIs send one): the app reads it byte for byte", check(async () => {
        const body = pattern(5_003, 5);
        const r = await send({ method: "GET", path: at("echo"), body });
        if (v.viaFetch) {
          expect(r.status).toBe(501);
          expect(r.get("x-edgepass-error")).toBe("FETCH_CANNOT_SEND_BODY");
          expect(r.body.toString()).toContain('via = "fetch"');
          return;
        }
        expect(r.status).toBe(200);
        expectWholeLength(r);
        expect(sha(r.body)).toBe(sha(body));
      }));

      it("statuses pass through with the app's body (404, 418, 503)", check(async () => {
        for (const code of [404, 418, 503]) {
          const r = await send({ path: at(`status?code=${code}`) });
          expect(r.status).toBe(code);
          expectWholeLength(r);
          expect(r.body.toString()).toBe(`status ${code}\n`);
        }
      }));

      it("two Set-Cookie fields stay two; a repeated field keeps both values in order", check(async () => {
        const r = await send({ path: at("cookies") });
        expect(r.status).toBe(200);
        expect(all(r, "set-cookie")).toEqual(["first=one; Path=/", "second=two; Path=/; HttpOnly"]);
        expect(all(r, "x-multi").join(", ")).toBe("a, b");
        expect(r.body.toString()).toBe("cookies set\n");
      }));

      it("a 4 MiB body the app streams without a length arrives whole and framed", check(async () => {
        const r = await send({ path: at("big") });
        expect(r.status).toBe(200);
        expect(["chunked", "length"]).toContain(r.framing);
        expect(r.complete).toBe(true);
        expect(r.body.length).toBe(4 * 1024 * 1024);
        expect(firstBadBigByte(r.body)).toBe(-1);
      }));

      if (!v.rogue) return;
      const rogue = (c: string) => `/rogue-${v.id}/rogue/${c}`;
      const fcgi = v.protocol === "fastcgi";

      it("the origin closing before its head is complete: 502 UPSTREAM_CLOSED_EARLY", check(async () => {
        const r = await send({ path: fcgi ? `/rogue-${v.id}/close-before-head` : rogue("close-in-head") });
        expect(r.status).toBe(502);
        expect(r.get("x-edgepass-error")).toBe("UPSTREAM_CLOSED_EARLY");
        expectWholeLength(r);
      }));

      it("a malformed response head: 502 UPSTREAM_BAD_RESPONSE, and the body says so", check(async () => {
        const r = await send({ path: fcgi ? `/rogue-${v.id}/bad-status` : rogue("bad-status") });
        expect(r.status).toBe(502);
        expect(r.get("x-edgepass-error")).toBe("UPSTREAM_BAD_RESPONSE");
        expect(r.body.toString()).toMatch(/malformed/);
      }));

      it("a body short of its Content-Length: the length stays on the wire, the connection is cut short of it", check(async () => {
        const r = await send({ path: fcgi ? `/rogue-${v.id}/short-declared` : rogue("short-body") });
        expect(r.status).toBe(200);
        expect(r.framing).toBe("length");
        expect(r.get("content-length")).toBe("100");
        expect(r.body.toString()).toBe("only this much");
        expect(r.complete).toBe(false);
      }));

      if (fcgi) {
        it("a stream cut before END_REQUEST, no length declared: chunked, and never ended as complete", check(async () => {
          const r = await send({ path: `/rogue-${v.id}/close-mid-body` });
          expect(r.status).toBe(200);
          expect(r.framing).toBe("chunked");
          expect(r.body.toString()).toBe("partial body...");
          expect(r.complete).toBe(host.endsCutChunkedCleanly);
        }));
        return;
      }

      it("a chunked body cut by the origin: chunked to the client, its end as the host allows", check(async () => {
        const r = await send({ path: rogue("cut-chunked") });
        expect(r.status).toBe(200);
        expect(r.framing).toBe("chunked");
        expect(r.body.toString()).toBe("hello");
        expect(r.complete).toBe(host.endsCutChunkedCleanly);
      }));

      it("a chunked body decoded: extensions and trailers not forwarded, re-framed and whole", check(async () => {
        const r = await send({ path: rogue("chunked-ok") });
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe("hello world");
        expect(r.complete).toBe(true);
        expect(r.get("x-trailer")).toBeNull();
        expect(r.raw.toString("latin1")).not.toContain("ext=1");
      }));

      it("Content-Length with Transfer-Encoding, NUL in a value: 502; a bad chunk size never ends as complete", check(async () => {
        for (const c of ["cl-and-te", "nul-in-value"]) {
          const r = await send({ path: rogue(c) });
          expect(r.status, c).toBe(502);
          expect(r.get("x-edgepass-error"), c).toBe("UPSTREAM_BAD_RESPONSE");
        }
        const bad = await send({ path: rogue("bad-chunk") });
        if (bad.status === 200) expect(bad.complete).toBe(false);
        else expect(bad.status).toBe(502);
      }));

      it("an interim 100 is skipped; a close-delimited HTTP/1.0 body is read to its end", check(async () => {
        const a = await send({ path: rogue("interim-then-final") });
        expect(a.status).toBe(200);
        expect(a.body.toString()).toBe("final");
        expect(a.complete).toBe(true);
        const b = await send({ path: rogue("close-delimited") });
        expect(b.status).toBe(200);
        expect(b.body.toString()).toBe("until the end");
        expect(b.complete).toBe(true);
      }));

      if (v.protocol === "http") {
        it("a CGI head is not an HTTP response: 502", check(async () => {
          expect((await send({ path: rogue("cgi-ok") })).status).toBe(502);
        }));
        return;
      }

      it("a CGI head (Status:) is accepted, a bad one refused", check(async () => {
        const ok = await send({ path: rogue("cgi-ok") });
        expect(ok.status).toBe(201);
        expect(ok.body.toString()).toBe("cgi head\n");
        expect(ok.complete).toBe(true);
        expect((await send({ path: rogue("cgi-bad-status") })).status).toBe(502);
      }));

      if (v.protocol !== "uwsgi") return;
      it("variables past uwsgi's 16-bit size: 431 HEADERS_TOO_LARGE, and the body says why", check(async () => {
        // Two cookies of 35,000 bytes: HTTP/2 carries each as a field of its own (a field over
        // 64 KiB is past what nghttp2 takes), joined again for the app.
        const r = await send({ path: at("query"), headers: { Cookie: `a=${"x".repeat(35_000)}; b=${"y".repeat(35_000)}` } });
        expect(r.status).toBe(431);
        expect(r.get("x-edgepass-error")).toBe("HEADERS_TOO_LARGE");
        expect(r.body.toString()).toMatch(/65,535/);
      }));
    });
  });
}
