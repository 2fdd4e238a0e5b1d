// `edgepass serve` speaking HTTP/2 to clients that ask for it by ALPN, in front of a real
// php-fpm on its Unix socket: curl and Node's http2 client (nghttp2) on the wire. What an app
// sees of an HTTP/2 request, many requests on one connection, the refusals HTTP/1.1 gets for the
// same bad input, the client-side timeouts, an answer given before the body ended, a drain, and
// many streams reset mid-answer without harm to the process or its neighbours.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import http2 from "node:http2";
import path from "node:path";
import net from "node:net";
import tls from "node:tls";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { h2Request } from "../helpers/h2-client.js";
import { rapidReset, rawH2Request } from "../helpers/h2-raw.js";
import { noiseBody, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { edgepass, repoRoot, startServe, type Dev } from "../helpers/process.js";
import { parseWire } from "../helpers/raw-http.js";
import { selfSigned } from "../helpers/tls.js";

const pair = selfSigned("h2");
const files = { "cert.pem": pair.cert, "key.pem": pair.key };
let fpm: PhpFpm;
let www: string;

const site = (serveLines = "") => `[serve]
tls = { cert = "cert.pem", key = "key.pem" }
${serveLines}

[upstreams.php]
protocol = "fastcgi"
servers = ["unix:${fpm.socket}"]

[[routes]]
match = "= /early"
return = "200 early"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"
`;

/** curl over TLS trusting nothing (-k: the certificate is the test's own), with `args`. */
function curl(args: string[], stdin?: Buffer): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile("curl", ["-sk", "-m", "20", ...args], { maxBuffer: 64 << 20 }, (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
    if (stdin) child.stdin!.end(stdin);
  });
}

/** A session of Node's http2 client, trusting the test's certificate. */
function connect(base: string): http2.ClientHttp2Session {
  const s = http2.connect(base, { ca: pair.cert, maxSendHeaderBlockLength: 1 << 24 });
  s.on("error", () => {});
  return s;
}

/** One request on `session`: status, fields and body as they arrived, and the reset code. */
function on(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer; rst: number }> {
  return new Promise((resolve) => {
    const st = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let got: http2.IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    st.on("response", (h) => ((got = h), (status = Number(h[":status"]))));
    st.on("data", (d: Buffer) => parts.push(d));
    st.on("error", () => {});
    st.on("close", () => resolve({ status, headers: got, body: Buffer.concat(parts), rst: st.rstCode ?? 0 }));
    if (body) st.end(body);
  });
}

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  writeFileSync(path.join(www, "h2-page.php"), `<?php header('Content-Type: text/html'); echo str_repeat("<p>edgepass over HTTP/2</p>\\n", 400);`);
  fpm = await startPhpFpm({ unixSocket: true, maxChildren: 8 });
});

afterAll(async () => {
  await fpm?.stop();
});

