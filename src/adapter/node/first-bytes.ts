// What a new connection on `edgepass serve`'s port speaks, told from its first bytes before
// anyone reads it: TLS or plain HTTP on the HTTPS port, HTTP/2's preface or HTTP/1.1 on a plain
// port with [serve] h2c. Whoever takes the connection reads those bytes again.
import type net from "node:net";
import type tls from "node:tls";

export type Take = (sock: net.Socket) => void;

/** Hands `sock` to what `route` picks from the bytes seen so far (null: they cannot tell yet,
 *  wait for more). A client that sends nothing is dropped after `waitMs` (header_timeout, as a
 *  handshake or head that never ends is). */
export function routeByFirstBytes(sock: net.Socket, waitMs: number, route: (seen: Buffer) => Take | null): void {
  onFirstBytes(sock, waitMs, (seen) => {
    const take = route(seen);
    return take && [take, 0];
  });
}

/** As routeByFirstBytes, where what decides may also consume the bytes before `from` (a PROXY
 *  header): the taker reads from there on. */
export function onFirstBytes(sock: net.Socket, waitMs: number, decide: (seen: Buffer) => [Take, number] | null): void {
  // A reset before the first byte ends the connection; whoever takes it attaches its own.
  sock.on("error", () => sock.destroy());
  const timer = setTimeout(() => sock.destroy(), waitMs);
  sock.once("close", () => clearTimeout(timer));
  let seen: Buffer | null = null;
  const onData = (d: Buffer) => {
    seen = seen ? Buffer.concat([seen, d]) : d;
    const decided = decide(seen);
    if (!decided) return;
    const [take, from] = decided;
    sock.off("data", onData);
    clearTimeout(timer);
    sock.pause();
    // Read again by whoever takes the connection (a TLS socket feeds what is buffered to its
    // handshake first; Node's http2 session reads what is buffered before the socket).
    if (from < seen.length) sock.unshift(from ? seen.subarray(from) : seen);
    take(sock);
  };
  sock.on("data", onData);
  sock.resume();
}

/** The first byte of a TLS connection: a record of type 22, the client's handshake. */
const TLS_HANDSHAKE = 0x16;

/** The HTTPS port: a TLS handshake goes to the TLS server; anything else is a client speaking
 *  plain HTTP to it, which `plain` tells so, as nginx and Go's server do, instead of closing the
 *  connection without a word. */
export function tlsOrPlain(secure: tls.Server, plain: Take): (seen: Buffer) => Take {
  return (seen) => (seen[0] === TLS_HANDSHAKE ? (s) => secure.emit("connection", s) : plain);
}

/** What an HTTP/2 client with prior knowledge sends first (RFC 9113 3.4), up to where no
 *  HTTP/1.1 request line can match it. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/** A plain port with h2c: HTTP/2's preface goes to `h2`, anything else to `h1`; bytes that
 *  begin both (a "P" alone) wait for more (a client sends its preface at once). */
export function h2OrH1(h2: Take, h1: Take): (seen: Buffer) => Take | null {
  return (seen) => {
    const n = Math.min(seen.length, PREFACE.length);
    if (!seen.subarray(0, n).equals(PREFACE.subarray(0, n))) return h1;
    return n < PREFACE.length ? null : h2;
  };
}
