// The one JSON line per request, the X-Request-Id and Server-Timing, judged where a user sees
// them: on the wire of `edgepass dev` (workerd, pooled FastCGI handed to the pool object) and
// `edgepass serve`, in front of a real php-fpm, with the log read from the process's stdout.
import { rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linesLike, type LogLine } from "../helpers/log-lines.js";
import { freePort, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, startServe, type Dev } from "../helpers/process.js";
import { rawExchange, rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let dead: number;
// An HTTP origin that answers with the X-Request-Id it was sent (all of them, joined).
let web: http.Server;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 4 });
  dead = await freePort(); // nothing listens there
  web = http.createServer((req, res) => res.end(`id=${req.headersDistinct["x-request-id"]?.join("|") ?? "-"}\n`));
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  await new Promise((r) => web?.close(r));
  await fpm?.stop();
  rmSync(www, { recursive: true, force: true });
});

const toml = (serverTiming: boolean) => `[gateway]
server_timing = ${serverTiming}

[assets]
directory = "${path.join(repoRoot, "test/fixtures/site")}"

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[upstreams.php_direct]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]
pool = "direct"

[upstreams.web]
protocol = "http"
servers = ["127.0.0.1:${(web.address() as AddressInfo).port}"]

[upstreams.down]
protocol = "fastcgi"
servers = ["127.0.0.1:${dead}"]

[[routes]]
match = "/direct/"
upstream = "php_direct"
root = "${www}"
script = "/reqid.php"

[[routes]]
match = "/hdr/"
upstream = "php_direct"
root = "${www}"
script = "/reqid.php"
add_headers = { "X-Policy" = "on" }
hide_headers = ["Content-Type"]

[[routes]]
match = "/web/"
upstream = "web"

[[routes]]
match = "/down/"
upstream = "down"

[[routes]]
match = "~ \\\\.php$"
upstream = "php"
root = "${www}"

[[routes]]
match = "/"
`;

