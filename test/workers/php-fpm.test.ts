// The gateway in workerd in front of a real php-fpm (started by global-setup.ts with its own
// configuration on a free port). Each case is a promise the README makes.
import { describe, expect, inject, it } from "vitest";
import { harness, pattern, sha256Hex } from "./gateway-harness.js";
import { setCookies } from "../helpers/headers.js";

const port = inject("phpPort");
const root = inject("phpRoot");
const deadPort = inject("deadPort");

const config = (extra = "") => `
[gateway]
max_body_buffer = "2m"

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${port}"]
read_timeout = "10s"

[upstreams.slow]
protocol = "fastcgi"
servers = ["127.0.0.1:${port}"]
read_timeout = "1s"

[upstreams.dead]
protocol = "fastcgi"
servers = ["127.0.0.1:${deadPort}"]
connect_timeout = "2s"

[[routes]]
match = "^~ /dead/"
upstream = "dead"
root = "${root}"

[[routes]]
match = "= /slow.php"
upstream = "slow"
root = "${root}"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${root}"
params = { APP_ENV = "test" }
${extra}
`;

describe("gateway → php-fpm", () => {
  const gw = harness(config());

  it("GET with a query: the CGI variables nginx's fastcgi_params would send", async () => {
    const res = await gw.fetch("/info.php?a=1&b=two%20words", { headers: { "X-Custom": "yes", Cookie: "k=v" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-fixture")).toBe("info");
    const j: any = await res.json();
    expect(j.get).toEqual({ a: "1", b: "two words" });
    expect(j.server).toMatchObject({
      QUERY_STRING: "a=1&b=two%20words",
      REQUEST_METHOD: "GET",
      SCRIPT_NAME: "/info.php",
      SCRIPT_FILENAME: `${root}/info.php`,
      REQUEST_URI: "/info.php?a=1&b=two%20words",
      DOCUMENT_URI: "/info.php",
      DOCUMENT_ROOT: root,
      REQUEST_SCHEME: "http",
      GATEWAY_INTERFACE: "CGI/1.1",
      REMOTE_ADDR: "203.0.113.7",
      SERVER_PORT: "80",
      SERVER_NAME: "gw.test",
      REDIRECT_STATUS: "200",
      APP_ENV: "test",
      PATH_INFO: "",
    });
    expect(j.server.SERVER_SOFTWARE).toMatch(/^edgepass\//);
    expect(j.server.HTTPS).toBeUndefined();
    expect(j.http.HTTP_X_CUSTOM).toBe("yes");
    expect(j.http.HTTP_COOKIE).toBe("k=v");
    expect(j.http.HTTP_HOST).toBe("gw.test");
  });

  it("POST of 1 MiB: the body arrives whole (digest echoed back)", async () => {
    const body = pattern(1 << 20, 7);
    const res = await gw.fetch("/echo.php", {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream", "content-length": String(body.byteLength) },
    });
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j.length).toBe(1 << 20);
    expect(j.content_length).toBe(String(1 << 20));
    expect(j.sha256).toBe(await sha256Hex(body));
  });

  it("a form POST is parsed by PHP", async () => {
    const res = await gw.fetch("/echo.php", {
      method: "POST",
      body: "name=edge&x=%26y",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    const j: any = await res.json();
    expect(j.post).toEqual({ name: "edge", x: "&y" });
  });

  it("a chunked upload of unknown length is buffered so CONTENT_LENGTH is exact", async () => {
    const data = pattern(300_000, 3);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let o = 0; o < data.length; o += 10_000) c.enqueue(data.slice(o, o + 10_000));
        c.close();
      },
    });
    const res = await gw.fetch("/echo.php", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j.content_length).toBe("300000");
    expect(j.sha256).toBe(await sha256Hex(data));
  });

  it("an unknown-length body over max_body_buffer gets 413 and a body that says so", async () => {
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 3 * 1024 * 1024) return c.close();
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const res = await gw.fetch("/echo.php", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    const text = await res.text();
    expect(text).toContain("max_body_buffer");
    expect(text).toContain("2 MiB");
  });

  it("404 and 503 set by PHP pass through", async () => {
    for (const code of [404, 503]) {
      const res = await gw.fetch(`/status.php?code=${code}`);
      expect(res.status).toBe(code);
      expect(await res.text()).toBe(`status ${code} from php\n`);
    }
  });

  it("two Set-Cookie headers stay two headers; repeated headers are kept", async () => {
    const res = await gw.fetch("/cookies.php");
    expect(res.status).toBe(200);
    const cookies = setCookies(res.headers);
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^first=one; path=\//);
    expect(cookies[1]).toMatch(/^second=two; path=\/; HttpOnly/);
    expect(res.headers.get("x-multi")).toBe("a, b");
  });

  it("stderr output goes to the log with the request id, never into the body", async () => {
    const res = await gw.fetch("/stderr.php");
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toBe("body without stderr\n");
    const line = gw.lines.find((l) => l.includes("stderr-marker-7f3a"));
    expect(line).toBeDefined();
    const o = JSON.parse(line!);
    expect(o.event).toBe("origin_stderr");
    expect(o.request_id).toMatch(/^t\d+$/);
  });

  it("Location without Status becomes a 302 redirect", async () => {
    const res = await gw.fetch("/redirect.php", { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/landing.php?from=redirect");
  });

  it("a 4 MiB response is streamed through intact", async () => {
    const res = await gw.fetch("/big.php");
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let total = 0;
    let chunks = 0;
    let bad = -1;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length && bad < 0; i++) {
        const pos = (total + i) % 65536;
        if (value[i] !== ((pos * 7 + 3) & 0xff)) bad = total + i;
      }
      total += value.length;
      chunks++;
    }
    expect(bad).toBe(-1);
    expect(total).toBe(4 * 1024 * 1024);
    // Streamed: it arrived in many pieces, not as one buffered blob.
    expect(chunks).toBeGreaterThan(8);
  });

  it("PATH_INFO for a front controller (/index.php/some/path)", async () => {
    const res = await gw.fetch("/index.php/some/path");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("front controller\nSCRIPT_NAME=/index.php\nPATH_INFO=/some/path\n");
  });

  it("httpoxy: a Proxy header never becomes HTTP_PROXY", async () => {
    const res = await gw.fetch("/info.php", { headers: { Proxy: "http://evil.example:8080" } });
    const j: any = await res.json();
    expect(j.http.HTTP_PROXY).toBeUndefined();
    expect(j.env_proxy).toBe(false);
  });

  it("header names with underscores are dropped, as nginx does by default", async () => {
    const res = await gw.fetch("/info.php", { headers: { "X_Forwarded_For": "6.6.6.6", "X-Forwarded-For": "1.2.3.4" } });
    const j: any = await res.json();
    expect(j.http.HTTP_X_FORWARDED_FOR).toBe("1.2.3.4");
  });

  it("the CVE-2019-11043 path shape is refused with 400 before reaching php-fpm", async () => {
    const res = await gw.fetch("/index.php/PHP%0Ais_the_shittiest/?a=" + "Q".repeat(50));
    expect(res.status).toBe(400);
    expect(res.headers.get("x-edgepass-error")).toBe("PATH_CONTROL_BYTE");
    expect(await res.text()).toMatch(/control/i);
  });

  it("an uploaded file is never run as the script (/uploads/avatar.jpg/x.php)", async () => {
    const res = await gw.fetch("/uploads/avatar.jpg/x.php");
    const text = await res.text();
    expect(text).not.toContain("UPLOAD-EXECUTED");
    expect(res.status).toBeGreaterThanOrEqual(400);
  });

  it("php-fpm not running: 502 with a body naming the problem", async () => {
    const res = await gw.fetch("/dead/x.php");
    expect(res.status).toBe(502);
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_CONNECT_FAILED");
    expect(await res.text()).toContain(`127.0.0.1:${deadPort}`);
  });

  it("a script slower than read_timeout: 504", async () => {
    const res = await gw.fetch("/slow.php?s=3");
    expect(res.status).toBe(504);
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_READ_TIMEOUT");
    expect(await res.text()).toContain("read_timeout");
  });

  it("a client that goes away mid-response frees the php-fpm worker (no pinned connections)", async () => {
    // php-fpm has 4 workers. Abandon 6 big responses after their first chunk: if the gateway
    // kept those upstream connections open, the requests after them would find no worker.
    for (let i = 0; i < 6; i++) {
      const res = await gw.fetch("/big.php");
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
    }
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => gw.fetch("/status.php?code=201")));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    await Promise.all(results.map((r) => r.text()));
  });

  it("a missing script: php-fpm's own 404 comes through", async () => {
    const res = await gw.fetch("/nope.php");
    expect(res.status).toBe(404);
  });
});
