// The request head edgepass writes to an HTTP origin (protocol/http/request-head.ts), byte by
// byte: what nginx's proxy recipes send (X-Forwarded-*, Via), minus what describes the
// client's hop, with framing of our own.
import { describe, expect, it } from "vitest";
import type { ForwardRequest } from "../../src/core/exchange.js";
import { encodeRequestHead } from "../../src/protocol/http/request-head.js";

const request = (over: Partial<ForwardRequest>): ForwardRequest =>
  ({ method: "GET", target: "/", scheme: "http", headers: [], body: null, cgi: [], ...over }) as unknown as ForwardRequest;
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

describe("the request head to an HTTP origin", () => {
  it("drops the client's hop, keeps the rest in order, and adds the forwarding fields", () => {
    const head = encodeRequestHead(
      request({
        method: "POST",
        target: "/form?a=1",
        clientAddr: "192.0.2.7",
        headers: [
          ["host", "site.example"],
          ["user-agent", "curl/8"],
          ["connection", "keep-alive, x-hop"],
          ["x-hop", "secret"],
          ["keep-alive", "timeout=5"],
          ["x-forwarded-for", "10.0.0.1"],
          ["x-forwarded-proto", "https"],
          ["via", "1.0 cdn"],
          ["content-length", "3"],
          ["accept", "*/*"],
        ],
        body: { length: 3, stream: new ReadableStream() },
      }),
      { connection: "keep-alive" },
    );
    expect(latin1(head)).toBe(
      "POST /form?a=1 HTTP/1.1\r\n" +
        "Host: site.example\r\n" +
        "user-agent: curl/8\r\n" +
        "accept: */*\r\n" +
        "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n" +
        "X-Forwarded-Proto: http\r\n" +
        "X-Forwarded-Host: site.example\r\n" +
        "Via: 1.0 cdn, 1.1 edgepass\r\n" +
        "Content-Length: 3\r\n" +
        "Connection: keep-alive\r\n\r\n",
    );
  });

  it("a value's bytes above ASCII go as they came, one byte per char", () => {
    const head = encodeRequestHead(request({ headers: [["host", "h"], ["x-name", "caf\u00e9"]] }), { host: "app.internal", connection: "close" });
    expect([...head.subarray(head.indexOf(0xe9) - 3, head.indexOf(0xe9) + 1)]).toEqual([0x63, 0x61, 0x66, 0xe9]);
    expect(latin1(head)).toContain("Host: app.internal\r\nx-name: caf\u00e9\r\n");
    expect(latin1(head)).toMatch(/\r\nConnection: close\r\n\r\n$/);
  });

  it("a field that would end its line early is refused: one request never becomes two", () => {
    expect(() => encodeRequestHead(request({ headers: [["x-a", "1\r\nGET /smuggled HTTP/1.1"]] }), { connection: "close" })).toThrow(/CR, LF or NUL/);
    expect(() => encodeRequestHead(request({ target: "/a b" }), { connection: "close" })).toThrow(/forbidden bytes/);
  });
});

describe("request_headers (nginx's proxy_set_header)", () => {
  it("set fields replace the client's and the gateway's own; an empty one sends none", () => {
    const head = latin1(
      encodeRequestHead(
        request({
          clientAddr: "192.0.2.7",
          headers: [
            ["host", "site.example"],
            ["X-Real-IP", "6.6.6.6"],
            ["x-debug", "1"],
            ["accept", "*/*"],
          ],
          setHeaders: [
            ["X-Real-IP", "192.0.2.7"],
            ["X-Forwarded-For", "192.0.2.7"],
            ["x-debug", ""],
            ["Via", ""],
          ],
        }),
        { connection: "keep-alive" },
      ),
    );
    expect(head).toContain("\r\nX-Real-IP: 192.0.2.7\r\n");
    expect(head).not.toContain("6.6.6.6");
    expect(head.match(/X-Forwarded-For/gi)).toHaveLength(1);
    expect(head).not.toMatch(/x-debug|\r\nVia:/i);
    expect(head).toContain("\r\naccept: */*\r\n");
  });
});
