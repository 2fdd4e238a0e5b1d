// The raw relay floor for `edgepass serve`: what Node itself moves between a client and php-fpm.
// Per client request one pre-encoded FastCGI request (keep-conn) on a kept php-fpm connection,
// and the origin's bytes (records, CGI head and all) sent back unparsed as a chunked body. It
// finds the end of each request head and the end of each FastCGI answer, nothing more: no
// routing, no request parsing, no limits, no log. Anything `edgepass serve` does costs more.
// Usage: node floor.mjs PORT FPM (a port on 127.0.0.1 or a Unix socket's path), with REQUESTS={"/path?query": "<base64 request>"}; with
// RETURN_PATH=/path it answers that path itself, a fixed 200 "ok" (what Node costs a request
// that no origin answers).
import net from "node:net";

const port = Number(process.argv[2]);
// FPM: a port on 127.0.0.1, or the path of php-fpm's Unix socket.
const fpm = process.argv[3];
const dialFpm = () => (fpm.startsWith("/") ? net.connect(fpm) : net.connect(Number(fpm), "127.0.0.1").setNoDelay(true));
const requests = new Map(Object.entries(JSON.parse(process.env.REQUESTS)).map(([k, b64]) => [k, Buffer.from(b64, "base64")]));
const HEAD = Buffer.from("HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n");
const NOT_FOUND = Buffer.from("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
const OK = Buffer.from("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nok\n");
const returnPath = process.env.RETURN_PATH;
const CRLF = Buffer.from("\r\n");
const LAST = Buffer.from("0\r\n\r\n");
const FCGI_END_REQUEST = 3;

/** Kept php-fpm connections not in use; like the gateways it is measured against, it closes
 *  one idle for 1 s, so it does not hold php-fpm's children from the next one's turn. */
const idle = [];
const IDLE_MS = 1000;
function closeIdle() {
  idle.splice(idle.indexOf(this), 1);
  this.destroy();
}

/** Sends `encoded` on a kept (or new) php-fpm connection and relays the answer to `client`. */
function relay(client, encoded, done) {
  const up = idle.pop() ?? dialFpm().on("timeout", closeIdle);
  up.setTimeout(0);
  let header = Buffer.alloc(0); // a record header split across reads
  let left = 0; // content + padding still to come in the current record
  let ended = false;
  client.write(HEAD);
  const onData = (chunk) => {
    // Walk the record headers only to see where the answer ends.
    let at = 0;
    while (at < chunk.length) {
      if (left > 0) {
        const take = Math.min(left, chunk.length - at);
        left -= take;
        at += take;
        continue;
      }
      if (ended) break;
      const need = 8 - header.length;
      header = Buffer.concat([header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (header.length < 8) break;
      left = header.readUInt16BE(4) + header[6];
      if (header[1] === FCGI_END_REQUEST) ended = true;
      header = Buffer.alloc(0);
    }
    client.cork();
    client.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    client.write(chunk);
    client.write(CRLF);
    if (ended && left === 0) {
      client.write(LAST);
      up.off("data", onData);
      up.off("error", onError);
      idle.push(up);
      up.setTimeout(IDLE_MS);
      process.nextTick(done);
    }
    client.uncork();
  };
  const onError = () => client.destroy();
  up.on("data", onData);
  up.on("error", onError);
  up.write(encoded);
}

net
  .createServer((client) => {
    client.setNoDelay(true);
    let pending = Buffer.alloc(0);
    let busy = false;
    const next = () => {
      busy = false;
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const line = pending.toString("latin1", 0, pending.indexOf("\r\n"));
      pending = pending.subarray(end + 4);
      const target = line.split(" ")[1];
      if (target === returnPath) {
        client.write(OK);
        return next();
      }
      const encoded = requests.get(target);
      if (!encoded) {
        client.write(NOT_FOUND);
        return next();
      }
      busy = true;
      relay(client, encoded, next);
    };
    client.on("data", (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!busy) next();
    });
    client.on("error", () => {});
  })
  .listen(port, "127.0.0.1");
