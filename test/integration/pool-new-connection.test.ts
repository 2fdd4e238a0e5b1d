// A request that must go on a new connection (its body is too big to be held for a resend)
// while the pool keeps idle connections to php-fpm. php-fpm gives every kept connection a
// worker of its own, idle or not, so when the pool may open more connections than php-fpm has
// workers (the default max_connections, 8, against Debian's pm.max_children, 5) a new
// connection waits in php-fpm's listen queue until an idle one is closed. The pool gives up an
// idle connection for the new one instead. Here php-fpm has 2 workers, both held by idle kept
// connections, and idle_timeout is far longer than the test: the upload is answered only if
// the pool makes room. Both hosts, with the config a new user writes plus that idle_timeout;
// the Worker setup with one pool object (shards = 1, so max_connections = 6, still three times
// the workers): an object can give up only its own idle connections, and with two the idle
// ones may all sit in the other (README).
import { createHash } from "node:crypto";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, startServe, type Dev } from "../helpers/process.js";

let fpm: PhpFpm;
let www: string;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 2 });
});

afterAll(async () => {
  await fpm?.stop();
  if (www) rmSync(www, { recursive: true, force: true });
});

describe.each([
  ["edgepass serve", startServe, ""],
  ["edgepass dev", startDev, "shards = 1\nmax_connections = 6\n"],
] as const)("%s: an upload while idle kept connections hold every php-fpm worker", (_host, start, keys) => {
  let gw: Dev;
  beforeAll(async () => {
    gw = await start(phpSite(fpm.port, www, `idle_timeout = "120s"\n${keys}`));
  });
  afterAll(() => gw?.stop());

  it("gets a worker: the pool closes an idle connection to open its new one", async () => {
    // Two requests at once leave two kept connections, idle: both workers are theirs.
    const slow = await Promise.all([1, 2].map(() => fetch(`${gw.base}/slow.php?s=1`).then((r) => r.status)));
    expect(slow).toEqual([200, 200]);
    // Over the 64 KiB a pooled request holds for a resend: it needs a new connection.
    const body = Buffer.alloc(200_000, 0x61);
    const res = await fetch(`${gw.base}/echo.php`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body, signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    const got = (await res.json()) as { length: number; sha256: string };
    expect(got).toMatchObject({ length: body.length, sha256: createHash("sha256").update(body).digest("hex") });
  }, 40_000);
});
