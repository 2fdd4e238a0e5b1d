// WebSocket through both hosts to a real tornado app (test/fixtures/apps/tornado/ws_app.py),
// judged by a real client (the ws package) and, on serve, a raw socket: messages both ways in
// order and whole, the subprotocol, close codes and reasons both ways, a quiet connection
// outliving read_timeout, a handshake the origin refuses, and limit_conn holding its place
// for as long as the WebSocket is open. edgepass serve passes the client's bytes as they are
// (so permessage-deflate is agreed end to end); the Worker speaks WebSocket to the client
// itself and relays messages, so the origin is asked for no extension.
import net from "node:net";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { publicCopy, startPhpFpm } from "../helpers/php-fpm.js";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { BOTH_HOSTS, repoRoot, startDev, startServe, type Dev } from "../helpers/process.js";
import { selfSigned } from "../helpers/tls.js";
import { linesLike } from "../helpers/log-lines.js";
import type { Server } from "../helpers/servers/launch.js";
import { startTornado } from "../helpers/servers/tornado.js";

let tornado: Server;
beforeAll(async () => {
  tornado = await startTornado();
}, 30_000);
afterAll(() => tornado?.stop());

const site = () => `[upstreams.app]
protocol = "http"
servers = ["127.0.0.1:${tornado.port}"]
read_timeout = "1s"

[[routes]]
match = "^~ /one/"
upstream = "app"
strip_prefix = "/one"
limit_conn = { key = "route", max = 1 }

[[routes]]
match = "/"
upstream = "app"
`;

