// The HTTP/2 floor for `edgepass serve`: Node's own http2 over TLS and nothing else, answering
// every stream with a fixed 200 "ok" (what Node itself costs an HTTP/2 request that no origin
// answers; edgepass adds its pipeline to this). Usage: node h2-floor.mjs PORT CERT KEY.
import { readFileSync } from "node:fs";
import http2 from "node:http2";

const [port, cert, key] = process.argv.slice(2);
const server = http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), settings: { maxConcurrentStreams: 128 } });
server.on("stream", (stream) => {
  stream.respond({ ":status": 200, "content-type": "text/plain", "content-length": 3 });
  stream.end("ok\n");
});
server.listen(Number(port), "127.0.0.1");
