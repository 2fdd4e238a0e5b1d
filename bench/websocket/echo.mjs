// The WebSocket origin of bench/websocket.bench.ts: an echo server (the ws package, no
// compression), every message sent back as it came. Usage: node echo.mjs PORT
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2]), perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