/** The request's line, once the process has written it. */
async function lineFor(dev: Dev, id: string): Promise<LogLine> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = linesLike(dev.run.stdout, { event: "request", request_id: id });
    if (found.length > 1) throw new Error(`${found.length} lines for ${id}`);
    if (found.length === 1) {
      // A second line would show up within moments: wait a little and count again.
      await new Promise((r) => setTimeout(r, 200));
      expect(linesLike(dev.run.stdout, { event: "request", request_id: id })).toHaveLength(1);
      return found[0];
    }
    if (Date.now() > deadline) throw new Error(`no request line for ${id}; stdout: ${dev.run.stdout.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ms = (v: unknown) => {
  expect(typeof v).toBe("number");
  expect(v as number).toBeGreaterThanOrEqual(0);
};

for (const host of ["dev", "serve"] as const) {
  describe(`edgepass ${host}: one JSON line per request`, () => {
    let dev: Dev;
    beforeAll(async () => {
      dev = await (host === "dev" ? startDev : startServe)(toml(false));
    });
    afterAll(async () => {
      await dev?.stop();
    });

    it("a pooled php-fpm request: route, upstream, server, status, bytes both ways, timings", async () => {
      const body = "a=".padEnd(5000, "x");
      const res = await rawRequest(dev.base, {
        method: "POST",
        path: "/echo.php",
        headers: { "x-request-id": "log-pooled-1", "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      expect(res.status).toBe(200);
      expect(res.get("x-request-id")).toBe("log-pooled-1");
      const l = await lineFor(dev, "log-pooled-1");
      expect(l).toMatchObject({
        level: "info",
        method: "POST",
        path: "/echo.php",
        remote_addr: "127.0.0.1",
        route: "~ \\.php$",
        upstream: "php",
        server: `127.0.0.1:${fpm.port}`,
        status: 200,
        bytes_in: 5000,
        bytes_out: res.body.length,
        retries: 0,
        from: "origin",
      });
      ms(l.connect_ms);
      ms(l.first_byte_ms);
      ms(l.total_ms);
      expect(l.total_ms as number).toBeGreaterThanOrEqual(l.first_byte_ms as number);
      expect(l).not.toHaveProperty("limit");
    });

    it("a pooled streamed body, of unknown and of declared length: bytes_out is every byte the client got", async () => {
      for (const [query, framing] of [["", "chunked"], ["?length=1", "length"]] as const) {
        const id = `streamed-${host}${query ? "-length" : ""}`;
        const res = await rawRequest(dev.base, { path: `/big.php${query}`, headers: { "x-request-id": id, "accept-encoding": "identity" } });
        expect(res.status).toBe(200);
        expect(framing === "chunked" ? res.get("transfer-encoding") : res.get("content-length")).toBe(framing === "chunked" ? "chunked" : String(4 << 20));
        expect(res.body.length).toBe(4 << 20);
        const l = await lineFor(dev, id);
        expect(l).toMatchObject({ upstream: "php", status: 200, bytes_out: 4 << 20, from: "origin" });
        expect(l.total_ms as number).toBeGreaterThanOrEqual(l.first_byte_ms as number);
      }
    });

    it("a client that leaves a pooled streamed body early: its line says what was handed on, not the whole", async () => {
      const id = `left-${host}`;
      const url = new URL(dev.base);
      // The script sends 1 KiB, waits a second, then 19 more: the client leaves in the wait.
      const got = await new Promise<number>((resolve, reject) => {
        const sock = net.connect(Number(url.port), url.hostname, () => {
          sock.write(`GET /drip.php?n=20&pause=1000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\nX-Request-Id: ${id}\r\n\r\n`);
        });
        let raw = Buffer.alloc(0);
        sock.on("data", (d: Buffer) => {
          raw = Buffer.concat([raw, d]);
          const head = raw.indexOf("\r\n\r\n");
          if (head >= 0 && raw.length - head - 4 >= 1024) {
            sock.destroy();
            resolve(raw.length - head - 4);
          }
        });
        sock.on("error", reject);
      });
      expect(got).toBeLessThan(20 * 1024);
      const l = await lineFor(dev, id);
      expect(l).toMatchObject({ upstream: "php", status: 200, from: "origin" });
      expect(l.bytes_out as number).toBeGreaterThanOrEqual(1024);
      expect(l.bytes_out as number).toBeLessThan(20 * 1024);
    });

    it("a direct request: the origin sees the client's id; bytes_out is what the client got", async () => {
      const res = await rawRequest(dev.base, { path: "/direct/x", headers: { "x-request-id": "Client.ID_2-ok" } });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/^id=Client\.ID_2-ok\n/);
      expect(res.get("x-request-id")).toBe("Client.ID_2-ok");
      const l = await lineFor(dev, "Client.ID_2-ok");
      expect(l).toMatchObject({ route: "/direct/", upstream: "php_direct", server: `127.0.0.1:${fpm.port}`, status: 200, bytes_in: 0 });
      expect(l.bytes_out).toBe(res.body.length);
      expect(l.bytes_out).toBeGreaterThan(1000);
      ms(l.connect_ms);
    });

    it("a route's header policy changes the head of a proxied answer, not its body", async () => {
      const res = await rawRequest(dev.base, { path: "/hdr/x", headers: { "x-request-id": `hdr-${host}` } });
      expect(res.status).toBe(200);
      expect(res.get("x-policy")).toBe("on");
      expect(res.get("content-type")).toBeNull();
      expect(res.body.toString()).toMatch(new RegExp(`^id=hdr-${host}\n${"r".repeat(1000)}\n$`));
      expect((await lineFor(dev, `hdr-${host}`)).bytes_out).toBe(res.body.length);
    });

    it("an HTTP origin gets the id as X-Request-Id, once: the client's when valid, else its replacement", async () => {
      const kept = await rawRequest(dev.base, { path: "/web/a", headers: { "x-request-id": `web-${host}` } });
      expect(kept.body.toString()).toBe(`id=web-${host}\n`);
      expect((await lineFor(dev, `web-${host}`)).upstream).toBe("web");
      const replaced = await rawRequest(dev.base, { path: "/web/a", headers: { "x-request-id": "no good" } });
      expect(replaced.body.toString()).toBe(`id=${replaced.get("x-request-id")}\n`);
      expect(replaced.get("x-request-id")).not.toBe("no good");
    });

    it("a pooled php-fpm request: the origin sees the id as HTTP_X_REQUEST_ID", async () => {
      const res = await rawRequest(dev.base, { path: "/reqid.php", headers: { "x-request-id": `pooled-id-${host}` } });
      expect(res.body.toString()).toMatch(new RegExp(`^id=pooled-id-${host}\n`));
      expect(await lineFor(dev, `pooled-id-${host}`)).toMatchObject({ upstream: "php", status: 200, bytes_out: res.body.length });
    });

    it("an invalid client id is replaced, and the origin and the client see the replacement", async () => {
      for (const bad of ["has space", "x".repeat(129), "semi;colon", ""]) {
        const res = await rawRequest(dev.base, { path: "/direct/x", headers: { "x-request-id": bad } });
        const id = res.get("x-request-id");
        expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
        expect(id).not.toBe(bad);
        expect(res.body.toString()).toMatch(new RegExp(`^id=${id!.replace(/[.]/g, "\\.")}\n`));
        expect((await lineFor(dev, id!)).status).toBe(200);
      }
    });

    it("no client id: one is generated, returned, and on the line", async () => {
      const a = await rawRequest(dev.base, { path: "/direct/x" });
      const b = await rawRequest(dev.base, { path: "/direct/x" });
      expect(a.get("x-request-id")).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
      expect(a.get("x-request-id")).not.toBe(b.get("x-request-id"));
      expect(a.body.toString()).toContain(`id=${a.get("x-request-id")}\n`);
      await lineFor(dev, a.get("x-request-id")!);
    });

    it("no client id and no platform id (no cf-ray here): 16 random hex digits", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add((await rawRequest(dev.base, { path: "/direct/x" })).get("x-request-id") ?? "");
      expect(ids.size).toBe(20);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    });

    it("a static file: its line, no upstream, bytes_out = the file's bytes", async () => {
      const res = await rawRequest(dev.base, { path: "/range.txt", headers: { "x-request-id": `static-${host}` } });
      expect(res.status).toBe(200);
      expect(res.framing).toBe("length");
      expect(res.get("x-request-id")).toBe(`static-${host}`);
      const l = await lineFor(dev, `static-${host}`);
      expect(l).toMatchObject({ route: "/", status: 200, from: "gateway", bytes_out: res.body.length, retries: 0 });
      expect(l).not.toHaveProperty("upstream");
      expect(l).not.toHaveProperty("server");
      expect(res.get("server-timing")).toBeNull();
    });

    it("a gateway error: the id on the error page and its header, the error code on the line", async () => {
      const res = await rawRequest(dev.base, { path: "/down/x", headers: { "x-request-id": `down-${host}` } });
      expect(res.status).toBe(502);
      expect(res.framing).toBe("length");
      expect(res.get("x-request-id")).toBe(`down-${host}`);
      expect(res.body.toString()).toContain(`request id: down-${host}`);
      const l = await lineFor(dev, `down-${host}`);
      expect(l).toMatchObject({ route: "/down/", upstream: "down", status: 502, error: "UPSTREAM_CONNECT_FAILED", from: "gateway", bytes_out: res.body.length });
      // The warning about the failed connect is a JSON line too, with the id of the request
      // it was opened for (the upstream is pooled).
      expect(linesLike(dev.run.stdout + dev.run.stderr, { event: "upstream_connect_failed", upstream: "down", origin: `127.0.0.1:${dead}`, request_id: `down-${host}` })).not.toHaveLength(0);
    });

    if (host === "dev") it("a 404 for a missing file still has its id and line", async () => {
      const res = await rawRequest(dev.base, { path: "/nothing-here.txt", headers: { "x-request-id": `nf-${host}` } });
      expect(res.status).toBe(404);
      expect(res.get("x-request-id")).toBe(`nf-${host}`);
      expect(await lineFor(dev, `nf-${host}`)).toMatchObject({ status: 404, error: "FILE_NOT_FOUND" });
    });

    // edgepass serve parses requests itself: one it refuses never reaches the gateway, and
    // still gets its line.
    if (host === "serve") it("a malformed request head: 400 with the id, and its line", async () => {
      const { raw } = await rawExchange(dev.base, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
      const text = raw.toString("latin1");
      expect(text).toMatch(/^HTTP\/1\.1 400 /);
      const id = text.match(/\r\nx-request-id: ([0-9a-f]+)\r\n/)![1];
      const l = await lineFor(dev, id);
      expect(l).toMatchObject({ status: 400, from: "gateway", method: "-", remote_addr: "127.0.0.1", bytes_out: Buffer.byteLength(text.slice(text.indexOf("\r\n\r\n") + 4)) });
      expect(typeof l.error).toBe("string");
    });

    it("origin stderr is a JSON line with the request id; a forged line stays inside its value", async () => {
      await rawRequest(dev.base, { path: "/stderr.php", headers: { "x-request-id": `err-${host}` } });
      await lineFor(dev, `err-${host}`);
      // php-fpm may split its stderr over several records, each its own line: read them all.
      const lines = linesLike([dev.run.stdout, dev.run.stderr], { event: "origin_stderr", request_id: `err-${host}` });
      expect(lines.map((l) => l.text).join("")).toContain("stderr-marker-7f3a");
      // Every line on both streams that is a log line is one whole JSON object (the last piece
      // read may be a line still being written).
      for (const line of [...dev.run.stdout.split("\n").slice(0, -1), ...dev.run.stderr.split("\n").slice(0, -1)]) {
        if (line.includes('"event":')) expect(() => JSON.parse(line.slice(line.indexOf("{")))).not.toThrow();
      }
    });

    it("Server-Timing is off by default", async () => {
      const res = await rawRequest(dev.base, { path: "/echo.php" });
      expect(res.get("server-timing")).toBeNull();
    });
  });
}

describe("server_timing = true", () => {
  for (const host of ["dev", "serve"] as const) {
    it(`${host}: Server-Timing names the upstream, the connect and the origin's first byte`, async () => {
      const dev = await (host === "dev" ? startDev : startServe)(toml(true));
      try {
        for (const p of ["/echo.php", "/direct/x"]) {
          const res = await rawRequest(dev.base, { path: p });
          expect(res.status).toBe(200);
          const st = res.get("server-timing");
          expect(st).toMatch(/^edgepass;desc="upstream php(_direct)?", connect;dur=[\d.]+, origin;dur=[\d.]+$/);
        }
        const own = await rawRequest(dev.base, { path: "/down/x" });
        expect(own.status).toBe(502);
        expect(own.get("server-timing")).toBe('edgepass;desc="upstream down"');
      } finally {
        await dev.stop();
      }
    });
  }
});

