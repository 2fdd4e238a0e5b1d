// A burst of a thousand clients on a cold `edgepass serve`, with the config a new user writes
// (no pool keys: max_connections 8) in front of a php-fpm of Debian's default size (5
// children): nobody sees an error, each client gets its own page, and the gateway never holds
// more connections to php-fpm than its limit. Then the same burst as browsers make it on the
// README's way to run serve (TLS, php-fpm's Unix socket): a thousand TLS handshakes at once,
// each client asking for HTTP/2 by ALPN.
import { rmSync } from "node:fs";
import http2 from "node:http2";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { clientsAtOnce } from "../helpers/pool-load.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";
import { selfSigned } from "../helpers/tls.js";

const CLIENTS = 1000;
let fpm: PhpFpm;
let www: string;
let serve: Dev;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 5 });
  serve = await startServe(`[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[[routes]]
match = "/"
upstream = "php"
root = "${www}"
script = "/wp-front.php"
`);
});

afterAll(async () => {
  await serve?.stop();
  await fpm?.stop();
  rmSync(www, { recursive: true, force: true });
});

it(`${CLIENTS} concurrent clients on a cold gateway with the default config: zero errors, each its own page, at most 8 connections to php-fpm`, async () => {
  const { errors, samples, max } = await clientsAtOnce(CLIENTS, serve.base, fpm.port);
  expect(errors.slice(0, 5)).toEqual([]);
  expect(samples.length).toBeGreaterThan(3);
  expect(max).toBeGreaterThan(0);
  expect(max).toBeLessThanOrEqual(8);
  // Every request was logged as served by the origin: none answered by the gateway itself.
  const lines = serve.run.stdout.split("\n").filter((l) => l.includes('"event":"request"'));
  expect(lines.filter((l) => !l.includes('"status":200')).slice(0, 3)).toEqual([]);
}, 180_000);

it(`${CLIENTS} browsers at once over HTTPS and HTTP/2, in front of php-fpm's Unix socket, on a cold gateway: zero errors, each its own page`, async () => {
  const unixFpm = await startPhpFpm({ unixSocket: true, maxChildren: 5 });
  const pair = selfSigned("burst");
  const tlsServe = await startServe(
    `[serve]
tls = { cert = "cert.pem", key = "key.pem" }

[upstreams.php]
protocol = "fastcgi"
servers = ["unix:${unixFpm.socket}"]

[[routes]]
match = "/"
upstream = "php"
root = "${www}"
script = "/wp-front.php"
`,
    { "cert.pem": pair.cert, "key.pem": pair.key },
  );
  try {
    const one = (i: number) =>
      new Promise<{ i: number; status: number; body: string; alpn: string | false | undefined; error?: string }>((resolve) => {
        const session = http2.connect(tlsServe.base, { ca: pair.cert });
        let alpn: string | false | undefined;
        session.on("connect", () => (alpn = session.alpnProtocol));
        session.on("error", (e) => resolve({ i, status: 0, body: "", alpn, error: String(e) }));
        const st = session.request({ ":path": `/load/${i}` });
        let status = 0;
        const parts: Buffer[] = [];
        st.on("response", (h) => (status = Number(h[":status"])));
        st.on("data", (d: Buffer) => parts.push(d));
        st.on("error", (e) => resolve({ i, status, body: "", alpn, error: String(e) }));
        st.on("close", () => {
          session.close();
          resolve({ i, status, body: Buffer.concat(parts).toString(), alpn });
        });
      });
    const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => one(i)));
    const errors = results.filter((r) => r.status !== 200 || r.alpn !== "h2" || !r.body.includes(`REQUEST_URI=/load/${r.i}\n`));
    expect(errors.slice(0, 5)).toEqual([]);
    // The last lines reach the log a moment after their answers (it is buffered).
    const lines = await vi.waitFor(() => {
      const all = tlsServe.run.stdout.split("\n").filter((l) => l.includes('"event":"request"'));
      expect(all.length).toBe(CLIENTS);
      return all;
    });
    expect(lines.filter((l) => !l.includes('"status":200')).slice(0, 3)).toEqual([]);
  } finally {
    await tlsServe.stop();
    await unixFpm.stop();
  }
}, 180_000);
