// Dials an origin with node:net: TCP, or a Unix socket (servers = ["unix:/run/php/php-fpm.sock"],
// which only the plain server host accepts).
import net from "node:net";
import { ConnectionTimers } from "../../core/deadline.js";
import { Codes, GatewayError } from "../../core/errors.js";
import { formatAddress, type Dial, type Duplex } from "../../core/transport.js";
import { SocketChannel, SocketReads, socketReadable, socketWritable } from "./socket-streams.js";

export const dialNode: Dial = (address, { connectTimeoutMs }) => {
  const origin = formatAddress(address);
  return new Promise<Duplex>((resolve, reject) => {
    const reads = new SocketReads();
    const sock = address.path !== undefined ? net.connect({ path: address.path, onread: reads.onread }) : net.connect({ host: address.host, port: address.port, onread: reads.onread });
    sock.setNoDelay(true);
    sock.once("close", () => reads.release());
    // The connection's one timer (ConnectionTimers): its reads and writes time their waits on
    // the timer the connect set, not on one each.
    const timers = new ConnectionTimers();
    timers.start("connect", connectTimeoutMs, () => {
      sock.destroy();
      reject(
        new GatewayError(
          Codes.UPSTREAM_CONNECT_TIMEOUT,
          504,
          `The origin ${origin} did not accept a connection within ${connectTimeoutMs / 1000} s (connect_timeout).`,
        ),
      );
    });
    sock.once("error", (e: NodeJS.ErrnoException) => {
      timers.dispose();
      reject(new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not connect to the origin ${origin}: ${connectFailure(e.code)}.`, String(e)));
    });
    sock.once("connect", () => {
      timers.stop("connect");
      // Errors after this point reach the reader or writer; this keeps them from throwing.
      sock.on("error", () => {});
      // Made on first use: the pool reads and writes `direct`, other users the web streams,
      // and each attaches its own listeners.
      let readable: ReadableStream<Uint8Array> | undefined;
      let writable: WritableStream<Uint8Array> | undefined;
      let direct: SocketChannel | undefined;
      resolve({
        get readable() {
          return (readable ??= socketReadable(sock, reads));
        },
        get writable() {
          return (writable ??= socketWritable(sock));
        },
        get direct() {
          return (direct ??= new SocketChannel(sock, reads));
        },
        close: async () => {
          sock.destroy();
        },
        timers,
      });
    });
  });
};

/** What a failed connect means, by the system's code: the operator's next step differs (start
 *  the origin, fix the path, or let this user use the socket). */
function connectFailure(code: string | undefined): string {
  switch (code) {
    case "ECONNREFUSED":
      return "the connection was refused (nothing listens there)";
    case "ENOENT":
      return "there is no socket at that path (is the origin running, listening there?)";
    case "EACCES":
      return "permission denied: this process's user may not use that socket (the origin's listen.owner, listen.group, listen.mode)";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "the host is unreachable";
    default:
      return `the connection failed (${code ?? "no code"})`;
  }
}
