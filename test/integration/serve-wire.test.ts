// `edgepass serve` judged on the wire (SECURITY.md, "Client request framing" and "What the
// client receives"): edgepass parses every client request itself here, with the Wasm parser,
// so smuggling shapes, broken framing, oversized and trickled heads must be refused before
// anything reaches the origin, and responses must be framed so a cut body is visible. The
// origins are scripted (test/helpers/counting-origin.ts counts what arrives; rogue-stream.ts
// misbehaves on cue); the client is a raw socket.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCountingOrigin, type CountingOrigin } from "../helpers/counting-origin.js";
import { linesLike } from "../helpers/log-lines.js";
import { startServe, type Dev } from "../helpers/process.js";
import { parseWire, parseWireAll, rawExchange, rawRequest } from "../helpers/raw-http.js";
import { startRogueFastcgi } from "../helpers/rogue-fastcgi.js";
import { startRogueStream } from "../helpers/rogue-stream.js";
import type { ScriptedServer } from "../helpers/scripted-server.js";

let origin: CountingOrigin;
let rogue: ScriptedServer;
let rogueFcgi: ScriptedServer;
let serve: Dev;

beforeAll(async () => {
  [origin, rogue, rogueFcgi] = await Promise.all([startCountingOrigin(), startRogueStream(), startRogueFastcgi()]);
  serve = await startServe(
    `[upstreams.count]\nprotocol = "http"\nservers = ["127.0.0.1:${origin.port}"]\n\n` +
      `[upstreams.rogue]\nprotocol = "http"\nservers = ["127.0.0.1:${rogue.port}"]\nread_timeout = "1s"\npool = "direct"\n\n` +
      `[[routes]]\nmatch = "^~ /count/"\nupstream = "count"\nmax_temp_file_size = "16m"\n\n` +
      `[[routes]]\nmatch = "^~ /rogue/"\nupstream = "rogue"\n\n` +
      // The same origins on kept connections (the default pool): read_timeout there is one
      // timer per connection or request, not one per read.
      `[upstreams.rogue_pooled]\nprotocol = "http"\nservers = ["127.0.0.1:${rogue.port}"]\nread_timeout = "1s"\n\n` +
      `[upstreams.fcgi_pooled]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${rogueFcgi.port}"]\nread_timeout = "1s"\n\n` +
      `[[routes]]\nmatch = "^~ /pooled/"\nupstream = "rogue_pooled"\n\n` +
      `[[routes]]\nmatch = "^~ /fcgi-pooled/"\nupstream = "fcgi_pooled"\n\n` +
      `[[routes]]\nmatch = "= /moved"\nreturn = "301 /count/new"\n\n` +
      // Short client timeouts so the slow-client cases end within a test's time.
      `[serve]\nheader_timeout = "1s"\nbody_timeout = "1s"\nsend_timeout = "1s"\n`,
  );
});

afterAll(async () => {
  await serve?.stop();
  await Promise.all([origin?.close(), rogue?.close(), rogueFcgi?.close()]);
});

const arrived = (p: string) => origin.arrived.get(p) ?? 0;

/** A raw connection to serve that writes what it is given and gathers what comes back. */
async function rawClient() {
  const sock = net.connect(Number(new URL(serve.base).port), "127.0.0.1");
  let got = Buffer.alloc(0);
  sock.on("data", (d) => (got = Buffer.concat([got, d])));
  await new Promise((r) => sock.once("connect", r));
  return {
    write: (bytes: string) => void sock.write(bytes),
    /** What arrived once `ok` holds for it (bounded: 5 s). */
    async until(ok: (got: Buffer) => boolean): Promise<Buffer> {
      for (let i = 0; i < 200 && !ok(got); i++) await new Promise((r) => setTimeout(r, 25));
      return got;
    },
    destroy: () => sock.destroy(),
  };
}