describe('[gateway] log = "off"', () => {
  it("writes no request line, and still returns the id", async () => {
    const dev = await startServe(toml(false).replace("[gateway]\n", '[gateway]\nlog = "off"\n'));
    try {
      const res = await rawRequest(dev.base, { path: "/direct/x", headers: { "x-request-id": "quiet-1" } });
      expect(res.status).toBe(200);
      expect(res.get("x-request-id")).toBe("quiet-1");
      await new Promise((r) => setTimeout(r, 300));
      expect(linesLike(dev.run.stdout, { event: "request" })).toHaveLength(0);
    } finally {
      await dev.stop();
    }
  });
});

describe("edgepass serve writes request lines in batches", () => {
  it("a line still waiting when the process is told to stop is written before it exits", async () => {
    const dev = await startServe(toml(false));
    let stopped = false;
    try {
      const res = await rawRequest(dev.base, { path: "/direct/x", headers: { "x-request-id": "last-1" } });
      expect(res.status).toBe(200);
      // At once, well within the batch's 10 ms: only the exit's flush can write the line.
      await dev.stop();
      stopped = true;
      const lines = linesLike(dev.run.stdout, { event: "request", request_id: "last-1" });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ status: 200, path: "/direct/x" });
    } finally {
      if (!stopped) await dev.stop();
    }
  });
});