describe("edgepass serve over HTTP/2", () => {
  let serve: Dev;
  beforeAll(async () => {
    serve = await startServe(site('max_header = "8k"\nbody_timeout = "1s"'), files);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it("curl asks for h2 by ALPN and gets it; the app sees HTTP/2.0, https, the authority as Host, and cookies joined", async () => {
    const r = await curl(["--http2", "-w", "\\n%{http_version}", "-H", "Cookie: a=1", "-H", "Cookie: b=2", `${serve.base}/info.php?x=1`]);
    expect(r.code).toBe(0);
    const [json, version] = r.out.split("\n");
    expect(version).toBe("2");
    const info = JSON.parse(json);
    expect(info.server).toMatchObject({ SERVER_PROTOCOL: "HTTP/2.0", HTTPS: "on", REQUEST_SCHEME: "https", QUERY_STRING: "x=1", REQUEST_METHOD: "GET" });
    expect(info.http.HTTP_HOST).toBe(new URL(serve.base).host);
    expect(info.http.HTTP_COOKIE).toBe("a=1; b=2");
  });

  it("an HTTP/1.1 client on the same port still gets HTTP/1.1", async () => {
    const r = await curl(["--http1.1", "-w", "%{http_version}", "-o", "/dev/null", `${serve.base}/status.php?code=200`]);
    expect(r).toMatchObject({ code: 0, out: "1.1" });
  });

  it("40 requests at once on one connection, every one answered whole", async () => {
    const s = connect(serve.base);
    try {
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => on(s, { ":path": `/status.php?code=${200 + (i % 3)}` })));
      expect(all.map((r) => r.status)).toEqual(Array.from({ length: 40 }, (_, i) => 200 + (i % 3)));
      expect(all.every((r, i) => r.body.toString() === `status ${200 + (i % 3)} from php\n` && r.rst === 0)).toBe(true);
      // Each answer is dated (Node's respond() adds the Date an origin did not send), and the
      // connection was told it may have 128 streams at once, each with a 64 KiB window, and
      // given a connection window as large as all of them (HTTP/2's own 64 KiB would have its
      // uploads share 64 KiB a round trip).
      expect(all.every((r) => / GMT$/.test(String(r.headers.date)))).toBe(true);
      expect(s.remoteSettings.maxConcurrentStreams).toBe(128);
      expect(s.remoteSettings.initialWindowSize).toBe(65_535);
      expect(s.state.remoteWindowSize).toBeGreaterThanOrEqual(128 * 65_535 - 65_535);
    } finally {
      s.close();
    }
  });

  it("a body streamed without a length reaches the app whole, and a text answer is compressed for a client that takes gzip", async () => {
    const body = Buffer.alloc(300_001, 7);
    const s = connect(serve.base);
    try {
      const up = await new Promise<Buffer>((resolve) => {
        const st = s.request({ ":method": "POST", ":path": "/echo.php" });
        const parts: Buffer[] = [];
        st.on("data", (d: Buffer) => parts.push(d));
        st.on("end", () => resolve(Buffer.concat(parts)));
        for (let at = 0; at < body.length; at += 40_000) st.write(body.subarray(at, at + 40_000));
        st.end();
      });
      // Held to learn its length (max_body_buffer), as nginx does, so PHP is given CONTENT_LENGTH.
      expect(JSON.parse(up.toString())).toMatchObject({ length: 300_001, sha256: createHash("sha256").update(body).digest("hex"), content_length: "300001" });
      const page = await on(s, { ":path": "/h2-page.php", "accept-encoding": "gzip" });
      expect(page.headers["content-encoding"]).toBe("gzip");
      expect(gunzipSync(page.body).toString()).toBe("<p>edgepass over HTTP/2</p>\n".repeat(400));
    } finally {
      s.close();
    }
  });

  it("a Content-Length the DATA does not match is a stream error (nghttp2), and php-fpm never runs the script", async () => {
    const run = `h2cl${process.pid}`;
    const r = await curl(["--http2", "-H", "Content-Length: 3", "--data-binary", "hello", `${serve.base}/hits.php?run=${run}&id=mismatch`]);
    expect(r.code).toBe(92); // CURLE_HTTP2_STREAM: the stream was reset
    expect((await curl(["--http2", "--data-binary", "hello", `${serve.base}/hits.php?run=${run}&id=matched`])).out).toBe("ok matched\n");
    expect((await curl([`${serve.base}/hits.php?run=${run}&list=1`])).out).toBe("matched\n");
  });

  it("an app that sends less than its Content-Length: the length on the wire, the bytes that came, then the stream reset (INTERNAL_ERROR), never its clean end", async () => {
    const r = await h2Request(serve.base, pair.cert, { path: "/length.php?declare=100" });
    expect([r.status, r.get("content-length"), r.body.toString()]).toEqual([200, "100", "0123456789"]);
    expect(r.resetCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    expect(r.complete).toBe(false);
  });

  it("a raw UTF-8 path reaches the app as over HTTP/1.1; a byte that is no UTF-8 gets the same 400 PATH_BAD_UTF8 on both", async () => {
    const s = connect(serve.base);
    try {
      // Node's client sends a header's characters as single bytes: the UTF-8 of "é" as two.
      const ok = await on(s, { ":path": Buffer.from("/info.php/café").toString("latin1") });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body.toString()).server).toMatchObject({ PATH_INFO: "/café" });
      const bad = await on(s, { ":path": "/info.php/caf\xff" });
      const h1 = parseWire(await rawTls(serve.base, "GET /info.php/caf\xff HTTP/1.1\r\nHost: a\r\n\r\n"), "GET");
      expect([bad.status, bad.headers["x-edgepass-error"]]).toEqual([400, "PATH_BAD_UTF8"]);
      expect([h1.status, h1.get("x-edgepass-error")]).toEqual([400, "PATH_BAD_UTF8"]);
    } finally {
      s.close();
    }
  });

  it("a field with a control character in its value: dropped by nghttp2 before the app (nginx ignores one too), where HTTP/1.1 answers 400", async () => {
    const h2 = await curl(["--http2", "-H", "X-Bad: a\x7fb", "-H", "X-Good: c", `${serve.base}/info.php`]);
    expect(h2.code).toBe(0);
    const http = JSON.parse(h2.out).http;
    expect(http.HTTP_X_GOOD).toBe("c");
    expect(http.HTTP_X_BAD).toBeUndefined();
    const h1 = parseWire(await rawTls(serve.base, "GET /info.php HTTP/1.1\r\nHost: a\r\nX-Bad: a\x7fb\r\n\r\n"), "GET");
    expect([h1.status, h1.get("x-edgepass-error")]).toEqual([400, "HTTP_BAD_VALUE"]);
  });

  it("CR, LF or NUL written into a field, the path, the authority or the method (raw frames): no field is ever injected; the field is dropped or the stream reset", async () => {
    const req = (over: Record<string, string>, extra: Array<[string, string]> = []): Array<[string, string]> => [
      ...Object.entries({ ":method": "GET", ":scheme": "https", ":authority": new URL(serve.base).host, ":path": "/info.php", ...over }),
      ...extra,
    ];
    const plain = await rawH2Request(serve.base, pair.cert, req({}, [["x-a", "1"]]));
    expect(plain.ended).toBe(true);
    expect(JSON.parse(plain.data.toString()).http.HTTP_X_A).toBe("1");
    const cases: Array<[string, Array<[string, string]>]> = [
      ["CR LF in a value", req({}, [["x-a", "1\r\nx-injected: 1"]])],
      ["LF in a value", req({}, [["x-a", "1\nx-injected: 1"]])],
      ["NUL in a value", req({}, [["x-a", "1\0x"]])],
      ["CR LF in a name", req({}, [["x-a\r\nx-injected", "1"]])],
      ["CR LF in the path", req({ ":path": "/info.php HTTP/1.1\r\nx-injected: 1\r\nx-b: " })],
      ["CR LF in the authority", req({ ":authority": "a\r\nx-injected: 1" })],
      ["CR LF in the method", req({ ":method": "GET /info.php HTTP/1.1\r\nx-injected: 1\r\n\r\nGET" })],
    ];
    for (const [what, fields] of cases) {
      const r = await rawH2Request(serve.base, pair.cert, fields);
      if (r.ended) {
        const http = JSON.parse(r.data.toString()).http;
        expect(http.HTTP_X_INJECTED, what).toBeUndefined();
        expect(http.HTTP_X_A, what).toBeUndefined(); // the bad field itself is gone too
      } else {
        expect(r.reset, what).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      }
    }
  });

  it("a Host that names another server than :authority is refused (400); the connection goes on", async () => {
    const s = connect(serve.base);
    try {
      const bad = await on(s, { ":path": "/status.php", ":authority": "a.example", host: "b.example" });
      expect(bad.status).toBe(400);
      expect(bad.headers["x-edgepass-error"]).toBe("REQUEST_INVALID");
      expect(bad.body.toString()).toContain(":authority");
      expect((await on(s, { ":path": "/status.php?code=200" })).status).toBe(200);
    } finally {
      s.close();
    }
  });

  it("a head over max_header is 431 on its stream, and the next request on the connection is served", async () => {
    const s = connect(serve.base);
    try {
      const big = await on(s, { ":path": "/status.php", "x-big": "x".repeat(9000) });
      expect(big.status).toBe(431);
      expect(big.headers["x-edgepass-error"]).toBe("HTTP_HEAD_TOO_LARGE");
      // About 1 MiB of fields, far past the list size the server announced (max_header and
      // room for HTTP/2's 32 bytes a field): the stream is reset before it is read
      // (ENHANCE_YOUR_CALM), the process unharmed.
      const many: http2.OutgoingHttpHeaders = { ":path": "/status.php" };
      for (let i = 0; i < 100; i++) many[`x-f${i}`] = "y".repeat(10_000);
      const huge = await on(s, many);
      expect([huge.status, huge.rst]).toEqual([0, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
      expect((await on(connect(serve.base), { ":path": "/status.php?code=200" })).status).toBe(200);
    } finally {
      s.close();
    }
  });

  it("a body that stops arriving for body_timeout is 408 CLIENT_BODY_TIMEOUT", async () => {
    const s = connect(serve.base);
    try {
      const r = await new Promise<{ status: number; code: unknown }>((resolve) => {
        const st = s.request({ ":method": "POST", ":path": "/echo.php", "content-length": "1000" });
        st.on("response", (h) => resolve({ status: Number(h[":status"]), code: h["x-edgepass-error"] }));
        st.on("error", () => {});
        st.write(Buffer.alloc(10, 1)); // and nothing more
      });
      expect(r).toEqual({ status: 408, code: "CLIENT_BODY_TIMEOUT" });
    } finally {
      s.destroy();
    }
  });

  it("Expect: 100-continue is answered with a 100 once the app wants the body, and not at all by a route that needs none", async () => {
    const s = connect(serve.base);
    try {
      const ask = (p: string) =>
        new Promise<{ continued: boolean; status: number; body: string; rst: number }>((resolve) => {
          const st = s.request({ ":method": "POST", ":path": p, expect: "100-continue", "content-length": "5" });
          let continued = false;
          let status = 0;
          let body = "";
          st.on("continue", () => ((continued = true), st.end("hello")));
          st.on("response", (h) => (status = Number(h[":status"])));
          st.on("data", (d: Buffer) => (body += d));
          st.on("error", () => {});
          st.on("close", () => resolve({ continued, status, body, rst: st.rstCode ?? 0 }));
        });
      const wanted = await ask("/echo.php");
      expect(wanted).toMatchObject({ continued: true, status: 200 });
      expect(JSON.parse(wanted.body)).toMatchObject({ length: 5 });
      // The body never came: after its answer the client is asked, without an error, to stop
      // sending it (RST_STREAM NO_ERROR, RFC 9113 8.1).
      expect(await ask("/early")).toEqual({ continued: false, status: 200, body: "early", rst: http2.constants.NGHTTP2_NO_ERROR });
    } finally {
      s.close();
    }
  });

  it("answered before its body ended: the client gets the answer and the connection goes on", async () => {
    const s = connect(serve.base);
    try {
      const r = await on(s, { ":method": "POST", ":path": "/early" }, Buffer.alloc(2 << 20, 1));
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe("early");
      expect((await on(s, { ":path": "/status.php?code=200" })).status).toBe(200);
    } finally {
      s.close();
    }
  });

  it("rapid reset (CVE-2023-44487): 20,000 streams opened and cancelled in one burst get the connection closed (GOAWAY); others are served", async () => {
    const r = await rapidReset(serve.base, pair.cert, "/status.php?code=200", 20_000);
    expect(r.goaway).not.toBeNull();
    expect(r.goaway).not.toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(r.answered).toBeLessThan(1000);
    expect((await h2Request(serve.base, pair.cert, { path: "/status.php?code=200" })).status).toBe(200);
    expect(serve.run.child.exitCode).toBeNull();
  });

  it("300 streams on 6 connections, a third reset by the client mid-answer: the rest whole, the server unharmed", async () => {
    const sessions = Array.from({ length: 6 }, () => connect(serve.base));
    try {
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => {
          const s = sessions[i % 6];
          if (i % 3 !== 0) return on(s, { ":path": "/status.php?code=200" }).then((r) => r.status === 200 && r.body.toString() === "status 200 from php\n");
          return new Promise<boolean>((resolve) => {
            const st = s.request({ ":path": "/big.php" });
            st.on("error", () => {});
            st.once("data", () => st.close(http2.constants.NGHTTP2_CANCEL));
            st.on("close", () => resolve(true));
          });
        }),
      );
      expect(results.filter((ok) => !ok)).toEqual([]);
      expect((await on(sessions[0], { ":path": "/status.php?code=200" })).status).toBe(200);
      expect(serve.run.child.exitCode).toBeNull();
    } finally {
      for (const s of sessions) s.close();
    }
  });
});

