// What an HTTP origin receives (RFC 9110 7.6: a proxy forwards end-to-end fields and drops
// hop-by-hop ones): a scripted origin echoes the exact bytes of the request it got.
import { describe, expect, inject, it } from "vitest";
import { harness } from "./gateway-harness.js";

const port = inject("rogueStreamPort");
const gw = harness(`
[upstreams.pass]
protocol = "http"
servers = ["127.0.0.1:${port}"]

[upstreams.sethost]
protocol = "http"
servers = ["127.0.0.1:${port}"]
host = "app.internal:8080"

[upstreams.buffered]
protocol = "http"
servers = ["127.0.0.1:${port}"]
request_buffering = true

[[routes]]
match = "^~ /pass/"
upstream = "pass"

[[routes]]
match = "^~ /sethost/"
upstream = "sethost"

[[routes]]
match = "^~ /buffered/"
upstream = "buffered"
`);

async function received(path: string, init?: RequestInit): Promise<{ line: string; headers: Map<string, string[]>; body: string }> {
  const res = await gw.fetch(path, init);
  expect(res.status).toBe(200);
  const text = await res.text();
  const end = text.indexOf("\r\n\r\n");
  const [line, ...fields] = text.slice(0, end).split("\r\n");
  const headers = new Map<string, string[]>();
  for (const f of fields) {
    const i = f.indexOf(":");
    const k = f.slice(0, i).toLowerCase();
    headers.set(k, [...(headers.get(k) ?? []), f.slice(i + 1).trim()]);
  }
  return { line, headers, body: text.slice(end + 4) };
}

describe("the request an HTTP origin receives", () => {
  it("request line as the platform received it (encoding and query untouched), HTTP/1.1", async () => {
    // The URL parser in front of the Worker has already resolved "/a%20b/.." away; what is
    // left, percent-encoding and query included, must reach the origin byte for byte.
    const r = await received("/pass/rogue/echo-head/a%20b/../c%2Fd?x=1&y=%2F");
    expect(r.line).toBe("GET /pass/rogue/echo-head/c%2Fd?x=1&y=%2F HTTP/1.1");
    expect(r.headers.get("host")).toEqual(["gw.test"]);
  });

  it("hop-by-hop headers and those named in Connection are removed; Connection is ours", async () => {
    const r = await received("/pass/rogue/echo-head", {
      headers: {
        Connection: "X-Secret-Hop, keep-alive",
        "X-Secret-Hop": "must not pass",
        "Keep-Alive": "timeout=5",
        TE: "trailers",
        Upgrade: "websocket",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "X-End-To-End": "kept",
      },
    });
    for (const h of ["x-secret-hop", "keep-alive", "te", "upgrade", "proxy-authorization"]) expect(r.headers.has(h), h).toBe(false);
    expect(r.headers.get("connection")).toEqual(["close"]);
    expect(r.headers.get("x-end-to-end")).toEqual(["kept"]);
  });

  it("X-Forwarded-For appends the client; -Proto and -Host are set, never trusted; Via added", async () => {
    const r = await received("/pass/rogue/echo-head", {
      headers: { "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", Via: "1.0 upstream-cdn" },
    });
    expect(r.headers.get("x-forwarded-for")).toEqual(["10.0.0.1, 203.0.113.7"]);
    expect(r.headers.get("x-forwarded-proto")).toEqual(["http"]);
    expect(r.headers.get("x-forwarded-host")).toEqual(["gw.test"]);
    expect(r.headers.get("via")).toEqual(["1.0 upstream-cdn, 1.1 edgepass"]);
  });

  it("host = … sets the Host header sent upstream", async () => {
    const r = await received("/sethost/rogue/echo-head");
    expect(r.headers.get("host")).toEqual(["app.internal:8080"]);
    expect(r.headers.get("x-forwarded-host")).toEqual(["gw.test"]);
  });

  it("a known-length body is sent with Content-Length", async () => {
    const r = await received("/pass/rogue/echo-head", { method: "POST", body: "hello=world", headers: { "content-length": "11" } });
    expect(r.headers.get("content-length")).toEqual(["11"]);
    expect(r.headers.has("transfer-encoding")).toBe(false);
    expect(r.body).toBe("hello=world");
  });

  it("an unknown-length body streams chunked; with request_buffering it gets a Content-Length", async () => {
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode("abc"));
          c.enqueue(new TextEncoder().encode("defgh"));
          c.close();
        },
      });
    const chunked = await received("/pass/rogue/echo-head", { method: "POST", body: stream(), duplex: "half" } as RequestInit);
    expect(chunked.headers.get("transfer-encoding")).toEqual(["chunked"]);
    expect(chunked.headers.has("content-length")).toBe(false);
    expect(chunked.body).toBe("3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n");

    const buffered = await received("/buffered/rogue/echo-head", { method: "POST", body: stream(), duplex: "half" } as RequestInit);
    expect(buffered.headers.get("content-length")).toEqual(["8"]);
    expect(buffered.headers.has("transfer-encoding")).toBe(false);
    expect(buffered.body).toBe("abcdefgh");
  });
});
