// WebSocket origins that misbehave, scripted (the point is the misbehaving): through the
// Worker, which reads the origin's frames itself, pings are answered, a message fragmented
// around a ping arrives whole, and a masked frame, an announced 17 MiB message or a vanished
// origin close the client's side with a code that says so (the origin hears why too); on both
// hosts a 101 to another protocol is a 502, and an origin that vanishes, or stops reading past
// its send_timeout, ends the client's connection. On serve, a request smuggled behind a
// handshake the origin did not switch for is parsed and judged as a request of its own.
import { createHash } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS, startDev, startServe, type Dev } from "../helpers/process.js";
import { scriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

/** What the origin that did not switch was sent after its answer. */
let afterRefusal = "";

/** What the origin read from the gateway after its 101: opcode and unmasked payload. */
const heard: Array<{ path: string; opcode: number; payload: Buffer }> = [];

const frame = (first: number, payload: Buffer, mask = false) => {
  const head = Buffer.from([first, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([9, 8, 7, 6]);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ key[i & 3]))]);
};

/** Reads the gateway's (masked, small) frames as they come. */
function onFrames(sock: Socket, each: (opcode: number, payload: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 6) {
      const len = buf[1] & 0x7f;
      if (len > 125 || buf.length < 6 + len) break;
      const key = buf.subarray(2, 6);
      each(buf[0] & 0x0f, Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ key[i & 3])));
      buf = buf.subarray(6 + len);
    }
  });
}

let rogue: ScriptedServer;
beforeAll(async () => {
  rogue = await scriptedServer((sock) => {
    let head = "";
    const onHead = (d: Buffer) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      sock.off("data", onHead);
      const path = head.split(" ")[1];
      if (path === "/no-switch") {
        // Answers the handshake without switching, and keeps what else it is sent.
        sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        sock.on("data", (d) => (afterRefusal += d.toString("latin1")));
        return;
      }
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? "";
      const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
      const upgrade = path === "/h2c" ? "h2c" : "websocket";
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      const pongs: string[] = [];
      onFrames(sock, (opcode, payload) => {
        heard.push({ path, opcode, payload });
        if (opcode === 10) pongs.push(payload.toString());
        if (pongs.length === 2 && opcode === 10) sock.write(frame(0x81, Buffer.from(`pongs ${pongs.join(",")}`)));
      });
      if (path === "/pings") {
        sock.write(Buffer.concat([frame(0x89, Buffer.from("p1")), frame(0x01, Buffer.from("Hel")), frame(0x89, Buffer.from("p2")), frame(0x80, Buffer.from("lo"))]));
      } else if (path === "/masked") {
        sock.write(frame(0x81, Buffer.from("hidden"), true));
      } else if (path === "/huge") {
        // A binary frame announcing 17 MiB, of which nothing follows.
        sock.write(Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0x01, 0x10, 0, 0]));
      } else if (path === "/deaf") {
        // Reads nothing more: what the gateway writes fills the buffers and waits.
        sock.pause();
        sock.removeAllListeners("data");
      } else if (path === "/vanish") {
        sock.write(frame(0x81, Buffer.from("bye")));
        setTimeout(() => sock.destroy(), 200);
      }
    };
    sock.on("data", onHead);
  });
});
afterAll(() => rogue?.close());

const site = () => `[upstreams.rogue]
protocol = "http"
servers = ["127.0.0.1:${rogue.port}"]
send_timeout = "1s"

[[routes]]
match = "^~ /denied/"
upstream = "rogue"
access = ["deny all"]

[[routes]]
match = "/"
upstream = "rogue"
`;

