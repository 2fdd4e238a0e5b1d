// A switched connection on `edgepass serve` (core/tunnel.ts): after the 101, the client's
// bytes go to the origin and the origin's to the client, untouched, until either side ends;
// then both are closed. Neither direction holds more than a bounded amount: the client's
// socket is paused while the origin's holds more than its write-ahead, and the origin is read
// again only while the client's socket holds less than its high-water mark (a fast sender
// fills its own TCP window, not our memory). No idle timeout: a WebSocket may rightly sit
// quiet for hours, and TCP keep-alive finds a client that vanished; a client that stops
// reading is dropped after send_timeout, and an origin that does after its send_timeout.
import type net from "node:net";
import type { Tunnel } from "../../core/tunnel.js";
import { WRITTEN } from "../../core/upstream-io.js";
import { withSendTimeout } from "./respond.js";
import { drained } from "./socket-streams.js";

/** TCP keep-alive probes start after this long without a byte. */
const KEEPALIVE_MS = 60_000;

export function relayTunnel(sock: net.Socket, tunnel: Tunnel, fromClient: Buffer, sendTimeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      sock.off("data", toOrigin);
      tunnel.close();
      // What the client still sends has nowhere to go: it is read and dropped, so a client
      // in the middle of a write gets to its end and sees ours, instead of waiting for
      // send_timeout to cut it.
      sock.on("data", drop);
      sock.resume();
      // What is queued for the client still goes out, within send_timeout.
      const cut = setTimeout(() => sock.destroy(), sendTimeoutMs);
      sock.once("close", () => {
        clearTimeout(cut);
        resolve();
      });
      sock.end();
      if (sock.destroyed) {
        clearTimeout(cut);
        resolve();
      }
    };
    const toOrigin = (d: Buffer) => {
      const wait = tunnel.write(d);
      // Taken at once (the usual case): the client's socket keeps flowing, with no pause and
      // resume (each a system call) per message.
      if (wait === WRITTEN) return;
      sock.pause();
      wait.then(() => {
        if (!over) sock.resume();
      }, finish);
    };
    sock.setKeepAlive(true, KEEPALIVE_MS);
    sock.on("data", toOrigin);
    sock.once("end", finish);
    sock.once("close", finish);
    if (fromClient.length) toOrigin(fromClient);
    else sock.resume();
    void (async () => {
      let chunk: Uint8Array | null = tunnel.takeRest();
      while (!over) {
        // A client that takes nothing for send_timeout is dropped (withSendTimeout).
        if (chunk.byteLength && !sock.write(chunk)) await withSendTimeout(sock, sendTimeoutMs)(drained(sock));
        chunk = await tunnel.read();
        if (chunk === null) break;
      }
    })()
      .catch(() => {})
      .finally(finish);
  });
}

const drop = (): void => {};
