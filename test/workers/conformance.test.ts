// One conformance suite, every protocol (ARCHITECTURE.md: one Exchange interface, one suite).
// The well-behaved cases run against a real uWSGI serving one WSGI app on a FastCGI, an SCGI,
// a uwsgi and an HTTP socket at once; the misbehaving ones against scripted origins.
import { describe, expect, inject, it } from "vitest";
import { setCookies } from "../helpers/headers.js";
import { harness, pattern, sha256Hex } from "./gateway-harness.js";

const ports = inject("uwsgiPorts");
const rogueFcgi = inject("roguePort");
const rogueStream = inject("rogueStreamPort");
const protocols = ["fastcgi", "scgi", "uwsgi", "http"] as const;

const upstreams = protocols
  .map(
    (p) => `
[upstreams.${p}]
protocol = "${p}"
servers = ["127.0.0.1:${ports[p]}"]
read_timeout = "10s"

[upstreams.rogue-${p}]
protocol = "${p}"
servers = ["127.0.0.1:${p === "fastcgi" ? rogueFcgi : rogueStream}"]
read_timeout = "2s"
`,
  )
  .join("");
const routes = protocols
  .map(
    (p) => `
[[routes]]
match = "^~ /${p}/"
upstream = "${p}"

[[routes]]
match = "^~ /rogue-${p}/"
upstream = "rogue-${p}"
`,
  )
  .join("");
const gw = harness(upstreams + routes);

describe.each(protocols)("%s", (p) => {
  it("GET with a query: the app sees method, query and path (app mode)", async () => {
    const res = await gw.fetch(`/${p}/deep/query?a=1&b=x%20y`);
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j).toMatchObject({ method: "GET", query: "a=1&b=x%20y", path: `/${p}/deep/query` });
  });

  it("POST body round trip (256 KiB, known length)", async () => {
    const body = pattern(256 * 1024, 11);
    const res = await gw.fetch(`/${p}/echo`, { method: "POST", body, headers: { "content-length": String(body.length) } });
    expect(res.status).toBe(200);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(body.length);
    expect(await sha256Hex(back)).toBe(await sha256Hex(body));
  });

  it("statuses pass through (404, 418, 503)", async () => {
    for (const code of [404, 418, 503]) {
      const res = await gw.fetch(`/${p}/status?code=${code}`);
      expect(res.status).toBe(code);
      expect(await res.text()).toBe(`status ${code}\n`);
    }
  });

  it("repeated headers and two Set-Cookie headers are kept", async () => {
    const res = await gw.fetch(`/${p}/cookies`);
    expect(setCookies(res.headers)).toEqual(["first=one; Path=/", "second=two; Path=/; HttpOnly"]);
    expect(res.headers.get("x-multi")).toBe("a, b");
    await res.text();
  });

  it("a 4 MiB response streams through intact", async () => {
    const res = await gw.fetch(`/${p}/big`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let total = 0;
    let bad = -1;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length && bad < 0; i++) if (value[i] !== ((((total + i) % 65536) * 7 + 3) & 0xff)) bad = total + i;
      total += value.length;
    }
    expect(bad).toBe(-1);
    expect(total).toBe(4 * 1024 * 1024);
  });

  it("the origin closing before its head is complete is a 502", async () => {
    const res = await gw.fetch(p === "fastcgi" ? `/rogue-${p}/close-before-head` : `/rogue-${p}/rogue/close-in-head`);
    expect(res.status).toBe(502);
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_CLOSED_EARLY");
  });

  it("a malformed response is a 502 that says so", async () => {
    const res = await gw.fetch(p === "fastcgi" ? `/rogue-${p}/bad-status` : `/rogue-${p}/rogue/bad-status`);
    expect(res.status).toBe(502);
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_BAD_RESPONSE");
    expect(await res.text()).toMatch(/malformed/);
  });
});

