// The HTTP keep-alive pool (src/pool/http-pool.ts) and the rule that decides when an HTTP/1.1
// connection may carry another request (src/protocol/stream-response.ts): each test reads as
// a rule. The pool runs behind the gateway pipeline against loopback scripted origins.
import net from "node:net";
import { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { createCodec } from "../../src/codec/index.js";
import { loadConfig } from "../../src/config/load.js";
import type { Reuse } from "../../src/core/exchange.js";
import { createGateway } from "../../src/core/gateway.js";
import { requestLogger } from "../../src/core/log.js";
import { platformBody } from "../../src/core/respond.js";
import type { Dial } from "../../src/core/transport.js";
import { idleFor } from "../../src/pool/http-pool.js";
import { PoolRegistry } from "../../src/pool/registry.js";
import { readStreamResponse } from "../../src/protocol/stream-response.js";
import { scriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

const codec = createCodec(loadWasmModuleFromDisk());
const quiet = requestLogger("t", () => {});

/** Reads a response from `chunks` (one read each) to its end; returns the first release. */
async function released(chunks: string[], method = "GET"): Promise<{ clean: boolean; reuse: Reuse | null; body: string }> {
  const queue = chunks.map((c) => new Uint8Array(Buffer.from(c, "latin1")));
  const calls: Array<{ clean: boolean; reuse: Reuse | null }> = [];
  const res = await readStreamResponse({
    io: { read: async () => queue.shift() ?? null },
    codec,
    origin: "test",
    mode: "http",
    method,
    headLimit: 16384,
    log: quiet,
    release: (clean, reuse) => void calls.push({ clean, reuse }),
  });
  const body = res.body ? Buffer.from(await new Response(platformBody(res.body)).arrayBuffer()).toString("latin1") : "";
  return { ...calls[0]!, body };
}

const KEPT = { clean: true, reuse: { keepAliveMs: null } };
const NOT_KEPT = { clean: true, reuse: null };

describe("when a connection may carry another request", () => {
  it.each([
    ["Content-Length", ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"], KEPT],
    ["Content-Length, body over several reads", ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe", "l", "lo"], KEPT],
    ["chunked", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"], KEPT],
    ["chunked, split", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n0\r", "\n\r\n"], KEPT],
    ["HTTP/1.0 with Connection: keep-alive", ["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello"], KEPT],
    ["a 100 Continue first", ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"], KEPT],
    ["204", ["HTTP/1.1 204 No Content\r\n\r\n"], KEPT],
    ["304", ["HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"], KEPT],
    ["Content-Length: 0", ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], KEPT],
    ["Connection: close", ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello"], NOT_KEPT],
    ["HTTP/1.0 without keep-alive", ["HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"], NOT_KEPT],
    ["a close-delimited body", ["HTTP/1.1 200 OK\r\n\r\nhello"], NOT_KEPT],
    ["Keep-Alive: max=0", ["HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=0\r\nContent-Length: 5\r\n\r\nhello"], NOT_KEPT],
    ["bytes after a Content-Length body", ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n"], NOT_KEPT],
    ["bytes after the last chunk", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"], NOT_KEPT],
    ["bytes after a bodiless 204", ["HTTP/1.1 204 No Content\r\n\r\njunk"], NOT_KEPT],
  ])("%s", async (_, chunks, want) => {
    const r = await released(chunks);
    expect({ clean: r.clean, reuse: r.reuse }).toEqual(want);
    if (r.body) expect(r.body).toBe("hello");
  });

  it("a HEAD response is bodiless whatever its Content-Length says, and its connection is not kept (some servers send the body anyway)", async () => {
    expect(await released(["HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"], "HEAD")).toMatchObject(NOT_KEPT);
  });

  it("Keep-Alive: timeout=N is passed on", async () => {
    const r = await released(["HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=99\r\nContent-Length: 5\r\n\r\nhello"]);
    expect(r.reuse).toEqual({ keepAliveMs: 5000 });
  });

  it("a response cut short is not clean", async () => {
    const r = await released(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"]).catch(() => null);
    // The body stream errors; the release said not clean.
    expect(r === null || r.clean === false).toBe(true);
  });

  it("the idle time kept: idle_timeout, or the server's Keep-Alive timeout less a margin", () => {
    expect(idleFor(4000, null)).toBe(4000);
    expect(idleFor(4000, 60_000)).toBe(4000);
    expect(idleFor(10_000, 5000)).toBe(4000);
    expect(idleFor(4000, 1000)).toBe(500);
    expect(idleFor(4000, 0)).toBe(0);
  });
});

const dial: Dial = (a) =>
  new Promise((resolve, reject) => {
    const s = net.connect(a.port, a.host);
    s.once("error", reject);
    s.once("connect", () => {
      const web = Duplex.toWeb(s) as unknown as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
      resolve({ ...web, close: async () => void s.destroy() });
    });
  });

let pools: PoolRegistry | undefined;
let server: ScriptedServer | undefined;
afterEach(async () => {
  pools?.dispose();
  await server?.close();
});

/** An origin answering each request (its body read by Content-Length) on a kept connection;
 *  `hold` answers only when told. */
async function origin(opts: { keepAlive?: string; hold?: boolean } = {}) {
  const heads: string[] = [];
  const held: Array<() => void> = [];
  let accepted = 0;
  /** The connections closed, by the order they were accepted in (1 first). */
  const closed: number[] = [];
  server = await scriptedServer((sock) => {
    const n = ++accepted;
    sock.on("close", () => closed.push(n));
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) break;
        heads.push(buf.slice(0, end));
        buf = buf.slice(end + 4 + length);
        const answer = () =>
          sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${opts.keepAlive ? `Keep-Alive: ${opts.keepAlive}\r\n` : ""}\r\nok`);
        if (opts.hold) held.push(answer);
        else answer();
      }
    });
  });
  const port = server.port;
  return { port, heads, held, closed, accepted: () => accepted };
}

function gateway(port: number, keys: string) {
  pools = new PoolRegistry(() => {});
  const toml = `[upstreams.web]\nprotocol = "http"\nservers = ["127.0.0.1:${port}"]\npool = "pooled"\n${keys}\n[[routes]]\nmatch = "/"\nupstream = "web"\n`;
  const registry = pools;
  const gw = createGateway({ config: loadConfig(toml, "test.toml"), codec, dial, sink: () => {}, connections: (upstream, requestId) => registry.connections({ upstream, codec, dial }, requestId) });
  const call = (path: string) => gw(new Request(`http://gw.test${path}`), { requestId: "t" });
  return Object.assign(gw, { fetch: call, stats: () => registry.stats()[0]! });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the HTTP keep-alive pool", () => {
  it("sends Connection: keep-alive and reuses one connection for requests in turn", async () => {
    const o = await origin();
    const gw = gateway(o.port, "");
    for (let i = 0; i < 5; i++) expect(await (await gw.fetch(`/r/${i}`)).text()).toBe("ok");
    expect(o.accepted()).toBe(1);
    expect(o.heads.every((h) => /\r\nConnection: keep-alive$/m.test(h))).toBe(true);
    expect(gw.stats()).toMatchObject({ open: 1, idle: 1, served: 5, retried: 0 });
  });

  it("past max_connections and queue: 503 with Retry-After, saying saturated", async () => {
    const o = await origin({ hold: true });
    const gw = gateway(o.port, "max_connections = 1\nqueue = 0");
    const first = gw.fetch("/slow");
    await until(() => o.held.length === 1);
    const second = await gw.fetch("/next");
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(await second.text()).toContain("saturated");
    o.held[0]!();
    expect((await first).status).toBe(200);
    expect(gw.stats().rejected.queueFull).toBe(1);
  });

  it("a body too big to be held for a resend goes on a new connection, in place of the idle one though there is room", async () => {
    const o = await origin();
    const gw = gateway(o.port, 'idle_timeout = "60s"');
    expect(await (await gw.fetch("/first")).text()).toBe("ok");
    const post = await gw(new Request("http://gw.test/upload", { method: "POST", body: new Uint8Array(100_000).fill(0x61) }), { requestId: "t" });
    expect(await post.text()).toBe("ok");
    // An origin may hold a worker for each kept connection (php-fpm does): a new one would
    // wait for it. The gateway closed the idle one (kept a minute otherwise) for the new one.
    expect(o.accepted()).toBe(2);
    await until(() => o.closed.includes(1));
    expect(gw.stats().servers[0].closedByServer).toBe(0);
  });

  it("a server's Keep-Alive timeout shortens the idle time: closed before the server would", async () => {
    const o = await origin({ keepAlive: "timeout=1" });
    const gw = gateway(o.port, 'idle_timeout = "60s"');
    expect(await (await gw.fetch("/k")).text()).toBe("ok");
    expect(gw.stats().open).toBe(1);
    // idle_timeout is a minute; the server's second (less the margin) closes it.
    await until(() => gw.stats().open === 0);
    expect(gw.stats().servers[0].closedByGateway).toBe(1);
    expect(gw.stats().servers[0].closedByServer).toBe(0);
  });
});

describe("the HTTP keep-alive pool, when an exchange does not end cleanly", () => {
  it("a client that goes away mid-response: that connection is closed, not reused", async () => {
    let accepted = 0;
    server = await scriptedServer((sock) => {
      accepted++;
      sock.once("data", () => sock.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nfirst part"));
    });
    const gw = gateway(server.port, "");
    const res = await gw.fetch("/big");
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    await until(() => gw.stats().open === 0);
    expect(gw.stats()).toMatchObject({ busy: 0, served: 0 });
    expect(gw.stats().servers[0].closedByGateway).toBe(1);
    expect(accepted).toBe(1);
  });

  it("an answer that ends before the request body was all sent: the connection is closed, not kept", async () => {
    const o = await origin();
    const gw = gateway(o.port, "");
    let cancelled = false;
    // A client body that never ends: the origin answers at the head anyway.
    const body = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(new TextEncoder().encode("part of it")),
      cancel: () => void (cancelled = true),
    });
    const init: RequestInit & { duplex: "half" } = { method: "POST", body, duplex: "half" };
    const res = await gw(new Request("http://gw.test/upload", init), { requestId: "t" });
    expect(await res.text()).toBe("ok");
    // Past the send grace the connection is closed and the client's body let go.
    await until(() => gw.stats().open === 0);
    expect(gw.stats().servers[0].closedByGateway).toBe(1);
    expect(gw.stats().served).toBe(1);
    // What the client still sends is drained within bounds (core/drain.ts), then let go.
    await until(() => cancelled, 5000);
  });
});
