// An HTTP/1.1 origin that counts every request that reaches it, by path, and misbehaves on
// cue, so a test can prove how often the gateway sent a request (SECURITY.md's retry rules).
//   /ok           200, kept open
//   /drop-next    200, kept open; the next request on that connection is read, then the
//                 connection is dropped unanswered (a server closing a kept connection just
//                 as the next request crosses it)
//   /drop-first   its first arrival (since `arrived` was cleared) is read, then the connection
//                 drops unanswered, whether new or kept (an origin going down); later ones 200
//   /half         the request is read, part of a head goes back, then the connection drops
//   /silent       the request is read and never answered
//   /huge         200 declaring 256 MiB, written as fast as the gateway takes it (`huge` counts
//                 the bytes the socket took and says when the gateway closed the connection)
// Requests are counted once their head and body (Content-Length or chunked) have arrived.
import type net from "node:net";
import { scriptedServer, type ScriptedServer } from "./scripted-server.js";

export interface CountingOrigin extends ScriptedServer {
  /** Requests that arrived, by path (query dropped). */
  arrived: Map<string, number>;
  /** Requests answered with a complete response, by path. */
  answered: Map<string, number>;
  connections: number;
  /** The last /huge answer: body bytes the socket took, and whether its connection closed. */
  huge: { sent: number; closed: boolean };
  /** Drops every open connection (kept ones included), so a test starts from none. */
  hangUpAll(): void;
}

export async function startCountingOrigin(): Promise<CountingOrigin> {
  const arrived = new Map<string, number>();
  const answered = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const open = new Set<net.Socket>();
  const origin: Partial<CountingOrigin> = { arrived, answered, connections: 0, huge: { sent: 0, closed: false }, hangUpAll: () => open.forEach((s) => s.destroy()) };
  const server = await scriptedServer((sock: net.Socket) => {
    origin.connections!++;
    open.add(sock);
    sock.on("close", () => open.delete(sock));
    let buf = Buffer.alloc(0);
    let dropNext = false;
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const req = takeRequest(buf);
        if (!req) return;
        buf = buf.subarray(req.consumed);
        const path = req.path.split("?")[0];
        bump(arrived, path);
        if (dropNext || (path.endsWith("/drop-first") && arrived.get(path) === 1)) return void sock.destroy();
        if (path.endsWith("/half")) return void (sock.write("HTTP/1.1 200 OK\r\nContent-Le"), setTimeout(() => sock.destroy(), 20));
        if (path.endsWith("/silent")) return;
        if (path.endsWith("/huge")) return void sendHuge(sock, (origin.huge = { sent: 0, closed: false }));
        if (path.endsWith("/drop-next")) dropNext = true;
        const body = `${path} ${req.bodyLength}\n`;
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        bump(answered, path);
      }
    });
  });
  return Object.assign(origin, server) as CountingOrigin;
}

const HUGE = 256 * 1024 * 1024;

/** Writes a 256 MiB body in 64 KiB pieces, each once the socket took the last (backpressure). */
function sendHuge(sock: net.Socket, huge: { sent: number; closed: boolean }): void {
  const piece = Buffer.alloc(65536, 0x61);
  sock.once("close", () => (huge.closed = true));
  sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${HUGE}\r\n\r\n`);
  const more = () => {
    while (huge.sent < HUGE && !sock.destroyed) {
      huge.sent += piece.length;
      if (!sock.write(piece)) return void sock.once("drain", more);
    }
  };
  more();
}

/** One whole request from the front of `buf`, or null while it is incomplete. */
function takeRequest(buf: Buffer): { path: string; bodyLength: number; consumed: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString("latin1");
  const path = head.split(" ")[1] ?? "/";
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const n = Number(cl[1]);
    return buf.length >= end + 4 + n ? { path, bodyLength: n, consumed: end + 4 + n } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    let i = end + 4;
    let total = 0;
    for (;;) {
      const eol = buf.indexOf("\r\n", i);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(i, eol).toString("latin1"), 16);
      if (size === 0) {
        const fin = buf.indexOf("\r\n\r\n", eol);
        return fin === eol ? { path, bodyLength: total, consumed: fin + 4 } : null;
      }
      if (buf.length < eol + 2 + size + 2) return null;
      total += size;
      i = eol + 2 + size + 2;
    }
  }
  return { path, bodyLength: 0, consumed: end + 4 };
}
