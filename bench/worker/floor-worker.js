// The raw relay floor: what the platform itself moves between a client and php-fpm. One
// pre-encoded FastCGI request per client request (BEGIN_REQUEST without keep-conn, PARAMS,
// empty STDIN) over a cloudflare:sockets connect(), and the origin's bytes piped back to the
// client unparsed — records, CGI head and all. No routing, no parsing, no limits: anything the
// gateway does costs more than this.
import { connect } from "cloudflare:sockets";

let requests = null;

export default {
  async fetch(request, env) {
    requests ??= new Map(Object.entries(JSON.parse(env.REQUESTS)).map(([k, b64]) => [k, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
    const url = new URL(request.url);
    const encoded = requests.get(url.pathname + url.search);
    if (!encoded) return new Response("no pre-encoded request for this path\n", { status: 404 });
    const socket = connect({ hostname: "127.0.0.1", port: Number(env.FPM_PORT) }, { secureTransport: "off", allowHalfOpen: false });
    await socket.writable.getWriter().write(encoded);
    return new Response(socket.readable, { headers: { "content-type": "application/octet-stream" } });
  },
};
