// A response body held to the length its head declared, for every host's writer: the bytes
// past it are dropped (the origin broke its own Content-Length; the client gets what was
// declared, and `overrun` is told), and a body that ends short throws, so the writer cuts the
// connection instead of ending the message. `length` null: every chunk as it comes.

export async function* declaredChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  length: number | null,
  overrun?: () => void,
): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.byteLength === 0) continue;
    if (length !== null && value.byteLength > length - sent) {
      if (length > sent) yield value.subarray(0, length - sent);
      overrun?.();
      void reader.cancel().catch(() => {});
      return;
    }
    yield value;
    sent += value.byteLength;
  }
  if (length !== null && sent < length) throw new Error(`the body ended after ${sent} of ${length} declared bytes`);
}