interface Open {
  ws: WebSocket;
  /** The X-Request-Id of the 101. */
  requestId: string;
  /** Text as it came, binary as "bin:<length>:<sha256 prefix>". */
  got: string[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once `n` messages have arrived. */
  until(n: number): Promise<string[]>;
}

const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex").slice(0, 12);

async function open(base: string, path = "/ws", protocols: string[] = []): Promise<Open> {
  const ws = new WebSocket(base.replace(/^http/, "ws") + path, protocols, { perMessageDeflate: true });
  const got: string[] = [];
  const waits: Array<() => void> = [];
  let requestId = "";
  ws.once("upgrade", (res) => (requestId = String(res.headers["x-request-id"])));
  ws.on("message", (d: Buffer, binary) => {
    got.push(binary ? `bin:${d.length}:${digest(d)}` : d.toString());
    for (const w of waits.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
  const until = async (n: number) => {
    const deadline = Date.now() + 15_000;
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} messages: ${got.join(" | ")}`);
      await new Promise<void>((r) => {
        waits.push(r);
        setTimeout(r, 200);
      });
    }
    return got;
  };
  return { ws, requestId, got, closed, until };
}

/** A handshake the server answers without switching: its status and body. */
function refusedHandshake(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace(/^http/, "ws") + path);
    ws.once("open", () => reject(new Error("switched")));
    ws.once("error", () => {});
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

/** The last close tornado heard from a client, once its code is `code` (polled: the close
 *  reaches the origin a moment after the client hears its answer), or the last one seen. */
async function lastClose(base: string, code: number): Promise<unknown> {
  const deadline = Date.now() + 10_000;
  let last: unknown;
  do {
    last = await (await fetch(`${base}/last-close`)).json();
    if ((last as { code: number }).code === code) break;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  return last;
}

/** The request lines of `id` once there is one (a WebSocket's is written when it ends). */
async function requestLines(gw: Dev, id: string, ms = 10_000): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const lines = linesLike(gw.run.stdout, { event: "request", request_id: id });
    if (lines.length > 0 || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pattern = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
};

describe.each(BOTH_HOSTS)("%s", (host, start) => {
  let gw: Dev;
  const serve = host === "edgepass serve";
  beforeAll(async () => {
    gw = await start(site());
  }, 60_000);
  afterAll(() => gw?.stop());

  it("relays text and binary messages both ways, whole and in order, with the subprotocol the origin picked", async () => {
    const c = await open(gw.base, "/ws", ["chat"]);
    expect(c.ws.protocol).toBe("chat");
    const sizes = [0, 10, 125, 126, 65535, 65536, 200_000, 1_000_000];
    c.ws.send("hello");
    for (const n of sizes) c.ws.send(pattern(n));
    c.ws.send("héllo ✓");
    c.ws.send("burst:50");
    const got = await c.until(2 + sizes.length + 50);
    expect(got.slice(0, sizes.length + 2)).toEqual(["hello", ...sizes.map((n) => `bin:${n}:${digest(pattern(n))}`), "héllo ✓"]);
    expect(got.slice(sizes.length + 2)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    // A large message from the origin arrives whole.
    c.ws.send("big:3000000");
    expect((await c.until(got.length + 1)).at(-1)).toBe(`bin:3000000:${digest(pattern(3_000_000))}`);
  }, 60_000);

  it("passes the client's close code and reason to the origin", async () => {
    const c = await open(gw.base);
    c.ws.send("x");
    await c.until(1);
    c.ws.close(4002, "leaving");
    expect((await c.closed).code).toBe(4002);
    expect(await lastClose(gw.base, 4002)).toEqual({ code: 4002, reason: "leaving" });
  }, 30_000);

  it("the origin sees the handshake with the forwarding fields; extensions are agreed where the bytes pass untouched", async () => {
    const c = await open(gw.base);
    c.ws.send("headers");
    const seen = JSON.parse((await c.until(1))[0]) as Record<string, string>;
    expect(seen["Upgrade"]?.toLowerCase()).toBe("websocket");
    expect(seen["Connection"]?.toLowerCase()).toBe("upgrade");
    expect(seen["Sec-Websocket-Version"]).toBe("13");
    expect(seen["X-Forwarded-For"]).toContain("127.0.0.1");
    expect(seen["Via"]).toContain("edgepass");
    if (serve) {
      // The client's bytes reach the origin as they are: the compression the two agreed works.
      expect(seen["Sec-Websocket-Extensions"]).toContain("permessage-deflate");
      expect(c.ws.extensions).toContain("permessage-deflate");
    } else {
      // workerd agrees extensions with the client; the origin hears plain frames only.
      expect(seen["Sec-Websocket-Extensions"]).toBeUndefined();
    }
    c.ws.close();
    await c.closed;
  }, 30_000);

  it("passes the origin's close code and reason to the client", async () => {
    const c = await open(gw.base);
    c.ws.send("close:4001:bye");
    expect(await c.closed).toEqual({ code: 4001, reason: "bye" });
  }, 30_000);

  it("a quiet WebSocket outlives the upstream's read_timeout", async () => {
    const c = await open(gw.base);
    c.ws.send("one");
    await c.until(1);
    // read_timeout is 1 s: an HTTP response this quiet would be cut with a 504.
    await new Promise((r) => setTimeout(r, 2500));
    c.ws.send("two");
    expect(await c.until(2)).toEqual(["one", "two"]);
    c.ws.close();
    await c.closed;
    // Its request line is written when it ends: status 101, how long it lasted, the bytes.
    const lines = await requestLines(gw, c.requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 101, path: "/ws", upstream: "app" });
    expect(lines[0].total_ms).toBeGreaterThanOrEqual(2500);
    expect(lines[0].bytes_in).toBeGreaterThan(0);
    expect(lines[0].bytes_out).toBeGreaterThan(0);
  }, 30_000);

  it("a handshake the origin refuses is an ordinary answer, and plain requests on the route are untouched", async () => {
    expect(await refusedHandshake(gw.base, "/ws-refuse")).toEqual({ status: 403, body: "no websocket here\n" });
    const plain = await fetch(`${gw.base}/`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe("plain page\n");
  }, 30_000);

  it("limit_conn holds a place for as long as the WebSocket is open", async () => {
    const first = await open(gw.base, "/one/ws");
    first.ws.send("ping");
    await first.until(1);
    const refused = await refusedHandshake(gw.base, "/one/ws");
    expect(refused.status).toBe(429);
    expect(refused.body).toContain("LIMIT_CONN");
    first.ws.close();
    await first.closed;
    // The place comes back once the relay ends (polled: the close crosses two connections).
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const again = await open(gw.base, "/one/ws");
        again.ws.close();
        await again.closed;
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }, 60_000);
});

describe("through the platform's fetch() (via = \"fetch\")", () => {
  const viaFetch = () => `[upstreams.app]
protocol = "http"
via = "fetch"
url = "http://127.0.0.1:${tornado.port}"

[[routes]]
match = "/"
upstream = "app"
`;

  it("the Worker opens its own WebSocket to the origin and passes messages and closes both ways", async () => {
    const gw = await startDev(viaFetch());
    try {
      const c = await open(gw.base, "/ws", ["chat"]);
      expect(c.ws.protocol).toBe("chat");
      c.ws.send("hello");
      c.ws.send(pattern(70_000));
      c.ws.send("big:300000");
      expect(await c.until(3)).toEqual(["hello", `bin:70000:${digest(pattern(70_000))}`, `bin:300000:${digest(pattern(300_000))}`]);
      c.ws.send("close:4001:bye");
      expect(await c.closed).toEqual({ code: 4001, reason: "bye" });
      const d = await open(gw.base);
      d.ws.close(4002, "leaving");
      await d.closed;
      expect(await lastClose(gw.base, 4002)).toEqual({ code: 4002, reason: "leaving" });
      const lines = await requestLines(gw, c.requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ status: 101 });
      expect(lines[0].bytes_out as number).toBeGreaterThanOrEqual(370_000);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it("edgepass serve forwards the handshake as a plain GET, as documented (its fetch() opens no WebSocket)", async () => {
    const gw = await startServe(viaFetch());
    try {
      const refused = await refusedHandshake(gw.base, "/ws");
      // tornado's answer to a GET without Upgrade on a WebSocket path.
      expect(refused.status).toBe(400);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

describe("edgepass serve on the wire", () => {
  let gw: Dev;
  beforeAll(async () => {
    gw = await startServe(`[serve]\nsend_timeout = "1s"\n\n${site()}`);
  }, 60_000);
  afterAll(() => gw?.stop());

  /** A masked client frame. */
  const frame = (opcode: number, payload: Buffer) => {
    const key = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]));
    return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), key, masked]);
  };

  const handshake = (path: string) =>
    Buffer.from(`GET ${path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);

  it("keeps TCP keep-alive on the client's connection, so a peer that vanished is found", async () => {
    const port = new URL(gw.base).port;
    const sock = net.connect(Number(port), "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const local = sock.localPort;
    sock.write(handshake("/ws"));
    await new Promise<void>((r) => sock.once("data", () => r()));
    // ss shows the kernel's keep-alive timer on serve's side of this connection.
    const out = execFileSync("ss", ["-tno", "state", "established", `( sport = :${port} and dport = :${local} )`], { encoding: "utf8" });
    expect(out).toMatch(/timer:\(keepalive,/);
    sock.destroy();
  }, 30_000);

  it("a client that stops reading is dropped after send_timeout, and the WebSocket's line is written", async () => {
    const sock = net.connect(Number(new URL(gw.base).port), "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.on("error", () => {});
    let id = "";
    sock.once("data", (d) => (id = /x-request-id: (\S+)/i.exec(d.toString("latin1"))?.[1] ?? ""));
    // 40 MB from the origin, more than the kernel buffers on both ends hold; none of it read.
    sock.write(Buffer.concat([handshake("/ws"), frame(1, Buffer.from("big:40000000"))]));
    while (!id) await new Promise((r) => setTimeout(r, 20));
    sock.pause();
    const lines = await requestLines(gw, id, 20_000);
    expect(lines).toHaveLength(1);
    expect(lines[0].status).toBe(101);
    expect(lines[0].bytes_out as number).toBeLessThan(40_000_000);
    sock.destroy();
  }, 30_000);

  it("answers 101 with the accept key, and relays a frame sent in the same write as the handshake", async () => {
    const key = "dGhlIHNhbXBsZSBub25jZQ==";
    const sock = net.connect(Number(new URL(gw.base).port), "127.0.0.1");
    let got = Buffer.alloc(0);
    sock.on("data", (d) => (got = Buffer.concat([got, d])));
    const ended = new Promise<void>((r) => sock.once("close", () => r()));
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.write(
      Buffer.concat([
        Buffer.from(`GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
        frame(1, Buffer.from("early")),
      ]),
    );
    const deadline = Date.now() + 10_000;
    while (!got.includes(Buffer.from("early")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const headEnd = got.indexOf("\r\n\r\n");
    const head = got.subarray(0, headEnd).toString("latin1").toLowerCase();
    expect(head.split("\r\n")[0]).toBe("http/1.1 101 switching protocols");
    expect(head).toContain("\r\nupgrade: websocket");
    expect(head).toContain("\r\nconnection: upgrade");
    // RFC 6455 1.3's example key and its accept value.
    expect(head).toContain("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=");
    // The origin's echo: an unmasked text frame, passed as it came.
    expect(got.subarray(headEnd + 4)).toEqual(Buffer.from([0x81, 5, ...Buffer.from("early")]));
    // A close from the client is answered by the origin, and the connection ends.
    sock.write(frame(8, Buffer.from([0x03, 0xe8])));
    await ended;
    expect(got.subarray(headEnd + 4 + 7).subarray(0, 4)).toEqual(Buffer.from([0x88, 2, 0x03, 0xe8]));
  }, 30_000);

  it("a reload (SIGHUP) keeps an open WebSocket going", async () => {
    const c = await open(gw.base);
    c.ws.send("before");
    await c.until(1);
    const reloaded = gw.run.stdout.split("reloaded config").length;
    gw.run.child.kill("SIGHUP");
    const deadline = Date.now() + 10_000;
    while (gw.run.stdout.split("reloaded config").length === reloaded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(gw.run.stdout.split("reloaded config").length).toBe(reloaded + 1);
    c.ws.send("after");
    expect(await c.until(2)).toEqual(["before", "after"]);
    c.ws.close();
    await c.closed;
  }, 30_000);

  it("a WebSocket open across a reload does not keep the old config's pools open", async () => {
    const fpm = await startPhpFpm({ maxChildren: 2 });
    const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
    const withPhp = `${site()}
[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]
idle_timeout = "60s"

[[routes]]
match = '~ \\.php$'
upstream = "php"
root = "${www}"
`;
    const toFpm = () => execFileSync("ss", ["-tnH", "state", "established", `( dport = :${fpm.port} )`], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length;
    let gw2: Dev | undefined;
    try {
      gw2 = await startServe(withPhp);
      // A PHP page leaves a kept connection to php-fpm in this config's pool, where only the
      // pool's closing ends it within the test (idle_timeout is 60 s).
      expect((await fetch(`${gw2.base}/status.php?code=200`)).status).toBe(200);
      expect(toFpm()).toBe(1);
      const c = await open(gw2.base);
      c.ws.send("before");
      await c.until(1);
      gw2.run.child.kill("SIGHUP");
      // Once the old config has no request left, its pools close: the WebSocket is none.
      const deadline = Date.now() + 10_000;
      while (toFpm() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(toFpm()).toBe(0);
      c.ws.send("after");
      expect(await c.until(2)).toEqual(["before", "after"]);
      c.ws.close();
      await c.closed;
    } finally {
      await gw2?.stop();
      await fpm.stop();
      rmSync(www, { recursive: true, force: true });
    }
  }, 60_000);

  it("SIGTERM with a WebSocket open: the process exits 0 once drain_timeout passed, and the client's connection ends", async () => {
    const draining = await startServe(`[serve]\ndrain_timeout = "1s"\n\n${site()}`);
    try {
      const c = await open(draining.base);
      c.ws.send("x");
      await c.until(1);
      const t0 = Date.now();
      draining.run.child.kill("SIGTERM");
      expect(await draining.run.exit).toBe(0);
      expect((await c.closed).code).toBe(1006);
      // Not before the deadline: a conversation in flight is let finish for that long.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    } finally {
      await draining.stop();
    }
  }, 30_000);
});

describe("edgepass serve with TLS and workers", () => {
  it("wss:// through the TLS listener under --workers 2", async () => {
    const { cert, key } = selfSigned("127.0.0.1");
    const gw = await startServe(`[serve]\ntls = { cert = "cert.pem", key = "key.pem" }\n\n${site()}`, { "cert.pem": cert, "key.pem": key }, [], ["--workers", "2"]);
    try {
      expect(gw.base.startsWith("https://")).toBe(true);
      const ws = new WebSocket(gw.base.replace(/^https/, "wss") + "/ws", { ca: cert });
      const got = new Promise<string>((resolve, reject) => {
        ws.once("message", (d: Buffer) => resolve(d.toString()));
        ws.once("error", reject);
      });
      ws.once("open", () => ws.send("over tls"));
      expect(await got).toBe("over tls");
      ws.close();
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
