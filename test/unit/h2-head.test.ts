// How `edgepass serve` reads an HTTP/2 stream's request (adapter/node/h2.ts, headOf): written
// as an HTTP/1.1 head for the Wasm parser, so a CR, LF or NUL, which HTTP/2 can carry, must
// never reach that head, whatever nghttp2 lets through before it.
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { headOf } from "../../src/adapter/node/h2";
import { createCodec } from "../../src/codec/index";
import { GatewayError } from "../../src/core/errors";

const codec = createCodec(loadWasmModuleFromDisk());
const base = [":method", "GET", ":scheme", "https", ":authority", "a.example", ":path", "/x?y=1"];

describe("an HTTP/2 request read as an HTTP/1.1 head", () => {
  it("the authority becomes Host, cookies are joined with '; ', fields keep their order", () => {
    const h = headOf([...base, "cookie", "a=1", "accept", "*/*", "cookie", "b=2"], codec, 8192);
    expect(h).not.toBeInstanceOf(GatewayError);
    if (h instanceof GatewayError) return;
    expect([h.method, h.target]).toEqual(["GET", "/x?y=1"]);
    expect(h.headers).toEqual([["host", "a.example"], ["accept", "*/*"], ["cookie", "a=1; b=2"]]);
  });

  it.each([
    ["a CR LF in a value", ["x-a", "1\r\nx-injected: 1"]],
    ["an LF in a value", ["x-a", "1\nx-injected: 1"]],
    ["a NUL in a value", ["x-a", "1\0"]],
    ["a CR LF in a name", ["x-a\r\nx-injected", "1"]],
    ["a CR LF in the path", [":path", "/x HTTP/1.1\r\nx-injected: 1\r\nx-b: "]],
    ["a CR LF in the method", [":method", "GET /x HTTP/1.1\r\n\r\nGET"]],
  ])("%s is refused (400 REQUEST_INVALID), never written into the head", (_, [k, v]) => {
    const raw = k.startsWith(":") ? base.map((x, i) => (i % 2 === 1 && base[i - 1] === k ? v : x)) : [...base, k, v];
    const h = headOf(raw, codec, 8192);
    expect(h).toBeInstanceOf(GatewayError);
    expect((h as GatewayError).status).toBe(400);
    expect((h as GatewayError).code).toBe("REQUEST_INVALID");
  });

  it("a Host naming another server than :authority is refused; the same one is not", () => {
    expect(headOf([...base, "host", "b.example"], codec, 8192)).toBeInstanceOf(GatewayError);
    expect(headOf([...base, "host", "a.example"], codec, 8192)).not.toBeInstanceOf(GatewayError);
  });

  it("the head is held to max_header as an HTTP/1.1 one is (431's code)", () => {
    const h = headOf([...base, "x-big", "x".repeat(9000)], codec, 8192);
    expect((h as GatewayError).code).toBe("HTTP_HEAD_TOO_LARGE");
    expect((h as GatewayError).status).toBe(431);
  });
});
