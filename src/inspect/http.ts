// HTTP/1.1 both ways: request heads and bodies from the client (or gateway), response heads
// and bodies back, parsed by the codec's strict Wasm parsers. The request methods are kept so
// a response to HEAD is read without a body, as RFC 9112 6.3 says.

import type { Codec } from "../codec/types.js";
import { RESPONSE_ERROR_HINT, requestErrorHint } from "./explain.js";
import type { Dir, SectionBuilder, StreamInspector } from "./listing.js";
import { framingText, headerLines, INSPECT_HEAD_LIMIT, MessageSide, type HeadSyntax, type ParsedHead } from "./messages.js";

export function httpResponseHead(codec: Codec, buf: Uint8Array, method: string): ParsedHead | null {
  const h = codec.parseHttpResponseHead(buf, INSPECT_HEAD_LIMIT, method);
  if (!h) return null;
  return {
    title: `HTTP/1.${h.version - 10} ${h.status}${h.reason ? ` ${h.reason}` : ""}`,
    detail: [...headerLines(h.headers), `body: ${framingText(h.framing)}; ${h.keepAlive ? "the connection may be reused" : "the connection closes after it"}`],
    bodyOffset: h.bodyOffset,
    framing: h.framing,
    interim: h.status >= 100 && h.status < 200 && h.status !== 101,
  };
}

export class HttpInspector implements StreamInspector {
  private readonly methods: string[] = [];
  private readonly sides: Record<Dir, MessageSide>;

  constructor(codec: Codec, out: SectionBuilder) {
    const request: HeadSyntax = {
      parse: (buf) => {
        const h = codec.parseHttpRequestHead(buf, INSPECT_HEAD_LIMIT);
        if (!h) return null;
        this.methods.push(h.method);
        return {
          title: `${h.method} ${h.target} HTTP/1.${h.version - 10}`,
          detail: [...headerLines(h.headers), `body: ${framingText(h.framing)}${h.expectContinue ? "; Expect: 100-continue" : ""}`],
          bodyOffset: h.bodyOffset,
          framing: h.framing,
        };
      },
      expected: "HTTP/1.1",
      errorHint: requestErrorHint,
    };
    const response: HeadSyntax = {
      parse: (buf) => {
        const head = httpResponseHead(codec, buf, this.methods[0] ?? "GET");
        if (head && !head.interim) this.methods.shift();
        return head;
      },
      expected: "HTTP/1.1",
      errorHint: () => RESPONSE_ERROR_HINT,
    };
    this.sides = { request: new MessageSide(codec, out, "request", request), response: new MessageSide(codec, out, "response", response) };
  }

  push(dir: Dir, bytes: Uint8Array): void {
    this.sides[dir].push(bytes);
  }

  end(closed: Record<Dir, boolean>): void {
    this.sides.request.end(closed.request);
    this.sides.response.end(closed.response);
  }
}
