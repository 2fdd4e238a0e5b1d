// An anchor for the pool object's memory: does workerd let go of an outbound socket once it
// is closed, in a Durable Object that lives on? A bare object opens a TCP connection to a
// local server, writes a byte, reads the echo and closes it, once per request, N requests; the isolate's heap is
// then counted from a heap snapshot (scripts/heap-probe.ts). The gateway's pool opens a new
// connection for every request whose body cannot be sent twice, so what this shows per
// socket, the pool object holds per such request until the object is evicted.
//
// Local workerd (2026-04) keeps every one, about 3.6 KB each, for the isolate's life: workerd
// issue 7202 (a fix is proposed in workerd pull request 7258). How the socket is closed makes
// no difference (socket.close(), the writer closed and the reader cancelled, locks released).
//
//   node --import tsx bench/socket-retention-anchor.mjs [--sockets N] [--json]
import net from "node:net";
import { Miniflare } from "miniflare";
import { heapCensus } from "../scripts/heap-probe.ts";

const i = process.argv.indexOf("--sockets");
const sockets = i > 0 ? Number(process.argv[i + 1]) : 1000;
const echo = net.createServer((s) => s.pipe(s)).listen(0, "127.0.0.1");
await new Promise((r) => echo.once("listening", r));
const port = echo.address().port;

const script = `
import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";
export class Holder extends DurableObject {
  async fetch(req) {
    const n = Number(new URL(req.url).searchParams.get("n"));
    for (let i = 0; i < n; i++) {
      const s = connect({ hostname: "127.0.0.1", port: ${port} });
      const w = s.writable.getWriter();
      await w.write(new Uint8Array([1]));
      const r = s.readable.getReader();
      await r.read();
      await s.close();
    }
    return new Response("ok");
  }
}
export default { fetch(req, env) { return env.HOLDER.get(env.HOLDER.idFromName("one")).fetch(req); } };`;
const inspectorPort = 9000 + Math.floor(Math.random() * 2000);
const mf = new Miniflare({
  name: "anchor",
  modules: true,
  script,
  compatibilityDate: "2026-04-20",
  durableObjects: { HOLDER: "Holder" },
  port: 0,
  inspectorPort,
  inspectorHost: "127.0.0.1",
});
const url = await mf.ready;
const mib = (b) => (b / 2 ** 20).toFixed(2);
await (await fetch(new URL("/?n=10", url))).text();
const before = await heapCensus(inspectorPort, "core:user:anchor");
// One request per socket, as the pool opens them (each request its own call into the object).
for (let k = 0; k < sockets; k++) await (await fetch(new URL("/?n=1", url))).text();
const after = await heapCensus(inspectorPort, "core:user:anchor");
const count = (c, name) => c.byName.find((r) => r.name === name)?.count ?? 0;
const perSocket = (after.liveBytes - before.liveBytes) / sockets;
const retained = count(after, "synthetic:workerd / Socket") - count(before, "synthetic:workerd / Socket");
if (process.argv.includes("--json")) console.log(JSON.stringify({ sockets, retained, bytesPerSocket: Math.round(perSocket) }));
console.log(`sockets opened and closed: ${sockets}`);
console.log(`live heap: ${mib(before.liveBytes)} MiB -> ${mib(after.liveBytes)} MiB (${perSocket.toFixed(0)} bytes per socket)`);
console.log(`workerd Socket objects alive: ${count(before, "synthetic:workerd / Socket")} -> ${count(after, "synthetic:workerd / Socket")}`);
await mf.dispose();
echo.close();
