// Active health checks, one probe at a time against scripted loopback servers: an answer in
// the upstream's protocol is health, a connect alone is not, and a server that accepts and
// never answers fails within the check's timeout. (Real php-fpm ping.path checks run in
// test/integration/balance.test.ts.)
import net from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { dialNode } from "../../src/adapter/node/dial.js";
import { probe } from "../../src/balance/probe.js";
import { createCodec } from "../../src/codec/index.js";
import type { Codec } from "../../src/codec/types.js";
import { loadConfig } from "../../src/config/load.js";
import { scriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

let codec: Codec;
const servers: ScriptedServer[] = [];
beforeAll(async () => {
  codec = createCodec(await loadWasmModuleFromDisk());
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(onData: (sock: net.Socket, data: Buffer) => void): Promise<number> {
  const s = await scriptedServer((sock) => sock.on("data", (d: Buffer) => onData(sock, d)));
  servers.push(s);
  return s.port;
}

function check(protocol: "http" | "fastcgi", port: number, hc: string) {
  const text = `[upstreams.u]\nprotocol = "${protocol}"\nservers = ["127.0.0.1:${port}"]\nhealth_check = ${hc}\n[[routes]]\nmatch = "/"\nupstream = "u"\n`;
  const u = loadConfig(text, "t.toml", undefined, "server").upstreams.u;
  return probe(u, u.servers[0], codec, dialNode);
}

describe("HTTP", () => {
  it("GET path: a 200 passes, and the request is a GET of that path", async () => {
    let seen = "";
    const port = await serve((sock, d) => {
      seen += d.toString("latin1");
      if (seen.includes("\r\n\r\n")) sock.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    const r = await check("http", port, '{ interval = "1s", path = "/healthz" }');
    expect(r).toEqual({ ok: true, detail: "200" });
    expect(seen).toMatch(/^GET \/healthz HTTP\/1\.1\r\n/);
  });

  it("a 503 fails", async () => {
    const port = await serve((sock) => sock.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"));
    expect(await check("http", port, '{ interval = "1s" }')).toEqual({ ok: false, detail: "503" });
  });

  it("a server that accepts and never answers fails at the timeout", async () => {
    const port = await serve(() => {});
    const r = await check("http", port, '{ interval = "5s", timeout = "300ms" }');
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/no answer within 300 ms/);
  });

  it("nothing listening fails with the connect error", async () => {
    const s = await scriptedServer(() => {});
    const port = s.port;
    await s.close();
    const r = await check("http", port, '{ interval = "1s" }');
    expect(r.ok).toBe(false);
  });
});

describe("FastCGI", () => {
  it("no path: FCGI_GET_VALUES answered passes; silence fails", async () => {
    const port = await serve((sock, d) => {
      // FCGI_GET_VALUES (type 9) → GET_VALUES_RESULT (type 10) with FCGI_MPXS_CONNS=0.
      if (d[1] === 9) {
        const pair = Buffer.concat([Buffer.from([15, 1]), Buffer.from("FCGI_MPXS_CONNS0")]);
        sock.end(Buffer.concat([Buffer.from([1, 10, 0, 0, 0, pair.length, 0, 0]), pair]));
      }
    });
    expect(await check("fastcgi", port, '{ interval = "1s" }')).toEqual({ ok: true, detail: "FCGI_GET_VALUES answered" });
    const silent = await serve(() => {});
    expect((await check("fastcgi", silent, '{ interval = "1s", timeout = "200ms" }')).ok).toBe(false);
  });

  it("with path: the responder's status decides (Status: 404 fails)", async () => {
    const port = await serve((sock, d) => {
      if (!d.includes(Buffer.from([1, 5, 0, 1, 0, 0]))) return;
      const out = Buffer.from("Status: 404 Not Found\r\n\r\n");
      sock.end(Buffer.concat([Buffer.from([1, 6, 0, 1, 0, out.length, 0, 0]), out, Buffer.from([1, 3, 0, 1, 0, 8, 0, 0]), Buffer.alloc(8)]));
    });
    expect(await check("fastcgi", port, '{ interval = "1s", path = "/ping" }')).toEqual({ ok: false, detail: "404" });
  });
});
