// A burst of a thousand clients on a cold `edgepass serve`, with the config a new user writes
// (no pool keys: max_connections 8) in front of a php-fpm of Debian's default size (5
// children): nobody sees an error, each client gets its own page, and the gateway never holds
// more connections to php-fpm than its limit.
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { clientsAtOnce } from "../helpers/pool-load.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";

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