describe("request framing refused before the origin", () => {
  it.each([
    ["a request line", "GET /count/early H TTP/1.1\r\n", "HTTP_BAD_REQUEST_LINE"],
    ["a field name", "GET /count/early HTTP/1.1\r\nHo st: x\r\n", "HTTP_BAD_NAME"],
  ])("%s that is malformed is refused once its line is whole (400), not after the head's end or header_timeout (408)", async (_, bytes, code) => {
    // The head never ends and the client never closes: only the parse of the whole line can
    // answer 400; without it header_timeout (1 s here) would answer 408.
    const { raw, closed } = await rawExchange(serve.base, bytes, 5_000);
    const r = parseWire(raw, "GET");
    expect(r.status).toBe(400);
    expect(r.get("x-edgepass-error")).toBe(code);
    expect(closed).toBe(true);
    expect(arrived("/count/early")).toBe(0);
  });

  it("an HTTP/2 prior-knowledge preface: 505 HTTP_VERSION_UNSUPPORTED, connection closed, logged as the client's mistake (warn), not an error", async () => {
    const { raw, closed } = await rawExchange(serve.base, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const r = parseWire(raw, "GET");
    expect(r.status).toBe(505);
    expect(r.get("x-edgepass-error")).toBe("HTTP_VERSION_UNSUPPORTED");
    expect(r.get("connection")).toBe("close");
    expect(closed).toBe(true);
    const id = r.get("x-request-id")!;
    // The log reaches us through a pipe, a moment after the answer.
    const logged = () => linesLike(serve.run.stdout + serve.run.stderr, { event: "request_failed", request_id: id });
    for (let i = 0; i < 100 && logged().length === 0; i++) await new Promise((ok) => setTimeout(ok, 50));
    const lines = logged();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe("warn");
  });

  it("CL+TE with a smuggled second request: 400 HTTP_CL_AND_TE, connection closed, nothing reaches the origin", async () => {
    const smuggle =
      "POST /count/front HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\nGET /count/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    const { raw, closed } = await rawExchange(serve.base, smuggle);
    const r = parseWire(raw, "POST");
    expect(r.status).toBe(400);
    expect(r.get("x-edgepass-error")).toBe("HTTP_CL_AND_TE");
    expect(r.get("connection")).toBe("close");
    expect(r.body.toString()).toContain("error: HTTP_CL_AND_TE");
    expect(closed).toBe(true);
    // Exactly one response: the bytes after it were never read as a request.
    expect(raw.toString("latin1").match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(arrived("/count/front")).toBe(0);
    expect(arrived("/count/smuggled")).toBe(0);
  });

  const bad: Array<[string, string, string]> = [
    ["Transfer-Encoding other than chunked", "POST /count/te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HTTP_TE_NOT_CHUNKED"],
    ["two Content-Length fields", "POST /count/cl2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab", "HTTP_DUPLICATE_CONTENT_LENGTH"],
    ["a signed Content-Length", "POST /count/cls HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na", "HTTP_BAD_CONTENT_LENGTH"],
    ["a bare LF line ending", "GET /count/lf HTTP/1.1\nHost: x\n\n", "HTTP_BARE_LF"],
    ["obs-fold", "GET /count/fold HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "HTTP_OBS_FOLD"],
    ["whitespace before the colon", "GET /count/ws HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n", "HTTP_SPACE_BEFORE_COLON"],
    ["no Host in HTTP/1.1", "GET /count/nohost HTTP/1.1\r\n\r\n", "HTTP_MISSING_HOST"],
  ];
  for (const [name, bytes, code] of bad) {
    it(`${name}: 400 ${code} and the connection closed`, async () => {
      const path = /^[A-Z]+ (\S+)/.exec(bytes)![1];
      const { raw, closed } = await rawExchange(serve.base, bytes + "GET /count/after HTTP/1.1\r\nHost: x\r\n\r\n");
      const r = parseWire(raw, "GET");
      expect(r.status).toBe(400);
      expect(r.get("x-edgepass-error")).toBe(code);
      expect(r.get("connection")).toBe("close");
      expect(closed).toBe(true);
      expect(arrived(path)).toBe(0);
    });
  }

  it("TRACE (a method a gateway does not pass on): 405, never forwarded", async () => {
    const { raw } = await rawExchange(serve.base, "TRACE /count/trace HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const r = parseWire(raw, "TRACE");
    expect(r.status).toBe(405);
    expect(r.get("x-edgepass-error")).toBe("REQUEST_INVALID");
    expect(arrived("/count/trace")).toBe(0);
  });

  it("a head over max_header (default 32k): 431 and closed", async () => {
    const { raw, closed } = await rawExchange(serve.base, `GET /count/big HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`);
    const r = parseWire(raw, "GET");
    expect(r.status).toBe(431);
    expect(r.get("x-edgepass-error")).toBe("HTTP_HEAD_TOO_LARGE");
    expect(closed).toBe(true);
    expect(arrived("/count/big")).toBe(0);
  });

  it("a head trickled past header_timeout: 408 CLIENT_HEADER_TIMEOUT and closed", async () => {
    // 150 pieces, 20 ms apart: 3 s of a head that never ends, header_timeout is 1 s.
    const pieces = ["GET /count/slow HTTP/1.1\r\nHost: x\r\n", ...Array.from({ length: 150 }, (_, i) => `X-${i}: y\r\n`)];
    const { raw, closed } = await rawExchange(serve.base, pieces, 8_000);
    const r = parseWire(raw, "GET");
    expect(r.status).toBe(408);
    expect(r.get("x-edgepass-error")).toBe("CLIENT_HEADER_TIMEOUT");
    expect(closed).toBe(true);
    expect(arrived("/count/slow")).toBe(0);
  });

  // Chunked bodies two parsers could split differently, each with a request behind it: the
  // decoder's code, the connection closed, and the request behind never reaches the origin.
  const chunked: Array<[string, string, string]> = [
    ["a chunk size past 64 bits", "10000000000000000\r\nhello\r\n0\r\n\r\n", "HTTP_CHUNK_SIZE_TOO_LARGE"],
    ["a bare LF after a chunk size", "5\nhello\r\n0\r\n\r\n", "HTTP_CHUNK_BAD_LINE_END"],
    ["chunk data longer than its size", "3\r\nhello\r\n0\r\n\r\n", "HTTP_CHUNK_MISSING_CRLF"],
    ["a space before a chunk extension", "5 ;a=b\r\nhello\r\n0\r\n\r\n", "HTTP_CHUNK_BAD_SIZE"],
  ];
  for (const [name, body, code] of chunked) {
    it(`${name}: 400 ${code}, closed, the request behind it never reaches the origin`, async () => {
      const tag = code.toLowerCase();
      const { raw, closed } = await rawExchange(
        serve.base,
        `POST /count/c-${tag} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}GET /count/behind-${tag} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      const r = parseWire(raw, "POST");
      expect(r.status).toBe(400);
      expect(r.get("x-edgepass-error")).toBe(code);
      expect(r.get("connection")).toBe("close");
      expect(closed).toBe(true);
      expect(raw.toString("latin1").match(/HTTP\/1\.1 /g)).toHaveLength(1);
      expect(origin.answered.get(`/count/c-${tag}`) ?? 0).toBe(0);
      expect(arrived(`/count/behind-${tag}`)).toBe(0);
    });
  }

  it("a malformed chunked body: 400 with the chunked decoder's code, closed", async () => {
    const { raw, closed } = await rawExchange(serve.base, "POST /count/badchunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    const r = parseWire(raw, "POST");
    expect(r.status).toBe(400);
    expect(r.get("x-edgepass-error")).toBe("HTTP_CHUNK_BAD_SIZE");
    expect(closed).toBe(true);
    expect(origin.answered.get("/count/badchunk") ?? 0).toBe(0);
  });
});

describe("slow and cautious clients", () => {
  it("a body that stops arriving: 408 CLIENT_BODY_TIMEOUT at body_timeout, closed, the origin never answers it", async () => {
    const { raw, closed } = await rawExchange(serve.base, "POST /count/slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 8_000);
    const r = parseWire(raw, "POST");
    expect(r.status).toBe(408);
    expect(r.get("x-edgepass-error")).toBe("CLIENT_BODY_TIMEOUT");
    expect(closed).toBe(true);
    expect(origin.answered.get("/count/slowbody") ?? 0).toBe(0);
  });

  it("a client that reads nothing (slow read): dropped at send_timeout, and the origin's body stops flowing", async () => {
    const sock = net.connect(Number(new URL(serve.base).port), "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    sock.pause(); // takes nothing from here on
    const logged = serve.run.stdout.length + serve.run.stderr.length;
    sock.write("GET /count/huge HTTP/1.1\r\nHost: x\r\n\r\n");
    const until = async (ok: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      if (!ok()) throw new Error(`waited 15 s for ${what}`);
    };
    await until(() => (serve.run.stdout + serve.run.stderr).slice(logged).includes("send_timeout"), "the send_timeout log line");
    await until(() => origin.huge.closed, "the origin's connection to close");
    // Read ahead of the client only as far as max_temp_file_size, then backpressure all the
    // way: the origin got to write what the answer's file and the socket buffers on the way
    // hold, not the 256 MiB it declared.
    expect(origin.huge.sent).toBeLessThan(64 * 1024 * 1024);
    // What the client finds when it does read: the declared length, less than it, the end.
    const parts: Buffer[] = [];
    sock.on("data", (d) => parts.push(d));
    sock.on("error", () => {});
    sock.resume();
    await new Promise((r) => sock.once("close", r));
    const r = parseWire(Buffer.concat(parts), "GET");
    expect(r.status).toBe(200);
    expect(r.get("content-length")).toBe(String(256 * 1024 * 1024));
    expect(r.complete).toBe(false);
  });

  it("Expect: 100-continue gets 100 Continue once the body is wanted, then the answer", async () => {
    const { raw } = await rawExchange(serve.base, [
      "POST /count/expect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
      "body",
    ]);
    const text = raw.toString("latin1");
    expect(text.startsWith("HTTP/1.1 100 Continue\r\n\r\n")).toBe(true);
    const r = parseWire(raw.subarray("HTTP/1.1 100 Continue\r\n\r\n".length), "POST");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("/count/expect 4\n");
  });
});

describe("an origin going down", () => {
  it("a GET whose new pooled connection the origin closes unanswered is sent once more on another new one, and the client gets the 200", async () => {
    origin.hangUpAll(); // no kept connection: the GET gets a new one
    await new Promise((r) => setTimeout(r, 100));
    const before = origin.connections;
    const res = await rawRequest(serve.base, { path: "/count/drop-first" });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("/count/drop-first 0\n");
    expect(res.complete).toBe(true);
    expect(arrived("/count/drop-first")).toBe(2);
    expect(origin.connections).toBe(before + 2);
  });
});

describe("keep-alive and pipelining", () => {
  it("two requests in one write are both answered, in order, on the same connection", async () => {
    const two = "GET /count/p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /count/p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const { raw, closed } = await rawExchange(serve.base, two);
    const [a, b] = parseWireAll(raw, ["GET", "GET"]);
    expect(a.status).toBe(200);
    expect(a.body.toString()).toBe("/count/p1 0\n");
    expect(a.get("connection")).toBe("keep-alive");
    expect(b.status).toBe(200);
    expect(b.body.toString()).toBe("/count/p2 0\n");
    expect(b.get("connection")).toBe("close");
    expect(closed).toBe(true);
  });

  it("a chunked body decoded in Wasm reaches the origin whole, and the request pipelined behind it is answered next", async () => {
    const bytes =
      "POST /count/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n" +
      "GET /count/behind HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const { raw } = await rawExchange(serve.base, bytes);
    const [a, b] = parseWireAll(raw, ["POST", "GET"]);
    expect(a.status).toBe(200);
    expect(a.body.toString()).toBe("/count/chunked 11\n");
    expect(b.status).toBe(200);
    expect(b.body.toString()).toBe("/count/behind 0\n");
  });

  it("a second request sent after the first answer rides the same connection", async () => {
    const c = await rawClient();
    c.write("GET /count/k1 HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until((got) => got.toString().includes("/count/k1 0\n"));
    c.write("POST /count/k2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    const got = await c.until((got) => got.toString().includes("/count/k2 3\n"));
    c.destroy();
    const [a, b] = parseWireAll(got, ["GET", "POST"]);
    expect(a.body.toString()).toBe("/count/k1 0\n");
    expect(b.body.toString()).toBe("/count/k2 3\n");
    expect(b.get("connection")).toBe("keep-alive");
  });
});

describe("a body the gateway answers without reading (nginx's discard)", () => {
  it("is read and dropped, and the request behind it rides the same connection", async () => {
    const bytes =
      "POST /moved HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world" +
      "POST /moved HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
      "GET /count/after-discard HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const { raw, closed } = await rawExchange(serve.base, bytes);
    const [a, b, c] = parseWireAll(raw, ["POST", "POST", "GET"]);
    expect([a.status, b.status]).toEqual([301, 301]);
    expect(a.get("location")).toBe("/count/new");
    expect(a.get("connection")).toBe("keep-alive");
    expect(b.get("connection")).toBe("keep-alive");
    expect(c.status).toBe(200);
    expect(c.body.toString()).toBe("/count/after-discard 0\n");
    expect(closed).toBe(true);
  });

  it("past the discard's bound (1 MiB) the connection is closed instead, and nothing behind the body is answered", async () => {
    const big = 2 * 1024 * 1024;
    const { raw, closed } = await rawExchange(serve.base, [
      `POST /moved HTTP/1.1\r\nHost: x\r\nContent-Length: ${big}\r\n\r\n`,
      Buffer.alloc(big, 0x61),
      "GET /count/behind-big HTTP/1.1\r\nHost: x\r\n\r\n",
    ]);
    const [a, b] = parseWireAll(raw, ["POST", "GET"]);
    expect(a.status).toBe(301);
    expect(b).toBeUndefined();
    expect(closed).toBe(true);
    expect(arrived("/count/behind-big")).toBe(0);
  });

  it("a body that stops arriving after the answer: the discard gives up and the connection is closed", async () => {
    const { raw, closed } = await rawExchange(serve.base, "POST /moved HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b", 8_000);
    expect(parseWire(raw, "POST").status).toBe(301);
    expect(closed).toBe(true);
  });

  it("a body that arrives after the answer is dropped too", async () => {
    const c = await rawClient();
    c.write("POST /moved HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");
    await c.until((got) => got.includes("\r\n\r\n"));
    c.write("helloGET /count/late-body HTTP/1.1\r\nHost: x\r\n\r\n");
    const got = await c.until((got) => got.toString().includes("/count/late-body 0\n"));
    c.destroy();
    const [a, b] = parseWireAll(got, ["POST", "GET"]);
    expect(a.status).toBe(301);
    expect(b.status).toBe(200);
    expect(b.body.toString()).toBe("/count/late-body 0\n");
  });

  it("a client waiting to be asked for its body (Expect: 100-continue) gets the final answer and the connection closes", async () => {
    const { raw, closed } = await rawExchange(serve.base, "POST /moved HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 5_000);
    const r = parseWire(raw, "POST");
    expect(r.status).toBe(301);
    expect(raw.toString("latin1")).not.toContain("100 Continue");
    expect(r.get("connection")).toBe("close");
    expect(closed).toBe(true);
  });

  // Reading the body to drop it before an error page would ask for it (100 Continue) only to
  // throw it away: curl sends a large upload that way, and a 413 would come after it.
  it.each([
    ["no route (404)", "/nowhere", "5", 404, "Not Found", "ROUTE_NOT_FOUND"],
    // The status line's name is RFC 9110's, as on the error page (Node's table has 7231's).
    ["a body over max_body (413)", "/count/too-big", String(200 * 1024 * 1024), 413, "Content Too Large", "BODY_TOO_LARGE"],
  ])("%s for a client waiting to be asked for its body: the error, no 100 Continue, Connection: close, and the connection closes", async (_why, path, length, status, reason, code) => {
    const { raw, closed } = await rawExchange(serve.base, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`, 5_000);
    expect(raw.toString("latin1")).not.toContain("100 Continue");
    expect(raw.toString("latin1").split("\r\n")[0]).toBe(`HTTP/1.1 ${status} ${reason}`);
    const r = parseWire(raw, "POST");
    expect(r.status).toBe(status);
    expect(r.get("x-edgepass-error")).toBe(code);
    expect(r.get("connection")).toBe("close");
    expect(closed).toBe(true);
    expect(arrived(path)).toBe(0);
  });
});

describe("the origin's head fields, as the client receives them", () => {
  it.each([
    ["HTTP", "/rogue/connection-named"],
    ["FastCGI", "/fcgi-pooled/connection-named"],
  ])("%s: fields the origin's Connection names never reach the client; Date is added", async (_kind, path) => {
    const r = await rawRequest(serve.base, { path, timeoutMs: 8_000 });
    expect(r.status).toBe(200);
    expect(r.get("x-internal")).toBeNull();
    expect(r.get("keep-alive")).toBeNull();
    expect(r.raw.toString("latin1").toLowerCase()).not.toContain("secret");
    expect(Date.parse(r.get("date") ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect(r.body.toString()).toBe("ok\n");
  });
});

describe("what the client receives when the origin's body breaks", () => {
  it("a body shorter than its Content-Length: the declared length is kept and the connection cut short of it", async () => {
    const r = await rawRequest(serve.base, { path: "/rogue/short-body", timeoutMs: 8_000 });
    expect(r.status).toBe(200);
    expect(r.framing).toBe("length");
    expect(r.get("content-length")).toBe("100");
    expect(r.complete).toBe(false);
  });

  it("a body longer than its Content-Length: exactly the declared bytes", async () => {
    const r = await rawRequest(serve.base, { path: "/rogue/long-body", timeoutMs: 8_000 });
    expect(r.framing).toBe("length");
    expect(r.body.toString()).toBe("five!");
    expect(r.raw.toString("latin1").endsWith("\r\n\r\nfive!")).toBe(true);
  });

  it("a chunked body cut by the origin: chunked to the client, and it ends WITHOUT the 0-size chunk", async () => {
    const r = await rawRequest(serve.base, { path: "/rogue/cut-chunked", timeoutMs: 8_000 });
    expect(r.status).toBe(200);
    expect(r.framing).toBe("chunked");
    expect(r.body.toString()).toBe("hello");
    expect(r.complete).toBe(false);
    expect(r.raw.toString("latin1")).not.toContain("\r\n0\r\n\r\n");
  });

  it("a chunked body the origin stops sending (read_timeout): no 0-size chunk either", async () => {
    const r = await rawRequest(serve.base, { path: "/rogue/silence-chunked", timeoutMs: 8_000 });
    expect(r.framing).toBe("chunked");
    expect(r.body.toString()).toBe("hello");
    expect(r.complete).toBe(false);
  });

  it("an HTTP/1.0 client gets a body of unknown length delimited by the close, not chunked", async () => {
    const { raw, closed } = await rawExchange(serve.base, "GET /rogue/chunked-slow HTTP/1.0\r\nHost: x\r\n\r\n");
    const r = parseWire(raw, "GET");
    expect(r.framing).toBe("close");
    expect(r.get("connection")).toBe("close");
    expect(r.body.toString()).toBe("hello world");
    expect(closed).toBe(true);
  });

  it("a whole chunked body does end with the 0-size chunk", async () => {
    const r = await rawRequest(serve.base, { path: "/rogue/chunked-slow", timeoutMs: 8_000 });
    expect(r.framing).toBe("chunked");
    expect(r.body.toString()).toBe("hello world");
    expect(r.complete).toBe(true);
  });

  it("a chunked body that arrived whole with its head goes out with its length, to HTTP/1.1 and 1.0 clients", async () => {
    const r = await rawRequest(serve.base, { path: "/rogue/chunked-ok", timeoutMs: 8_000 });
    expect(r.framing).toBe("length");
    expect(r.get("content-length")).toBe("11");
    expect(r.body.toString()).toBe("hello world");
    const old = parseWire((await rawExchange(serve.base, "GET /rogue/chunked-ok HTTP/1.0\r\nHost: x\r\n\r\n")).raw, "GET");
    expect(old.framing).toBe("length");
    expect(old.body.toString()).toBe("hello world");
  });
});

describe("read_timeout on kept connections, on the wire", () => {
  /** Resolves once serve logged that a body was cut by read_timeout after `from` bytes of log. */
  async function cutByReadTimeout(from: number): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(serve.run.stdout + serve.run.stderr).slice(from).includes('"code":"UPSTREAM_READ_TIMEOUT"')) {
      if (Date.now() > deadline) throw new Error("no response_cut with UPSTREAM_READ_TIMEOUT was logged");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it.each([
    ["HTTP, a declared length", "/pooled/rogue/silence-after-head", "length", "ten bytes."],
    ["HTTP, chunked", "/pooled/rogue/silence-chunked", "chunked", "hello"],
    ["FastCGI, no length", "/fcgi-pooled/stall-mid-body", "chunked", "first part\n"],
  ])("%s: the origin stops mid-body, the client sees the body cut, never complete", async (_name, path, framing, body) => {
    const from = serve.run.stdout.length + serve.run.stderr.length;
    const r = await rawRequest(serve.base, { path, timeoutMs: 8_000 });
    expect(r.status).toBe(200);
    expect(r.framing).toBe(framing);
    expect(r.body.toString()).toBe(body);
    expect(r.complete).toBe(false);
    expect(r.raw.toString("latin1")).not.toContain("\r\n0\r\n\r\n");
    await cutByReadTimeout(from);
  });
});

describe("a body only the close delimits (HTTP/1.0), cut by the origin", () => {
  it("ends with a reset, not a close that would make it look whole", async () => {
    const u = new URL(serve.base);
    const sock = net.connect(Number(u.port), u.hostname);
    const parts: Buffer[] = [];
    sock.on("data", (d: Buffer) => parts.push(d));
    sock.write("GET /rogue/cut-chunked-slow HTTP/1.0\r\nHost: x\r\n\r\n");
    const how = await new Promise<string>((resolve) => {
      sock.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      sock.once("end", () => resolve("end"));
    });
    sock.destroy();
    expect(how).toBe("ECONNRESET");
    expect(Buffer.concat(parts).toString("latin1")).toMatch(/^HTTP\/1\.1 200 /);
  });
});
