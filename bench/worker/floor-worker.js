// The raw relay floor: what the platform itself moves between a client and php-fpm. One
// pre-encoded FastCGI request per client request (BEGIN_REQUEST without keep-conn, PARAMS,
// empty STDIN) over a cloudflare:sockets connect(), and the origin's bytes piped back to the
// client unparsed — records, CGI head and all. No routing, no parsing, no limits: anything the
// gateway does costs more than this.
//
// Two more anchors for the small page, in the same Worker:
// - /__invocation: answers without an origin: what a request costs before any work.
// - /__read/<path>: as the floor, but the origin's bytes are read here in JavaScript until the
//   END_REQUEST record has arrived, the socket is closed, and the bytes are answered whole (still
//   unparsed). Any gateway that must look at an origin's bytes (FastCGI's records must be
//   taken apart) does at least this; the floor hands the socket to the Response instead.
import { connect } from "cloudflare:sockets";

let requests = null;
const READ = "/__read";
const FCGI_END_REQUEST = 3;

export default {
  async fetch(request, env) {
    requests ??= new Map(Object.entries(JSON.parse(env.REQUESTS)).map(([k, b64]) => [k, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
    const url = new URL(request.url);
    if (url.pathname === "/__invocation") return new Response("ok\n");
    const read = url.pathname.startsWith(`${READ}/`);
    const encoded = requests.get((read ? url.pathname.slice(READ.length) : url.pathname) + url.search);
    if (!encoded) return new Response("no pre-encoded request for this path\n", { status: 404 });
    const socket = connect({ hostname: "127.0.0.1", port: Number(env.FPM_PORT) }, { secureTransport: "off", allowHalfOpen: false });
    const writer = socket.writable.getWriter();
    await writer.write(encoded);
    if (!read) return new Response(socket.readable, { headers: { "content-type": "application/octet-stream" } });
    const reader = socket.readable.getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      chunks.push(r.value);
      total += r.value.length;
      // END_REQUEST (8-byte header, 8-byte body, no padding) ends what php-fpm sends.
      if (ended(chunks, total)) break;
    }
    socket.close().catch(() => {});
    const body = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) body.set(c, at), (at += c.length);
    return new Response(body, { headers: { "content-type": "application/octet-stream" } });
  },
};

/** The `total` bytes so far end with an END_REQUEST record (the last 16, whatever the reads). */
function ended(chunks, total) {
  if (total < 16) return false;
  const last = chunks[chunks.length - 1];
  if (last.length >= 16) return isEnd(last.subarray(last.length - 16));
  const last16 = new Uint8Array(16);
  let want = 16;
  for (let i = chunks.length - 1; i >= 0 && want > 0; i--) {
    const c = chunks[i];
    const take = Math.min(want, c.length);
    last16.set(c.subarray(c.length - take), want - take);
    want -= take;
  }
  return isEnd(last16);
}

const isEnd = (r) => r[0] === 1 && r[1] === FCGI_END_REQUEST && r[4] === 0 && r[5] === 8;
