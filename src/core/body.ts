// Request bodies reach the origin with an exact length: CGI origins (PHP-FPM above all) read
// CONTENT_LENGTH and nothing else. A body whose length the client did not declare (chunked
// upload) is buffered up to max_body_buffer so the length becomes known; past the cap the
// request is refused with 413 before a byte goes upstream.
import type { RequestBody } from "./exchange.js";
import { Codes, GatewayError } from "./errors.js";
import { atLeastReader } from "./upstream-io.js";

/** How a request body's stream is read by whoever sends it on (an exchange, the replay
 *  buffer): reads, and a cancel (drain.ts). */
export interface BodyReads {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/** The most one read of a request body takes. */
const BODY_READ = 64 * 1024;

/** Reads `body` for sending it on, telling body.count of each piece. In workerd a plain read
 *  brings 4 KiB at most, so each read there waits for up to 64 KiB of what the client declared
 *  it will send (its Content-Length): a 4 MiB upload is some 70 reads, frames and writes, not
 *  1,000. That only ever holds back bytes the client is still sending, and nginx holds back
 *  the whole body before the origin sees any of it. A body of unknown length, and any body on
 *  other hosts, is read as it comes. */
export function readBody(body: RequestBody): BodyReads {
  let left = body.length ?? 0;
  const counted = (r: ReadableStreamReadResult<Uint8Array>): ReadableStreamReadResult<Uint8Array> => {
    if (!r.done) {
      left -= r.value.byteLength;
      body.count?.(r.value.byteLength);
    }
    return r;
  };
  const byob = body.length !== null ? atLeastReader(body.stream) : null;
  if (byob) {
    // Memory for what is left of the body, no more (a form post makes no 64 KiB buffer); the
    // read after the last byte only has to see the end.
    const next = (): Promise<ReadableStreamReadResult<Uint8Array>> => {
      const want = Math.min(left, BODY_READ);
      return want > 0 ? byob.readAtLeast(want, new Uint8Array(want)) : byob.read(new Uint8Array(1));
    };
    return { read: () => next().then(counted), cancel: (reason) => byob.cancel(reason) };
  }
  const reader = body.stream.getReader();
  return { read: () => reader.read().then(counted), cancel: (reason) => reader.cancel(reason) };
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

export async function prepareBody(
  body: ReadableStream<Uint8Array> | null,
  declaredLength: string | null,
  maxBuffer: number,
  needsLength = true,
): Promise<RequestBody | null> {
  if (body === null) return null;
  if (declaredLength !== null) {
    const length = Number(declaredLength);
    // The platform has already refused malformed Content-Length; this guards other hosts.
    if (!/^[0-9]{1,15}$/.test(declaredLength) || !Number.isSafeInteger(length)) {
      throw new GatewayError(Codes.REQUEST_INVALID, 400, `The Content-Length header "${declaredLength}" is not a valid length.`);
    }
    return { length, stream: body };
  }
  if (!needsLength) return { length: null, stream: body };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBuffer) {
        throw new GatewayError(
          Codes.BODY_TOO_LARGE,
          413,
          `The request body has no Content-Length and is larger than ${formatBytes(maxBuffer)}, ` +
            `the most this gateway buffers to learn its length (max_body_buffer). ` +
            `Send a Content-Length header, or raise max_body_buffer in the [gateway] section.`,
        );
      }
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof GatewayError) throw e;
    throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The request body could not be read to its end.", String(e));
  }
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
  });
  return { length: total, stream };
}
