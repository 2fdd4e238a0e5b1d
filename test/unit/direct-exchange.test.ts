// A connection of its own per request (pool = "direct"): where the host's dial has plain calls
// for the socket (Duplex.direct, as edgepass serve's has), the exchange uses them and never
// makes the web streams; where it has only streams (workerd), it uses those.
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { createCodec } from "../../src/codec/index.js";
import type { Codec } from "../../src/codec/types.js";
import { loadConfig } from "../../src/config/load.js";
import { createGateway } from "../../src/core/gateway.js";
import type { Dial, Duplex } from "../../src/core/transport.js";
import { concatBytes } from "../../src/core/bytes.js";
import { ScriptedPeer } from "../helpers/fcgi-peer.js";

let codec: Codec;
beforeAll(async () => {
  codec = createCodec(await loadWasmModuleFromDisk());
});

/** The peer's connection offered as plain calls only: its streams may not be touched. */
function plainCallsOnly(peer: ScriptedPeer, used: string[]): Dial {
  return async (address, options) => {
    const streams = await peer.dial(address, options);
    const reader = streams.readable.getReader();
    const writer = streams.writable.getWriter();
    const conn: Duplex = {
      get readable(): never {
        used.push("readable");
        throw new Error("the web streams were made");
      },
      get writable(): never {
        used.push("writable");
        throw new Error("the web streams were made");
      },
      direct: {
        read: async () => {
          const r = await reader.read();
          return r.done ? null : r.value;
        },
        write: (bytes) => writer.write(bytes instanceof Uint8Array ? bytes : concatBytes(bytes)),
      },
      close: () => streams.close(),
    };
    return conn;
  };
}

function gatewayWith(dial: Dial) {
  const config = loadConfig(`[upstreams.app]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\npool = "direct"\n\n[[routes]]\nmatch = "/"\nupstream = "app"\n`, "test.toml");
  const gateway = createGateway({ config, codec, dial, sink: () => {} });
  return (path: string) => gateway(new Request(`http://gw.test${path}`), { requestId: "t" });
}

describe("a direct exchange", () => {
  it("reads and writes through the dial's plain calls, and makes no web stream", async () => {
    const used: string[] = [];
    const peer = new ScriptedPeer(codec);
    const fetch = gatewayWith(plainCallsOnly(peer, used));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`/index.php?n=${i}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`ok 1`);
    }
    expect(used).toEqual([]);
    expect(peer.conns.length).toBe(3);
  });

  it("uses the streams where the dial has nothing else", async () => {
    const peer = new ScriptedPeer(codec);
    const res = await gatewayWith(peer.dial)("/index.php");
    expect([res.status, await res.text()]).toEqual([200, "ok 1"]);
  });
});
