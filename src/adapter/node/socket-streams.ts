// A node:net socket as the web-stream pair the core reads and writes (core/transport.ts).
// Pull-based both ways, so backpressure holds: the socket is paused until the reader asks
// for bytes, and a write resolves only once the kernel took the bytes (or 'drain' fired).
import type net from "node:net";

export function socketReadable(sock: net.Socket): ReadableStream<Uint8Array> {
  sock.pause();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      sock.on("data", (d: Buffer) => {
        controller.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) sock.pause();
      });
      sock.on("end", () => {
        try {
          controller.close();
        } catch {
          // already closed or errored
        }
      });
      sock.on("error", (e) => {
        try {
          controller.error(e);
        } catch {
          // already closed
        }
      });
      sock.on("close", () => {
        try {
          // A close without 'end' (a reset, or destroy()) is an error for the reader.
          controller.error(new Error("the connection was closed"));
        } catch {
          // already closed
        }
      });
    },
    pull() {
      sock.resume();
    },
    cancel() {
      sock.destroy();
    },
  }, { highWaterMark: 1 });
}

export function socketWritable(sock: net.Socket): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return writeAll(sock, chunk);
    },
    close() {
      return new Promise<void>((resolve) => sock.end(resolve));
    },
    abort() {
      sock.destroy();
    },
  });
}

/** Resolves once `sock` accepted `chunk` without buffering past its high-water mark. */
export function writeAll(sock: net.Socket, chunk: Uint8Array | string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (sock.destroyed) return reject(new Error("the connection is closed"));
    const onClose = () => {
      sock.off("drain", onDrain);
      reject(new Error("the connection was closed"));
    };
    const onDrain = () => {
      sock.off("close", onClose);
      resolve();
    };
    if (sock.write(chunk)) return resolve();
    sock.once("drain", onDrain);
    sock.once("close", onClose);
  });
}