describe("stream protocols (HTTP, SCGI, uwsgi): framing from the origin's head", () => {
  for (const p of ["scgi", "uwsgi", "http"] as const) {
    it(`${p}: a body shorter than its Content-Length errors instead of ending cleanly`, async () => {
      const res = await gw.fetch(`/rogue-${p}/rogue/short-body`);
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow(/closed the connection/);
    });
    it(`${p}: chunked body decoded, extensions and trailers not forwarded`, async () => {
      const res = await gw.fetch(`/rogue-${p}/rogue/chunked-ok`);
      expect(await res.text()).toBe("hello world");
      expect(res.headers.get("x-trailer")).toBeNull();
      expect(res.headers.get("transfer-encoding")).toBeNull();
    });
    it(`${p}: Content-Length with Transfer-Encoding, NUL in a value, bad chunk size → 502`, async () => {
      for (const c of ["cl-and-te", "nul-in-value", "bad-chunk"]) {
        const res = await gw.fetch(`/rogue-${p}/rogue/${c}`);
        if (c === "bad-chunk" && res.status === 200) {
          await expect(res.text(), c).rejects.toThrow(/malformed/);
          continue;
        }
        expect(res.status, c).toBe(502);
        await res.text();
      }
    });
    it(`${p}: an interim 100 Continue is skipped; a close-delimited HTTP/1.0 body is read to the end`, async () => {
      const a = await gw.fetch(`/rogue-${p}/rogue/interim-then-final`);
      expect(a.status).toBe(200);
      expect(await a.text()).toBe("final");
      const b = await gw.fetch(`/rogue-${p}/rogue/close-delimited`);
      expect(await b.text()).toBe("until the end");
    });
  }
  for (const p of ["scgi", "uwsgi"] as const) {
    it(`${p}: a CGI head (Status:) is accepted, a bad one refused`, async () => {
      const ok = await gw.fetch(`/rogue-${p}/rogue/cgi-ok`);
      expect(ok.status).toBe(201);
      expect(await ok.text()).toBe("cgi head\n");
      const bad = await gw.fetch(`/rogue-${p}/rogue/cgi-bad-status`);
      expect(bad.status).toBe(502);
    });
  }
  it("http: a CGI head is not an HTTP response → 502", async () => {
    const res = await gw.fetch(`/rogue-http/rogue/cgi-ok`);
    expect(res.status).toBe(502);
  });
});

describe("uwsgi: the 16-bit vars size", () => {
  it("a request whose variables exceed 64 KiB is refused with 431 and a body that says why", async () => {
    const res = await gw.fetch("/uwsgi/query", { headers: { Cookie: "big=" + "x".repeat(70_000) } });
    expect(res.status).toBe(431);
    expect(res.headers.get("x-edgepass-error")).toBe("HEADERS_TOO_LARGE");
    expect(await res.text()).toMatch(/65,535/);
  });
});

describe('http with via = "fetch": the platform\'s fetch() to the origin\'s URL', () => {
  const viaFetch = harness(`
[upstreams.web]
protocol = "http"
via = "fetch"
url = "http://127.0.0.1:${ports.http}"

[[routes]]
match = "/"
upstream = "web"
`);

  it("GET, POST round trip, Set-Cookie and a streamed body all pass through fetch()", async () => {
    const q = await viaFetch.fetch("/app/query?a=1");
    expect(q.status).toBe(200);
    expect(((await q.json()) as { query: string }).query).toBe("a=1");

    const body = pattern(100_000, 5);
    const echo = await viaFetch.fetch("/app/echo", { method: "POST", body });
    expect(await sha256Hex(await echo.arrayBuffer())).toBe(await sha256Hex(body));

    const c = await viaFetch.fetch("/app/cookies");
    expect(setCookies(c.headers)).toHaveLength(2);
    await c.text();

    const big = await viaFetch.fetch("/app/big");
    expect((await big.arrayBuffer()).byteLength).toBe(4 * 1024 * 1024);
  });
});
