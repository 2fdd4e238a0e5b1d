// HTTP/1.1 both ways: request heads and bodies from the client (or gateway), response heads
// and bodies back, parsed by the codec's strict Wasm parsers. The request methods are kept so
// a response to HEAD is read without a body, as RFC 9112 6.3 says.

import type { Codec } from "../codec/types.js";
import { RESPONSE_ERROR_HINT, requestErrorHint } from "./explain.js";
import type { SectionBuilder, StreamInspector } from "./listing.js";
import { framingText, headerLines, INSPECT_HEAD_LIMIT, messageInspector, type HeadSyntax, type ParsedHead } from "./messages.js";

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

export function httpInspector(codec: Codec, out: SectionBuilder): StreamInspector {
  // Methods of the requests not yet answered: a response to HEAD has no body (RFC 9112 6.3).
  const methods: string[] = [];
  const request: HeadSyntax = {
    parse: (buf) => {
      const h = codec.parseHttpRequestHead(buf, INSPECT_HEAD_LIMIT);
      if (!h) return null;
      methods.push(h.method);
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
      const head = httpResponseHead(codec, buf, methods[0] ?? "GET");
      if (head && !head.interim) methods.shift();
      return head;
    },
    expected: "HTTP/1.1",
    errorHint: () => RESPONSE_ERROR_HINT,
  };
  return messageInspector(codec, out, request, response);
}
