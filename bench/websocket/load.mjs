// The clients of bench/websocket.bench.ts: CLIENTS WebSocket connections to URL, each sending a
// message of SIZE bytes and the next one when its echo is back, for SECONDS. Prints one JSON
// line: round trips, per second, and the p50 and p99 round trip in ms.
// Usage: node load.mjs URL CLIENTS SIZE SECONDS
import WebSocket from "ws";

const [url, clients, size, seconds] = [process.argv[2], ...process.argv.slice(3).map(Number)];
const payload = Buffer.alloc(size, 97);
const times = [];
let errors = 0;
const until = performance.now() + seconds * 1000;

function client() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
    let sent = 0;
    const send = () => {
      sent = performance.now();
      ws.send(payload, { binary: size > 1024 });
    };
    ws.on("open", send);
    ws.on("message", () => {
      const now = performance.now();
      times.push(now - sent);
      if (now < until) send();
      else ws.close();
    });
    ws.on("error", () => errors++);
    ws.on("close", resolve);
  });
}

const t0 = performance.now();
await Promise.all(Array.from({ length: clients }, client));
const elapsed = (performance.now() - t0) / 1000;
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
console.log(JSON.stringify({ trips: times.length, perSecond: times.length / elapsed, p50: pct(50), p99: pct(99), errors }));
