// A client's request body as the pieces read from its connection (no web stream is made, one
// costs about 7 µs in Node 20), framed by what the Wasm parser found in the head: exactly
// Content-Length bytes, or a chunked body decoded by the Wasm chunked decoder (chunk sizes,
// extensions and trailers checked there). Bytes past the body stay in the reader for the next
// pipelined request. A body that stops coming for body_timeout, ends early, or breaks its
// chunked framing fails every read; the connection is then not reused.
import type { Codec } from "../../codec/types.js";
import { CodecError } from "../../codec/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { ConnReader } from "./conn-reader.js";
import { PiecesBody } from "../../core/pieces.js";

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
): PiecesBody {
  let remaining = framing.kind === "length" ? framing.length : 0;
  const decoder = framing.kind === "chunked" ? codec.chunkedDecoder() : null;
  return clientBody(state, beforeFirstRead, {
    async read() {
      for (;;) {
        if (reader.buf.length > 0) {
          if (decoder) {
            let r: { data: Uint8Array[]; done: boolean; consumed: number };
            try {
              r = decoder.push(reader.buf);
            } catch (e) {
              const code = e instanceof CodecError ? e.code : Codes.REQUEST_INVALID;
              throw new GatewayError(code, 400, `The chunked request body is malformed (${code}).`, String(e));
            }
            reader.take(r.consumed);
            // Views of the reader's buffer, as the decoder hands them over: a buffer the reader
            // moves past is let go, never written into again.
            const out = r.data.filter((d) => d.byteLength > 0);
            if (r.done) {
              decoder.free();
              state.complete = true;
            }
            if (out.length > 0) return out;
            if (r.done) return null;
          } else {
            const n = Math.min(remaining, reader.buf.length);
            const piece = reader.take(n);
            remaining -= n;
            if (remaining === 0) state.complete = true;
            return [piece];
          }
        }
        const how = await reader.more(bodyTimeoutMs);
        if (how === "timeout") throw bodyTimedOut(bodyTimeoutMs);
        if (how === "eof") throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The client closed the connection before the request body ended.");
      }
    },
    stop() {
      if (!state.complete) decoder?.free();
    },
  });
}

/** Where a client's body comes from (HTTP/1.1's connection, an HTTP/2 stream). */
export interface BodySource {
  /** What arrived since the last read (the last of it with `state.complete` set), or null at
   *  the end; a GatewayError when the body broke. */
  read(): Promise<Uint8Array[] | null>;
  /** Nothing more is wanted: the source lets go of what it holds. */
  stop(): void;
}

/** A client's request body over `source`, with what every such body does alike whatever
 *  carries it: `beforeFirstRead` once, before anything is read (a 100 Continue); a failure
 *  recorded in `state` for the answer, and failing every read after it, as an errored stream
 *  does; nothing read once it ended, failed or was cancelled. */
export function clientBody(state: BodyState, beforeFirstRead: () => void, source: BodySource): PiecesBody {
  let started = false;
  let over = false;
  return new PiecesBody({
    async next() {
      if (state.failure) throw state.failure;
      if (over) return null;
      if (!started) {
        started = true;
        beforeFirstRead();
      }
      let got: Uint8Array[] | null;
      try {
        got = await source.read();
      } catch (e) {
        if (e instanceof GatewayError) state.failure = e;
        over = true;
        source.stop();
        throw e;
      }
      if (got === null || state.complete) over = true;
      return got;
    },
    cancel() {
      if (over) return;
      over = true;
      source.stop();
    },
  });
}

/** A body that stopped arriving (408). */
export function bodyTimedOut(ms: number): GatewayError {
  return new GatewayError(Codes.CLIENT_BODY_TIMEOUT, 408, `The request body stopped arriving for ${ms / 1000} s (body_timeout).`);
}
