// One active health check of one server, in the upstream's own protocol: a connect that
// succeeds is not health, an answer is. FastCGI: a RESPONDER request for `path` (php-fpm's
// ping.path needs SCRIPT_NAME = the path and a SCRIPT_FILENAME) that must end with
// END_REQUEST and a 2xx status, or without a path FCGI_GET_VALUES, which must be answered.
// HTTP: GET path (default "/"), which must answer 2xx or 3xx. Everything within `timeout`:
// a server that accepts and never answers fails.
import type { Codec } from "../codec/types.js";
import { FcgiRole, FcgiType } from "../codec/types.js";
import type { UpstreamConfig, UpstreamServer } from "../config/types.js";
import { concatBytes } from "../core/bytes.js";
import { withTimeout } from "../core/deadline.js";
import { GatewayError } from "../core/errors.js";
import { formatAddress, type Dial, type Duplex } from "../core/transport.js";

export interface ProbeResult {
  ok: boolean;
  /** What was seen: "200", "GET_VALUES answered", "timeout after 2 s", the connect error… */
  detail: string;
}

const ID = 1;
const SOFTWARE = "edgepass-health-check";

export async function probe(upstream: UpstreamConfig, server: UpstreamServer, codec: Codec, dial: Dial): Promise<ProbeResult> {
  const hc = upstream.balance.healthCheck!;
  let conn: Duplex | null = null;
  let done = false;
  try {
    return await withTimeout(
      (async () => {
        conn = await dial(server, { connectTimeoutMs: Math.min(hc.timeoutMs, upstream.connectTimeoutMs) });
        if (done) void conn.close();
        return upstream.protocol === "fastcgi" ? await fastcgi(conn, codec, hc.path, server) : await http(conn, hc.path ?? "/", upstream.http?.host ?? formatAddress(server));
      })(),
      hc.timeoutMs,
      () => new GatewayError("HEALTH_TIMEOUT", 504, `no answer within ${hc.timeoutMs} ms`),
    );
  } catch (e) {
    return { ok: false, detail: e instanceof GatewayError ? (e.detail ?? e.message) : String(e) };
  } finally {
    done = true;
    await (conn as Duplex | null)?.close().catch(() => {});
  }
}

async function fastcgi(conn: Duplex, codec: Codec, path: string | undefined, server: UpstreamServer): Promise<ProbeResult> {
  const writer = conn.writable.getWriter();
  const decoder = codec.fcgiDecoder("client");
  try {
    if (path === undefined) {
      await writer.write(codec.fcgiGetValues(["FCGI_MPXS_CONNS"]));
    } else {
      decoder.track(ID);
      const params = codec.buildCgiParams({
        owned: [
          ["GATEWAY_INTERFACE", "CGI/1.1"],
          ["SERVER_SOFTWARE", SOFTWARE],
          ["REQUEST_METHOD", "GET"],
          ["SCRIPT_NAME", path],
          ["SCRIPT_FILENAME", path],
          ["DOCUMENT_URI", path],
          ["REQUEST_URI", path],
          ["QUERY_STRING", ""],
          ["SERVER_PROTOCOL", "HTTP/1.1"],
          ["SERVER_NAME", server.host || "localhost"],
          ["SERVER_PORT", String(server.port)],
          ["REMOTE_ADDR", "127.0.0.1"],
        ],
        headers: [["user-agent", SOFTWARE]],
        format: "fastcgi",
      });
      await writer.write(
        concatBytes([
          codec.fcgiBeginRequest(ID, FcgiRole.RESPONDER, 0),
          codec.fcgiParams(ID, params),
          codec.fcgiStream(FcgiType.STDIN, ID, new Uint8Array(0)),
        ]),
      );
    }
    const reader = conn.readable.getReader();
    const out: Uint8Array[] = [];
    for (;;) {
      const r = await reader.read();
      if (r.done) return { ok: false, detail: "closed without an answer" };
      for (const ev of decoder.push(r.value)) {
        if (ev.kind === "values") return { ok: true, detail: "FCGI_GET_VALUES answered" };
        if (ev.kind === "unknown-type") return { ok: true, detail: "FCGI_GET_VALUES answered UNKNOWN_TYPE" };
        if (ev.kind === "stream" && ev.type === FcgiType.STDOUT) out.push(ev.data.slice());
        if (ev.kind === "end-request") {
          const head = codec.parseCgiHead(concatBytes(out), 64 * 1024);
          const status = head?.status ?? 0;
          return { ok: status >= 200 && status < 300, detail: head ? String(status) : "no response head" };
        }
      }
    }
  } finally {
    decoder.free();
  }
}

async function http(conn: Duplex, path: string, host: string): Promise<ProbeResult> {
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${SOFTWARE}\r\nConnection: close\r\n\r\n`));
  const reader = conn.readable.getReader();
  let text = "";
  for (;;) {
    const r = await reader.read();
    if (r.done) return { ok: false, detail: text ? "closed before a status line" : "closed without an answer" };
    text += new TextDecoder("latin1").decode(r.value);
    const eol = text.indexOf("\n");
    if (eol < 0 && text.length < 1024) continue;
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    if (!m) return { ok: false, detail: "not an HTTP response" };
    const status = Number(m[1]);
    return { ok: status >= 200 && status < 400, detail: String(status) };
  }
}