describe("bodies held to learn their length, 32 at once on one connection", () => {
  it("each reaches the app whole, from a file in body_temp whose name is gone, not from memory: the process grows by far less than the 224 MiB they add up to", async () => {
    const serve = await startServe(site('body_temp = "spool"'), { ...files, "spool/.keep": "" });
    const pid = serve.run.child.pid!;
    const spool = path.join(serve.dir, "spool");
    // Descriptors the process holds on files in the spool, and the peak of its resident memory.
    const spooled = () => readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${spool}/edgepass-body-`);
      } catch {
        return false;
      }
    }).length;
    const peakKib = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    const s = connect(serve.base);
    try {
      const before = peakKib();
      let mostSpooled = 0;
      const watch = setInterval(() => (mostSpooled = Math.max(mostSpooled, spooled())), 20);
      const size = 7 * 1024 * 1024;
      const bodies = Array.from({ length: 32 }, (_, i) => noiseBody(`spool:${i}`, 7 * 1024).subarray(0, size - i));
      const got = await Promise.all(
        bodies.map(
          (body) =>
            new Promise<{ status: number; text: string }>((resolve) => {
              // No Content-Length: php-fpm needs CONTENT_LENGTH, so serve holds each body first.
              const st = s.request({ ":method": "POST", ":path": "/echo.php" });
              let status = 0;
              const parts: Buffer[] = [];
              st.on("response", (h) => (status = Number(h[":status"])));
              st.on("data", (d: Buffer) => parts.push(d));
              st.on("error", () => {});
              st.on("close", () => resolve({ status, text: Buffer.concat(parts).toString() }));
              let at = 0;
              const pump = () => {
                while (at < body.length) {
                  const piece = body.subarray(at, at + 100_000);
                  at += piece.length;
                  if (!st.write(piece)) return void st.once("drain", pump);
                }
                st.end();
              };
              pump();
            }),
        ),
      );
      clearInterval(watch);
      for (const [i, r] of got.entries()) {
        expect(r.status, `upload ${i}`).toBe(200);
        expect(JSON.parse(r.text), `upload ${i}`).toMatchObject({ length: bodies[i].length, sha256: createHash("sha256").update(bodies[i]).digest("hex") });
      }
      expect(mostSpooled).toBeGreaterThan(1);
      // Held in memory they were 224 MiB, and the process grew by more than that. What it holds
      // now: each body's first 64 KiB, and up to 1 MiB of each for a resend within 64 MiB in all.
      expect((peakKib() - before) / 1024).toBeLessThan(120);
      expect(spooled()).toBe(0);
      expect(readdirSync(spool)).toEqual([".keep"]);
    } finally {
      s.close();
      await serve.stop();
    }
  }, 120_000);

  it("past max_body_buffer: 413 BODY_TOO_LARGE over HTTP/2 and HTTP/1.1 (chunked), saying which setting, and no file left open", async () => {
    const serve = await startServe(site('body_temp = "spool"\n\n[gateway]\nmax_body_buffer = "1m"'), { ...files, "spool/.keep": "" });
    const s = connect(serve.base);
    try {
      const over = await on(s, { ":method": "POST", ":path": "/echo.php" }, Buffer.alloc(2 * 1024 * 1024, 1));
      expect([over.status, over.headers["x-edgepass-error"]]).toEqual([413, "BODY_TOO_LARGE"]);
      expect(over.body.toString()).toContain("max_body_buffer");
      const h1 = await curl(["--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", "-w", "\n%{http_code}", `${serve.base}/echo.php`], Buffer.alloc(2 * 1024 * 1024, 1));
      expect(h1.out).toMatch(/max_body_buffer[\s\S]*\n413$/);
      const under = await on(s, { ":method": "POST", ":path": "/echo.php" }, Buffer.alloc(1024 * 1024 - 1, 1));
      expect([under.status, JSON.parse(under.body.toString()).length]).toEqual([200, 1024 * 1024 - 1]);
      const pid = serve.run.child.pid!;
      const open = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).includes("edgepass-body-");
        } catch {
          return false;
        }
      });
      expect(open).toEqual([]);
    } finally {
      s.close();
      await serve.stop();
    }
  });

  it("a body_temp gone while running: 500 BODY_SPOOL_FAILED to the client without the path, the path in the log; a body under 64 KiB is still served", async () => {
    const serve = await startServe(site('body_temp = "spool"'), { ...files, "spool/.keep": "" });
    const s = connect(serve.base);
    try {
      rmSync(path.join(serve.dir, "spool"), { recursive: true, force: true });
      const big = await on(s, { ":method": "POST", ":path": "/echo.php", "x-request-id": "spool-gone" }, Buffer.alloc(200_000, 1));
      expect([big.status, big.headers["x-edgepass-error"]]).toEqual([500, "BODY_SPOOL_FAILED"]);
      expect(big.body.toString()).toContain("could not be stored");
      expect(big.body.toString()).not.toContain(serve.dir);
      const small = await on(s, { ":method": "POST", ":path": "/echo.php" }, Buffer.alloc(1000, 1));
      expect([small.status, JSON.parse(small.body.toString()).length]).toEqual([200, 1000]);
      await vi.waitFor(() => expect(serve.run.stderr).toMatch(/"request_id":"spool-gone".*"code":"BODY_SPOOL_FAILED".*cannot create a file in [^"]*spool/));
    } finally {
      s.close();
      await serve.stop();
    }
  });

  it.each(["body_temp", "response_temp"])("a %s the process cannot write in stops the command with exit 2, naming the directory", async (key) => {
    const dir = mkdtempSync(path.join(tmpdir(), "edgepass-spool-bad-"));
    try {
      writeFileSync(path.join(dir, "site.toml"), site(`${key} = "missing"`));
      for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
      const run = edgepass(["serve", "--config", "site.toml", "--port", "0"], dir);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toContain(`site.toml: [serve] ${key}: cannot create a file in ${dir}/missing`);
      expect(run.stdout).not.toMatch(/listening/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("HTTP/2 settings and the connection's life", () => {
  it("http2 = false offers HTTP/1.1 only: curl --http2 is answered in HTTP/1.1", async () => {
    const serve = await startServe(site("http2 = false"), files);
    try {
      const r = await curl(["--http2", "-w", "%{http_version}", "-o", "/dev/null", `${serve.base}/status.php?code=200`]);
      expect(r).toMatchObject({ code: 0, out: "1.1" });
    } finally {
      await serve.stop();
    }
  });

  it('http2_window = "1m": each stream is offered 1 MiB and the connection 128 times it; a 4 MiB upload arrives whole', async () => {
    const wide = await startServe(site('http2_window = "1m"'), files);
    const s = connect(wide.base);
    try {
      const body = Buffer.alloc(4 * 1024 * 1024, 9);
      const r = await on(s, { ":method": "POST", ":path": "/echo.php", "content-length": body.length }, body);
      expect(JSON.parse(r.body.toString())).toMatchObject({ length: body.length, sha256: createHash("sha256").update(body).digest("hex") });
      expect(s.remoteSettings.initialWindowSize).toBe(1024 * 1024);
      // (Less what the upload has used and nghttp2 has not yet given back.)
      expect(s.state.remoteWindowSize).toBeGreaterThan(64 * 1024 * 1024);
    } finally {
      s.close();
      await wide.stop();
    }
  });

  it("h2c = true on a plain listener: a client with prior knowledge gets cleartext HTTP/2, an HTTP/1.1 one HTTP/1.1, even a request whose first byte arrives alone", async () => {
    const plainSite = site("h2c = true").replace('tls = { cert = "cert.pem", key = "key.pem" }\n', "");
    const serve = await startServe(plainSite);
    try {
      expect(serve.base).toMatch(/^http:\/\//);
      const h2 = await curl(["--http2-prior-knowledge", "-w", "\n%{http_version}", `${serve.base}/info.php`]);
      const [json, version] = h2.out.split("\n");
      expect(version).toBe("2");
      const info = JSON.parse(json).server;
      expect(info).toMatchObject({ SERVER_PROTOCOL: "HTTP/2.0", REQUEST_SCHEME: "http" });
      expect(info.HTTPS).toBeUndefined();
      expect((await curl(["-w", "%{http_version}", "-o", "/dev/null", `${serve.base}/status.php?code=200`])).out).toBe("1.1");
      // An HTTP/1.1 request asking to upgrade to h2c (RFC 9113 dropped that upgrade) is
      // answered in HTTP/1.1.
      expect((await curl(["--http2", "-w", "%{http_version}", "-o", "/dev/null", `${serve.base}/status.php?code=200`])).out).toBe("1.1");
      // "P" could begin HTTP/2's preface or a POST: the listener waits for the next bytes.
      const u = new URL(serve.base);
      const answer = await new Promise<string>((resolve) => {
        let got = "";
        const sock = net.connect(Number(u.port), u.hostname, () => {
          sock.write("P");
          setTimeout(() => sock.write("OST /echo.php HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"), 100);
        });
        sock.on("data", (d) => (got += d));
        sock.on("close", () => resolve(got));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer).toContain('"length":3');
    } finally {
      await serve.stop();
    }
  });

  it("an idle connection is closed after keepalive_timeout, one that never asks anything after header_timeout (GOAWAY)", async () => {
    // header_timeout first, on a server whose keepalive_timeout is far longer than the test.
    const quiet = await startServe(site('keepalive_timeout = "10m"\nheader_timeout = "1s"'), files);
    try {
      const silent = connect(quiet.base);
      expect(await new Promise<number>((resolve) => silent.once("goaway", (code: number) => resolve(code)))).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      await quiet.stop();
    }
    const serve = await startServe(site('keepalive_timeout = "1s"'), files);
    try {
      const s = connect(serve.base);
      const goaway = new Promise<number>((resolve) => s.once("goaway", (code: number) => resolve(code)));
      const closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
      expect((await on(s, { ":path": "/status.php?code=200" })).status).toBe(200);
      expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
      await closed;
    } finally {
      await serve.stop();
    }
  });

  it("a client that stops reading its answer is cut at send_timeout: the stream reset, the cut logged, the connection's other streams served", async () => {
    const serve = await startServe(site('send_timeout = "1s"'), files);
    const s = connect(serve.base);
    try {
      const stalled = await new Promise<{ rst: number; got: number }>((resolve) => {
        const st = s.request({ ":path": "/big.php" });
        let got = 0;
        // Reads the first piece, then nothing: flow control holds the server back.
        st.once("data", (d: Buffer) => ((got = d.length), st.pause()));
        st.on("error", () => {});
        st.on("close", () => resolve({ rst: st.rstCode ?? 0, got }));
      });
      expect(stalled.rst).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
      expect(stalled.got).toBeGreaterThan(0);
      // Log lines are written in batches: wait for this one a moment.
      const deadline = Date.now() + 5_000;
      while (!/"event":"response_cut"/.test(serve.run.stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(serve.run.stderr).toMatch(/"event":"response_cut".*send_timeout/);
      expect((await on(s, { ":path": "/status.php?code=200" })).status).toBe(200);
    } finally {
      s.destroy();
      await serve.stop();
    }
  });

  it("SIGTERM: a stream in flight is answered whole, the connection is told to take no more (GOAWAY), and the process exits 0", async () => {
    const serve = await startServe(site(), files);
    const s = connect(serve.base);
    try {
      expect((await on(s, { ":path": "/status.php?code=200" })).status).toBe(200);
      const goaway = new Promise<void>((resolve) => s.once("goaway", () => resolve()));
      const slow = on(s, { ":path": "/slow.php?s=1" });
      await new Promise((r) => setTimeout(r, 300));
      serve.run.child.kill("SIGTERM");
      await goaway;
      const r = await slow;
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe("too late\n");
      expect(await serve.run.exit).toBe(0);
    } finally {
      s.destroy();
      await serve.stop();
    }
  });

  it("a reload cannot turn HTTP/2 off (a restart can); the running config is kept", async () => {
    const serve = await startServe(site(), files);
    try {
      const before = serve.run.stderr.length;
      writeFileSync(path.join(serve.dir, "site.toml"), site("http2 = false"));
      serve.run.child.kill("SIGHUP");
      // Whatever the server says first (a refusal on stderr, or a reload it should not have
      // taken on stdout), within a bound generous for a loaded machine.
      await expect.poll(() => serve.run.stderr.length > before || /reloaded config/.test(serve.run.stdout), { timeout: 30_000 }).toBe(true);
      expect({ stderr: serve.run.stderr.slice(before), reloaded: /reloaded config/.test(serve.run.stdout) }).toMatchObject({ reloaded: false });
      expect(serve.run.stderr.slice(before)).toContain("[serve] http2 cannot be changed by a reload");
      const r = await h2Request(serve.base, pair.cert, { path: "/status.php?code=200" });
      expect(r).toMatchObject({ status: 200, alpn: "h2" });
    } finally {
      await serve.stop();
    }
  });
});

/** `text` sent as raw HTTP/1.1 bytes over TLS (ALPN http/1.1); what came back until the
 *  server closed or 5 s passed. */
function rawTls(base: string, text: string): Promise<Buffer> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const sock = tls.connect({ host: u.hostname, port: Number(u.port), ca: pair.cert, ALPNProtocols: ["http/1.1"] }, () => sock.write(Buffer.from(text, "latin1")));
    const timer = setTimeout(() => sock.destroy(), 5_000);
    sock.on("data", (d: Buffer) => parts.push(d));
    sock.on("error", () => {});
    sock.on("close", () => (clearTimeout(timer), resolve(Buffer.concat(parts))));
  });
}
