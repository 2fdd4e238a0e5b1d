// npm run soak:websocket -- [--host serve|dev] [--rounds N]
//
// WebSockets opened and ended over and over through the gateway in front of a real tornado app
// (test/fixtures/apps/tornado/ws_app.py), with the config a user writes: each round, 500
// clients in batches of 50 open one, exchange a message, and end it (two in three with a close
// handshake, one in three by dropping the TCP connection). After each round, once the gateway
// had a moment to notice, no connection to the origin may be left open (`ss`), and every client
// must have had its echo. Prints the gateway process's RSS per round (edgepass serve's own; for
// dev the command's, not workerd's), reported, not judged. Exit status 1 on a leaked origin
// connection or a failed client. Not part of `npm test`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { forwardAllSite, startDev, startServe } from "../test/helpers/process.js";
import { startTornado } from "../test/helpers/servers/tornado.js";

const { values: o } = parseArgs({ options: { host: { type: "string", default: "serve" }, rounds: { type: "string", default: "10" } } });
const tornado = await startTornado();
const gw = await (o.host === "dev" ? startDev : startServe)(forwardAllSite(tornado.port));
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.run.child.pid}/status`, "utf8"))?.[1] ?? NaN);
const openToOrigin = () => execFileSync("ss", ["-tnH", "state", "established", `( dport = :${tornado.port} )`], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length;

let failed = 0;
async function one(i: number): Promise<void> {
  const ws = new WebSocket(gw.base.replace(/^http/, "ws") + "/ws");
  ws.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("close", () => reject(new Error("closed before open")));
    });
    const echo = new Promise<string>((resolve) => ws.once("message", (d) => resolve(String(d))));
    ws.send(`m${i}`);
    if ((await echo) !== `m${i}`) throw new Error("wrong echo");
    if (i % 3 === 0) ws.terminate();
    else {
      const closed = new Promise((r) => ws.once("close", r));
      ws.close(1000);
      await closed;
    }
  } catch (e) {
    failed++;
    console.error(`client ${i}: ${e instanceof Error ? e.message : String(e)}`);
    ws.terminate();
  }
}

let leaked = 0;
try {
  for (let round = 0; round < Number(o.rounds); round++) {
    for (let batch = 0; batch < 10; batch++) await Promise.all(Array.from({ length: 50 }, (_, i) => one(round * 500 + batch * 50 + i)));
    await new Promise((r) => setTimeout(r, 1500));
    const open = openToOrigin();
    leaked = Math.max(leaked, open);
    console.log(`round ${round + 1}: 500 WebSockets, ${failed} failed so far; connections to the origin still open: ${open}; gateway RSS ${(rssKb() / 1024).toFixed(1)} MB`);
  }
} finally {
  await gw.stop();
  await tornado.stop();
}
console.log(failed === 0 && leaked === 0 ? "soak:websocket: passed" : `soak:websocket: FAILED (${failed} failed clients, up to ${leaked} origin connections left open)`);
process.exit(failed === 0 && leaked === 0 ? 0 : 1);
