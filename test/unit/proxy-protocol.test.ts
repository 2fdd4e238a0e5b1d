// The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) as [serve] proxy_protocol
// reads it: the client it names, LOCAL and UNKNOWN (the peer stands), a header still arriving,
// and what is refused. A real HAProxy sends it in test/integration/serve-proxy-protocol.test.ts.
import { describe, expect, it } from "vitest";
import { parseProxyHeader } from "../../src/adapter/node/proxy-protocol.js";

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, family: number, addrs: Buffer, tlv = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(addrs.length + tlv.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | command, family]), len, addrs, tlv]);
}

describe("the PROXY protocol header", () => {
  it("v1: TCP4 and TCP6 name the client; UNKNOWN leaves the peer; the bytes after it are not its", () => {
    const line = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n";
    expect(parseProxyHeader(Buffer.from(`${line}GET / HTTP/1.1\r\n`))).toEqual({ kind: "ok", length: line.length, source: { addr: "203.0.113.7", port: 56324 } });
    expect(parseProxyHeader(Buffer.from("PROXY TCP6 2001:db8::7 2001:db8::1 4000 443\r\n"))).toMatchObject({ kind: "ok", source: { addr: "2001:db8::7", port: 4000 } });
    expect(parseProxyHeader(Buffer.from("PROXY UNKNOWN\r\n"))).toEqual({ kind: "ok", length: 15, source: null });
  });

  it("v2: PROXY over TCP4 and TCP6 (TLVs skipped), LOCAL for the balancer's own checks", () => {
    const four = Buffer.from([203, 0, 113, 7, 10, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb]);
    const h = v2(1, 0x11, four, Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32]));
    expect(parseProxyHeader(Buffer.concat([h, Buffer.from("\x16\x03\x01")]))).toEqual({ kind: "ok", length: h.length, source: { addr: "203.0.113.7", port: 0xdc04 } });
    const six = Buffer.alloc(36);
    six.write("20010db8000000000000000000000007", 0, "hex");
    six.writeUInt16BE(4000, 32);
    expect(parseProxyHeader(v2(1, 0x21, six))).toMatchObject({ kind: "ok", source: { addr: "2001:db8::7", port: 4000 } });
    expect(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)))).toEqual({ kind: "ok", length: 16, source: null });
  });

  it("a header cut short waits for more; what is no header, or breaks the spec, is refused", () => {
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 203.0"))).toEqual({ kind: "more" });
    expect(parseProxyHeader(SIG.subarray(0, 5))).toEqual({ kind: "more" });
    expect(parseProxyHeader(v2(1, 0x11, Buffer.alloc(12)).subarray(0, 20))).toEqual({ kind: "more" });
    for (const bad of ["GET / HTTP/1.1\r\n", "PROXY TCP4 203.0.113.7 10.0.0.1 99999 443\r\n", "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n", "PROXY TCP5 a b 1 2\r\n", `PROXY ${"x".repeat(120)}`]) {
      expect(parseProxyHeader(Buffer.from(bad))).toMatchObject({ kind: "bad" });
    }
    expect(parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x12, 0x11, 0, 0])]))).toMatchObject({ kind: "bad" });
  });
});
