// A byte-stream origin (HTTP, SCGI or uwsgi — it does not care which) that misbehaves on
// purpose. It finds "/rogue/<case>" anywhere in what the gateway sent (the request line for
// HTTP, REQUEST_URI in an SCGI or uwsgi block), answers with that case's scripted bytes, and
// closes. Hand-written bytes, independent of the code under test.
import { scriptedServer, type ScriptedServer } from "./scripted-server.js";

export const streamCases: Record<string, string> = {
  ok: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfine\n",
  "cgi-ok": "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\ncgi head\n",
  "short-body": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this much",
  "close-in-head": "HTTP/1.1 200 OK\r\nContent-Ty",
  "bad-status": "HTTP/1.1 2x0 OK\r\n\r\n",
  "nul-in-value": "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n",
  "cl-and-te": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "bad-chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
  "cgi-bad-status": "Status: abc\r\n\r\nbody",
  "interim-then-final": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
  "chunked-ok": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: dropped\r\n\r\n",
  "close-delimited": "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
  "cr-in-value": "HTTP/1.1 200 OK\r\nLocation: /a\rSet-Cookie: x=1\r\nContent-Length: 0\r\n\r\n",
  "no-colon": "HTTP/1.1 200 OK\r\nContent-Type text/plain\r\nContent-Length: 0\r\n\r\n",
  "cgi-no-colon": "Content-Type text/plain\r\n\r\nbody",
  "huge-head": "HTTP/1.1 200 OK\r\n" + "X-Big: " + "a".repeat(20_000) + "\r\nContent-Length: 0\r\n\r\n",
  "interim-flood": "HTTP/1.1 100 Continue\r\n\r\n".repeat(1000) + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
  "long-body": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfive!and these bytes are not the body",
  "cgi-short-body": "Status: 200 OK\r\nContent-Length: 100\r\n\r\nonly this much",
  "cut-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
  "connection-named": "HTTP/1.1 200 OK\r\nConnection: X-Internal, keep-alive\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\nContent-Length: 3\r\n\r\nok\n",
  "cgi-connection-named": "Status: 200 OK\r\nConnection: X-Internal\r\nX-Internal: secret\r\nContent-Length: 3\r\n\r\nok\n",
};

/** Cases that send a head and then go silent, holding the connection open. */
export const silentCases: Record<string, string> = {
  "silence-after-head": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.",
  "silence-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
};

/** Cases sent in two writes 100 ms apart: the body is still arriving when the head is read,
 *  so it streams rather than being handed on whole. */
export const splitCases: Record<string, [string, string]> = {
  "chunked-slow": ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n", "6\r\n world\r\n0\r\nX-Trailer: dropped\r\n\r\n"],
  // The head and a chunk, then the close with no last chunk: cut after the head went out.
  "cut-chunked-slow": ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", ""],
};

export async function startRogueStream(): Promise<ScriptedServer> {
  return scriptedServer((sock) => {
    let seen = "";
    let answered = false;
    sock.on("data", (d) => {
      if (answered) return;
      seen += d.toString("latin1");
      const m = /\/rogue\/([a-z-]+)/.exec(seen);
      // Wait for the end of the request head (HTTP) or enough of the block (SCGI/uwsgi).
      if (!m || (!seen.includes("\r\n\r\n") && seen.length < 64 && !seen.includes("\0"))) return;
      answered = true;
      if (m[1] === "echo-head") {
        // Answers with exactly what arrived (the request head, and the body once it is
        // complete), so a test can check what the gateway sent.
        const done = () => {
          const body = Buffer.from(seen, "latin1");
          sock.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
        };
        const framed = /\r\ncontent-length: (\d+)\r\n/i.exec(seen);
        const headEnd = seen.indexOf("\r\n\r\n") + 4;
        const complete = () => (framed ? seen.length >= headEnd + Number(framed[1]) : /\r\n0\r\n\r\n$/.test(seen) || !/chunked/i.test(seen));
        if (complete()) return done();
        sock.on("data", (more) => {
          seen += more.toString("latin1");
          if (complete()) done();
        });
        return;
      }
      const split = splitCases[m[1]];
      if (split) {
        sock.write(Buffer.from(split[0], "latin1"));
        setTimeout(() => sock.end(Buffer.from(split[1], "latin1")), 100);
        return;
      }
      if (silentCases[m[1]] !== undefined) {
        sock.write(Buffer.from(silentCases[m[1]], "latin1"));
        return;
      }
      sock.end(Buffer.from(streamCases[m[1]] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "latin1"));
    });
  });
}