function connect(base: string, path: string) {
  const ws = new WebSocket(base.replace(/^http/, "ws") + path);
  const got: string[] = [];
  ws.on("message", (d: Buffer) => got.push(d.toString()));
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
  const opened = new Promise<number>((resolve) => {
    ws.once("open", () => resolve(101));
    ws.once("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0));
  });
  return { ws, got, closed, opened };
}

describe("through the Worker (edgepass dev)", () => {
  let gw: Dev;
  beforeAll(async () => {
    gw = await startDev(site());
  }, 60_000);
  afterAll(() => gw?.stop());

  it("answers the origin's pings, and joins a message fragmented around one", async () => {
    const c = connect(gw.base, "/pings");
    expect(await c.opened).toBe(101);
    const deadline = Date.now() + 10_000;
    while (c.got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(c.got).toEqual(["Hello", "pongs p1,p2"]);
    c.ws.close();
    await c.closed;
  }, 30_000);

  it.each([
    ["/masked", 1011, /masked frame/, 1002],
    ["/huge", 1009, /longer than 16777216 bytes/, 1009],
  ])("a frame a server must not send (%s) closes the client with %i and tells the origin", async (path, code, why, told) => {
    const c = connect(gw.base, path);
    expect(await c.opened).toBe(101);
    const closed = await c.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(why);
    const deadline = Date.now() + 5_000;
    while (!heard.some((h) => h.path === path && h.opcode === 8) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const close = heard.find((h) => h.path === path && h.opcode === 8);
    expect(close?.payload.readUInt16BE(0)).toBe(told);
  }, 30_000);

  it("an origin that goes without a close frame closes the client with 1011, after what it sent", async () => {
    const c = connect(gw.base, "/vanish");
    expect(await c.opened).toBe(101);
    expect(await c.closed).toEqual({ code: 1011, reason: "the origin closed the connection" });
    expect(c.got).toEqual(["bye"]);
  }, 30_000);
});

describe.each(BOTH_HOSTS)("%s", (host, start) => {
  const suite = gatewayForSuite(start, () => site());

  it("a 101 to a protocol the client did not ask for is a 502", async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve) => {
      const ws = new WebSocket(suite.dev.base.replace(/^http/, "ws") + "/h2c");
      ws.on("error", () => {});
      ws.once("unexpected-response", (_q, r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
    });
    expect(res.status).toBe(502);
    expect(res.body).toContain("UPSTREAM_BAD_RESPONSE");
    expect(res.body).toContain("switched to a protocol other than the websocket");
  }, 30_000);

  it("a 101 to a request that did not ask to switch is a 502", async () => {
    const res = await fetch(`${suite.dev.base}/unasked`);
    expect(res.status).toBe(502);
    const body = await res.text();
    expect(body).toContain("UPSTREAM_BAD_RESPONSE");
    expect(body).toContain("switched protocols, which this request did not ask for");
  }, 30_000);

  it("an origin that stops reading is given up after its send_timeout, and the client's side closed", async () => {
    const c = connect(suite.dev.base, "/deaf");
    expect(await c.opened).toBe(101);
    // 40 MB toward an origin that reads none of it: more than the buffers on the way hold.
    for (let i = 0; i < 8; i++) c.ws.send(Buffer.alloc(5_000_000));
    const closed = await c.closed;
    expect(closed.code).toBe(host === "edgepass serve" ? 1006 : 1011);
  }, 60_000);

  it("an origin that vanishes ends the client's connection, after what it sent", async () => {
    const c = connect(suite.dev.base, "/vanish");
    expect(await c.opened).toBe(101);
    const closed = await c.closed;
    expect(c.got).toEqual(["bye"]);
    // serve passes the TCP close on (no close frame: 1006 to the client); the Worker says why.
    expect(closed.code).toBe(host === "edgepass serve" ? 1006 : 1011);
  }, 30_000);
});

describe("edgepass serve on the wire", () => {
  let gw: Dev;
  beforeAll(async () => {
    gw = await startServe(site());
  }, 60_000);
  afterAll(() => gw?.stop());

  it("bytes behind a handshake the origin did not switch for are read as the next request, under the rules", async () => {
    // A client that sends a request right behind its handshake, hoping the gateway relays it
    // raw (WebSocket smuggling): the origin answers 200, so nothing switched, and the request
    // behind is the gateway's to parse, where an access rule refuses it.
    const r = await rawExchange(
      gw.base,
      "GET /no-switch HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
        "GET /denied/secret HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    const [first, second] = r.split(/(?=HTTP\/1\.1 )/);
    expect(first.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(first.endsWith("\r\n\r\nok")).toBe(true);
    expect(second.startsWith("HTTP/1.1 403 ")).toBe(true);
    expect(second).toContain("ACCESS_DENIED");
    expect(afterRefusal).not.toContain("/denied");
  }, 30_000);
});

/** Writes `text` on a new connection and reads until the server closes it. */
function rawExchange(base: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(Number(new URL(base).port), "127.0.0.1", () => sock.write(text));
    let got = "";
    sock.on("data", (d) => (got += d.toString("latin1")));
    sock.on("error", reject);
    sock.on("close", () => resolve(got));
    setTimeout(() => sock.destroy(), 10_000);
  });
}
