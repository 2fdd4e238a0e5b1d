// A client's request body as a stream, framed by what the Wasm parser found in the head:
// exactly Content-Length bytes, or a chunked body decoded by the Wasm chunked decoder (chunk
// sizes, extensions and trailers checked there). Bytes past the body stay in the reader for
// the next pipelined request. A body that stops coming for body_timeout, ends early, or breaks
// its chunked framing errors the stream; the connection is then not reused.
import type { Codec } from "../../codec/types.js";
import { CodecError } from "../../codec/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { ConnReader } from "./conn-reader.js";

export interface BodyState {
  /** The body was read to its end: the connection is at the next request. */
  complete: boolean;
  /** Why it failed, for the response when the gateway has not answered yet. */
  failure: GatewayError | null;
}

export function requestBody(
  reader: ConnReader,
  framing: { kind: "length"; length: number } | { kind: "chunked" },
  codec: Codec,
  bodyTimeoutMs: number,
  state: BodyState,
  beforeFirstRead: () => void,
): ReadableStream<Uint8Array> {
  let remaining = framing.kind === "length" ? framing.length : 0;
  const decoder = framing.kind === "chunked" ? codec.chunkedDecoder() : null;
  let started = false;
  const fail = (e: GatewayError, controller: ReadableStreamDefaultController<Uint8Array>) => {
    state.failure = e;
    decoder?.free();
    controller.error(e);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        beforeFirstRead();
      }
      for (;;) {
        if (reader.buf.length > 0) {
          if (decoder) {
            let r: { data: Uint8Array[]; done: boolean; consumed: number };
            try {
              r = decoder.push(reader.buf);
            } catch (e) {
              const code = e instanceof CodecError ? e.code : Codes.REQUEST_INVALID;
              return fail(new GatewayError(code, 400, `The chunked request body is malformed (${code}).`, String(e)), controller);
            }
            reader.take(r.consumed);
            // Copies: the spans are views of the reader's buffer, which moves on.
            for (const d of r.data) if (d.byteLength > 0) controller.enqueue(Uint8Array.from(d));
            if (r.done) {
              decoder.free();
              state.complete = true;
              controller.close();
              return;
            }
            if (r.data.length > 0) return;
          } else {
            const n = Math.min(remaining, reader.buf.length);
            controller.enqueue(Uint8Array.from(reader.take(n)));
            remaining -= n;
            if (remaining === 0) {
              state.complete = true;
              controller.close();
            }
            return;
          }
        }
        const how = await reader.more(bodyTimeoutMs);
        if (how === "timeout") {
          return fail(new GatewayError(Codes.CLIENT_BODY_TIMEOUT, 408, `The request body stopped arriving for ${bodyTimeoutMs / 1000} s (body_timeout).`), controller);
        }
        if (how === "eof") {
          return fail(new GatewayError(Codes.BODY_READ_FAILED, 400, "The client closed the connection before the request body ended."), controller);
        }
      }
    },
    cancel() {
      decoder?.free();
    },
  }, { highWaterMark: 0 });
}
