// A FastCGI origin that misbehaves on purpose, one way per path (SECURITY.md, "Upstream
// responses"). Its bytes are built here by hand from the FastCGI 1.0 spec, independently of
// the codec under test, so a bug in the codec cannot hide itself.
import { scriptedServer, type ScriptedServer } from "./scripted-server.js";

const STDOUT = 6;
const STDERR = 7;
const END_REQUEST = 3;

function record(type: number, id: number, content: Uint8Array | string, version = 1): Buffer {
  const body = typeof content === "string" ? Buffer.from(content, "latin1") : Buffer.from(content);
  const pad = (8 - (body.length % 8)) % 8;
  const h = Buffer.alloc(8);
  h[0] = version;
  h[1] = type;
  h.writeUInt16BE(id, 2);
  h.writeUInt16BE(body.length, 4);
  h[6] = pad;
  return Buffer.concat([h, body, Buffer.alloc(pad)]);
}

function endRequest(id: number, appStatus: number, protocolStatus: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(appStatus, 0);
  b[4] = protocolStatus;
  return record(END_REQUEST, id, b);
}

/** Reads records until the empty PARAMS record; returns the request id and its params. */
function readParams(buf: Buffer): { id: number; params: Map<string, string> } | null {
  let o = 0;
  let id = 0;
  const chunks: Buffer[] = [];
  while (o + 8 <= buf.length) {
    const type = buf[o + 1];
    id = buf.readUInt16BE(o + 2);
    const len = buf.readUInt16BE(o + 4);
    const pad = buf[o + 6];
    if (o + 8 + len + pad > buf.length) return null;
    if (type === 4) {
      if (len === 0) {
        const all = Buffer.concat(chunks);
        const params = new Map<string, string>();
        let p = 0;
        const len_ = () => {
          const b = all[p];
          if (b < 128) return (p += 1), b;
          const v = all.readUInt32BE(p) & 0x7fffffff;
          p += 4;
          return v;
        };
        while (p < all.length) {
          const n = len_();
          const v = len_();
          params.set(all.toString("latin1", p, p + n), all.toString("latin1", p + n, p + n + v));
          p += n + v;
        }
        return { id, params };
      }
      chunks.push(buf.subarray(o + 8, o + 8 + len));
    }
    o += 8 + len + pad;
  }
  return null;
}

type Script = (id: number, send: (b: Buffer) => void, end: () => void) => void | Promise<void>;

const head = "Content-Type: text/plain\r\n\r\n";
const ok = (id: number, body: string) => [record(STDOUT, id, head + body), record(STDOUT, id, ""), endRequest(id, 0, 0)];

/** `/drop-first`: while armed, a request is read and its connection closed without a byte (an
 *  origin going down), once; otherwise answered as /ok. `arrived` counts both. */
export const dropFirst = { armed: false, arrived: 0 };

export const scripts: Record<string, Script> = {
  "/ok": (id, send, end) => (ok(id, "fine\n").forEach(send), end()),
  "/drop-first": (id, send, end) => {
    dropFirst.arrived++;
    if (!dropFirst.armed) ok(id, "answered\n").forEach(send);
    dropFirst.armed = false;
    end();
  },
  "/overloaded": (id, send, end) => (send(endRequest(id, 0, 2)), end()),
  "/cant-mpx": (id, send, end) => (send(endRequest(id, 0, 1)), end()),
  "/bad-version": (id, send, end) => (send(record(STDOUT, id, head + "x", 2)), end()),
  "/unknown-type": (id, send, end) => (send(record(42, id, "??")), end()),
  "/wrong-id": (id, send, end) => (send(record(STDOUT, id + 6, head + "not yours")), end()),
  "/no-colon": (id, send, end) => (send(record(STDOUT, id, "Content-Type text/plain\r\n\r\nbody")), send(endRequest(id, 0, 0)), end()),
  "/nul-in-value": (id, send, end) => (send(record(STDOUT, id, "X-A: a\0b\r\n\r\nbody")), send(endRequest(id, 0, 0)), end()),
  "/cr-in-value": (id, send, end) => (send(record(STDOUT, id, "Location: /a\rSet-Cookie: x=1\r\n\r\n")), send(endRequest(id, 0, 0)), end()),
  "/bad-status": (id, send, end) => (send(record(STDOUT, id, "Status: abc\r\n\r\n")), send(endRequest(id, 0, 0)), end()),
  "/huge-head": (id, send, end) => {
    const line = "X-Filler: " + "a".repeat(1000) + "\r\n";
    for (let i = 0; i < 40; i++) send(record(STDOUT, id, line));
    send(record(STDOUT, id, "\r\nbody"));
    send(endRequest(id, 0, 0));
    end();
  },
  "/end-without-stdout": (id, send, end) => (send(endRequest(id, 0, 0)), end()),
  "/close-before-head": (id, send, end) => (send(record(STDOUT, id, "Content-Type: text/plain\r\n")), end()),
  "/close-mid-body": (id, send, end) => (send(record(STDOUT, id, head + "partial body...")), end()),
  "/stall-mid-body": (id, send) => send(record(STDOUT, id, head + "first part\n")),
  "/stderr-flood": (id, send, end) => {
    const noise = "E".repeat(60_000) + "\n\x1b[31mred\r\nforged log line";
    for (let i = 0; i < 20; i++) send(record(STDERR, id, noise));
    ok(id, "body survived\n").forEach(send);
    end();
  },
  // A declared Content-Length the STDOUT stream does not keep, either way.
  "/short-declared": (id, send, end) => (send(record(STDOUT, id, "Content-Length: 100\r\n\r\nonly this much")), send(record(STDOUT, id, "")), send(endRequest(id, 0, 0)), end()),
  "/long-declared": (id, send, end) => (send(record(STDOUT, id, "Content-Length: 5\r\n\r\nfive!and these bytes are not the body")), send(record(STDOUT, id, "")), send(endRequest(id, 0, 0)), end()),
  "/connection-named": (id, send, end) => (send(record(STDOUT, id, "Connection: X-Internal\r\nX-Internal: secret\r\nContent-Length: 3\r\n\r\nok\n")), send(record(STDOUT, id, "")), send(endRequest(id, 0, 0)), end()),
  "/bad-length": (id, send, end) => (send(record(STDOUT, id, "Content-Length: 12abc\r\n\r\nbody")), send(record(STDOUT, id, "")), send(endRequest(id, 0, 0)), end()),
  "/max-padding": (id, send, end) => {
    // A maximal record: 65,535 content bytes plus 255 padding bytes.
    const body = Buffer.alloc(65_535, 0x61);
    const h = Buffer.from([1, STDOUT, id >> 8, id & 255, 0xff, 0xff, 255, 0]);
    send(record(STDOUT, id, head));
    send(Buffer.concat([h, body, Buffer.alloc(255)]));
    send(record(STDOUT, id, ""));
    send(endRequest(id, 0, 0));
    end();
  },
};

export async function startRogueFastcgi(): Promise<ScriptedServer> {
  return scriptedServer((sock) => {
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (started) return;
      const req = readParams(buf);
      if (!req) return;
      started = true;
      // The last path segment names the case, whatever prefix a route put in front of it.
      const path = "/" + (req.params.get("DOCUMENT_URI") ?? "").split("/").pop();
      const script = scripts[path] ?? scripts["/ok"];
      void script(req.id, (b) => sock.write(b), () => sock.end());
    });
  });
}
