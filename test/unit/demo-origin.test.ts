// The demo FastCGI origin (demo/origin.ts) speaks the app-server side of FastCGI 1.0. These
// tests play the web server by hand, through the same Wasm codec, so they also show what a
// FastCGI conversation looks like: BEGIN_REQUEST, PARAMS…, empty PARAMS, STDIN…, empty STDIN;
// then STDOUT…, empty STDOUT, END_REQUEST back.
import { createHash } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoOrigin, type DemoOrigin } from "../../demo/origin.js";
import { demoPattern } from "../../demo/responses.js";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { createCodec } from "../../src/codec/index.js";
import { FcgiFlags, FcgiProtocolStatus, FcgiRole, FcgiType, type Codec, type FcgiEvent } from "../../src/codec/types.js";

let codec: Codec;
let origin: DemoOrigin;

beforeAll(async () => {
  codec = await createCodec(await loadWasmModuleFromDisk());
  origin = await startDemoOrigin({ codec, onError: (e) => console.error(e) });
});
afterAll(() => origin?.close());

/** One client connection: writes raw bytes, decodes what comes back in client mode. */
class Peer {
  readonly socket: net.Socket;
  readonly decoder = codec.fcgiDecoder("client");
  private events: FcgiEvent[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (chunk) => {
      this.events.push(...this.decoder.push(chunk));
      this.wake?.();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
  }

  send(...parts: Uint8Array[]): void {
    for (const p of parts) this.socket.write(p);
  }

  /** Events up to and including the first one `stop` accepts. */
  async until(stop: (ev: FcgiEvent) => boolean): Promise<FcgiEvent[]> {
    for (;;) {
      const at = this.events.findIndex(stop);
      if (at >= 0) return this.events.splice(0, at + 1);
      if (this.closed) throw new Error(`connection closed; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => (this.wake = r));
  }

  /** A whole responder request; resolves with STDOUT as text and the END_REQUEST event. */
  async request(id: number, params: Array<[string, string]>, body: Uint8Array = new Uint8Array(0), keepConn = false) {
    this.decoder.track(id);
    this.send(
      codec.fcgiBeginRequest(id, FcgiRole.RESPONDER, keepConn ? FcgiFlags.KEEP_CONN : 0),
      codec.fcgiParams(id, codec.buildCgiParams({ owned: params, headers: [] })),
    );
    if (body.length) this.send(codec.fcgiStream(FcgiType.STDIN, id, body));
    this.send(codec.fcgiStream(FcgiType.STDIN, id, new Uint8Array(0)));
    const events = await this.until((ev) => ev.kind === "end-request" && ev.requestId === id);
    this.decoder.untrack(id);
    const stdout = events.flatMap((ev) => (ev.kind === "stream" && ev.type === FcgiType.STDOUT ? [ev.data] : []));
    return { stdout: Buffer.concat(stdout).toString("utf8"), end: events[events.length - 1] };
  }
}

const getParams: Array<[string, string]> = [
  ["REQUEST_METHOD", "GET"],
  ["REQUEST_URI", "/hello?x=1"],
  ["QUERY_STRING", "x=1"],
  ["SCRIPT_NAME", ""],
  ["PATH_INFO", "/hello"],
  ["HTTP_X_PROBE", `<script>alert("x")</script>`],
];

describe("demo FastCGI origin", () => {
  it("answers a GET with a CGI head and a page listing the params it received", async () => {
    const peer = new Peer(origin.port);
    const { stdout, end } = await peer.request(1, getParams);
    expect(end).toEqual({ kind: "end-request", requestId: 1, appStatus: 0, protocolStatus: FcgiProtocolStatus.REQUEST_COMPLETE });
    const [head, page] = stdout.split("\r\n\r\n", 2);
    expect(head.split("\r\n")).toEqual(expect.arrayContaining(["Status: 200 OK", "Content-Type: text/html; charset=utf-8"]));
    expect(page).toContain("<th>REQUEST_URI</th><td>/hello?x=1</td>");
    expect(page).toContain("<th>PATH_INFO</th><td>/hello</td>");
    expect(page).toContain(`<h2>CGI params (${getParams.length})</h2>`);
    expect(page).toContain('<form method="post">');
    // A client header is shown as text, never as markup.
    expect(page).toContain("<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>");
    expect(page).not.toContain("<script>");
    expect(page).not.toContain('id="echo"');
    // No FCGI_KEEP_CONN: the application closes the connection after END_REQUEST (section 5.1).
    await peer.waitClosed();
  });

  it("echoes a urlencoded POST's fields and the body's byte length and SHA-256", async () => {
    const body = new TextEncoder().encode("name=Ada+L&message=a%3Cb%26c");
    const params: Array<[string, string]> = [
      ["REQUEST_METHOD", "POST"],
      ["REQUEST_URI", "/form"],
      ["CONTENT_TYPE", "application/x-www-form-urlencoded"],
      ["CONTENT_LENGTH", String(body.length)],
    ];
    const { stdout } = await new Peer(origin.port).request(7, params, body);
    expect(stdout).toContain(`<code id="body-length">${body.length}</code>`);
    expect(stdout).toContain(`<code id="body-sha256">${createHash("sha256").update(body).digest("hex")}</code>`);
    expect(stdout).toContain("<tr><th>name</th><td>Ada L</td></tr>");
    expect(stdout).toContain("<tr><th>message</th><td>a&lt;b&amp;c</td></tr>");
  });

  it("counts and hashes a body that spans several STDIN records, too big to echo", async () => {
    const body = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
    const params: Array<[string, string]> = [
      ["REQUEST_METHOD", "PUT"],
      ["CONTENT_TYPE", "application/octet-stream"],
      ["CONTENT_LENGTH", String(body.length)],
    ];
    const { stdout } = await new Peer(origin.port).request(2, params, body);
    expect(stdout).toContain(`<code id="body-length">200000</code>`);
    expect(stdout).toContain(createHash("sha256").update(body).digest("hex"));
    expect(stdout).toContain("body too large to echo");
  });

  it("serves several requests on one connection when FCGI_KEEP_CONN is set", async () => {
    const peer = new Peer(origin.port);
    const first = await peer.request(1, getParams, undefined, true);
    const second = await peer.request(2, [["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/second"]], undefined, true);
    expect(first.stdout).toContain("/hello?x=1");
    expect(second.stdout).toContain("<th>REQUEST_URI</th><td>/second</td>");
    expect(peer.closed).toBe(false);
    // The last request without KEEP_CONN hands closing back to the application.
    await peer.request(3, getParams, undefined, false);
    await peer.waitClosed();
  });

  it("refuses a second concurrent request on one connection with CANT_MPX_CONN", async () => {
    const peer = new Peer(origin.port);
    peer.decoder.track(1);
    peer.decoder.track(2);
    peer.send(
      codec.fcgiBeginRequest(1, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN),
      codec.fcgiBeginRequest(2, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN),
    );
    const [refused] = await peer.until((ev) => ev.kind === "end-request");
    expect(refused).toEqual({ kind: "end-request", requestId: 2, appStatus: 0, protocolStatus: FcgiProtocolStatus.CANT_MPX_CONN });
    peer.socket.destroy();
  });

  it("answers FCGI_GET_VALUES with the variables it knows and no others", async () => {
    const peer = new Peer(origin.port);
    peer.send(codec.fcgiGetValues(["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", "NOT_A_VARIABLE"]));
    const [result] = await peer.until((ev) => ev.kind === "values");
    expect(result).toEqual({
      kind: "values",
      type: FcgiType.GET_VALUES_RESULT,
      requestId: 0,
      pairs: [
        ["FCGI_MAX_CONNS", "64"],
        ["FCGI_MAX_REQS", "64"],
        ["FCGI_MPXS_CONNS", "0"],
      ],
    });
    peer.socket.destroy();
  });
});

describe("demo FastCGI origin, multiplexing (the test origin for pooled multiplexed connections)", () => {
  let mpx: DemoOrigin;
  beforeAll(async () => {
    mpx = await startDemoOrigin({ codec, multiplex: { maxReqs: 8 }, onError: (e) => console.error(e) });
  });
  afterAll(() => mpx?.close());

  const bytesParams = (n: number, seed: number): Array<[string, string]> => [
    ["REQUEST_METHOD", "GET"],
    ["PATH_INFO", `/bytes/${n}`],
    ["QUERY_STRING", `seed=${seed}`],
  ];

  it("answers FCGI_MPXS_CONNS=1 and its FCGI_MAX_REQS", async () => {
    const peer = new Peer(mpx.port);
    peer.send(codec.fcgiGetValues(["FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]));
    const [result] = await peer.until((ev) => ev.kind === "values");
    expect(result).toMatchObject({ pairs: [["FCGI_MAX_REQS", "8"], ["FCGI_MPXS_CONNS", "1"]] });
    peer.socket.destroy();
  });

  it("serves several requests at once on one connection, records interleaved, each body exact", async () => {
    const peer = new Peer(mpx.port);
    const ids = [1, 2, 3, 4, 5, 6];
    for (const id of ids) {
      peer.decoder.track(id);
      peer.send(
        codec.fcgiBeginRequest(id, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN),
        codec.fcgiParams(id, codec.buildCgiParams({ owned: bytesParams(8000 + id, id), headers: [] })),
        codec.fcgiStream(FcgiType.STDIN, id, new Uint8Array(0)),
      );
    }
    const events: FcgiEvent[] = [];
    const ended = new Set<number>();
    while (ended.size < ids.length) {
      const [ev] = await peer.until(() => true);
      events.push(ev);
      if (ev.kind === "end-request") ended.add(ev.requestId);
    }
    // Interleaved: some request's STDOUT is followed by another's before it ended.
    const order = events.filter((e) => e.kind === "stream" && e.data.length > 0).map((e) => e.requestId);
    const switches = order.filter((id, i) => i > 0 && id !== order[i - 1]).length;
    expect(switches).toBeGreaterThan(ids.length);
    for (const id of ids) {
      const out = Buffer.concat(events.flatMap((e) => (e.kind === "stream" && e.requestId === id ? [e.data] : [])));
      const body = out.subarray(out.indexOf("\r\n\r\n") + 4);
      expect(Buffer.compare(body, Buffer.from(demoPattern(8000 + id, id)))).toBe(0);
    }
    expect(mpx.stats.maxOpenPerConn).toBeGreaterThanOrEqual(2);
    expect(peer.closed).toBe(false);
    peer.socket.destroy();
  });

  it("answers ABORT_REQUEST with END_REQUEST, counts it, and keeps serving the connection", async () => {
    const peer = new Peer(mpx.port);
    const before = mpx.stats.aborts;
    peer.decoder.track(1);
    peer.send(
      codec.fcgiBeginRequest(1, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN),
      codec.fcgiParams(1, codec.buildCgiParams({ owned: [["REQUEST_METHOD", "GET"], ["PATH_INFO", "/drip/1000/20"]], headers: [] })),
      codec.fcgiStream(FcgiType.STDIN, 1, new Uint8Array(0)),
    );
    await peer.until((ev) => ev.kind === "stream" && ev.requestId === 1 && ev.data.length > 0);
    peer.send(codec.fcgiAbortRequest(1));
    await peer.until((ev) => ev.kind === "end-request" && ev.requestId === 1);
    expect(mpx.stats.aborts).toBe(before + 1);
    const { stdout } = await peer.request(1, bytesParams(10, 3), undefined, true);
    expect(stdout).toContain("X-Seed: 3");
    peer.socket.destroy();
  });

  it("refuses requests past FCGI_MAX_REQS with OVERLOADED", async () => {
    const peer = new Peer(mpx.port);
    for (let id = 1; id <= 9; id++) {
      peer.decoder.track(id);
      peer.send(codec.fcgiBeginRequest(id, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN));
    }
    const [refused] = await peer.until((ev) => ev.kind === "end-request");
    expect(refused).toMatchObject({ requestId: 9, protocolStatus: FcgiProtocolStatus.OVERLOADED });
    peer.socket.destroy();
  });
});
