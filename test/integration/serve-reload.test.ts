// SIGHUP to a running `edgepass serve`: the config file is read again; one that does not
// validate is refused on stderr and the old one keeps serving, a good one serves new requests
// while a request in flight finishes on the gateway it started on, and reloads under load
// fail no request. Real php-fpm behind it, real clients.
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";
import { connectionsTo } from "../helpers/tcp.js";

let php: PhpFpm;
let www: string;
let serve: Dev;

const site = (version: string, phpPort: number) => `[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${phpPort}"]
max_connections = 4    # php-fpm's children: each FastCGI connection pins one
idle_timeout = "60s"   # longer than the test: a connection that closes was closed by the reload
queue_timeout = "10s"  # a starved request fails as a 503 well within the test's time

[[routes]]
match = "= /version"
return = "200 ${version}"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"
`;

/** Rewrites site.toml, sends SIGHUP, and waits for the server to say something about it. */
async function reload(toml: string): Promise<void> {
  const before = { out: serve.run.stdout.length, err: serve.run.stderr.length };
  writeFileSync(path.join(serve.dir, "site.toml"), toml);
  serve.run.child.kill("SIGHUP");
  const deadline = Date.now() + 10_000;
  while (serve.run.stdout.length === before.out && serve.run.stderr.length === before.err) {
    if (Date.now() > deadline) throw new Error(`no answer to SIGHUP; stderr: ${serve.run.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}


async function until(ok: () => boolean, why: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}

const text = async (url: string) => {
  const res = await fetch(url);
  return `${res.status} ${await res.text()}`;
};

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  php = await startPhpFpm({ maxChildren: 4 });
  serve = await startServe(site("one", php.port));
});

afterAll(async () => {
  await serve?.stop();
  await php?.stop();
  rmSync(www, { recursive: true, force: true });
});

describe("edgepass serve on SIGHUP", () => {
  it("refuses a config that does not validate, says why on stderr, and keeps serving the old one", async () => {
    expect(await text(`${serve.base}/version`)).toBe("200 one");
    await reload(site("two", php.port) + `\n[serve]\nheader_timeout = "soon"\n`);
    expect(serve.run.stderr).toMatch(/SIGHUP: .*header_timeout.*keeping the running config/s);
    expect(await text(`${serve.base}/version`)).toBe("200 one");
    expect(serve.run.child.exitCode).toBeNull();
  });

  it("serves new requests with a good new config while a request in flight finishes on the old one", async () => {
    await reload(site("one", php.port));
    // A slow request to php-fpm is in flight when the new config moves the upstream to a port
    // nobody listens on.
    const slow = fetch(`${serve.base}/slow.php?s=2`).then(async (r) => `${r.status} ${await r.text()}`);
    await new Promise((r) => setTimeout(r, 500));
    const dead = await freePort();
    await reload(site("three", dead));
    expect(serve.run.stdout).toMatch(/reloaded config site\.toml/);
    expect(await text(`${serve.base}/version`)).toBe("200 three");
    const fresh = await fetch(`${serve.base}/info.php`);
    await fresh.arrayBuffer();
    expect(fresh.status).toBe(502);
    expect(await slow).toBe("200 too late\n");
    // The replaced gateway's pool closes its php-fpm connections once that request is answered.
    await until(() => connectionsTo(php.port) === 0, () => `${connectionsTo(php.port)} connections to php-fpm still open`);
    // And back: the php upstream answers again through a fresh pool.
    await reload(site("four", php.port));
    const back = await fetch(`${serve.base}/info.php?a=1`);
    expect(back.status).toBe(200);
    expect(((await back.json()) as { get: unknown }).get).toEqual({ a: "1" });
  });

  // php-fpm has 4 children and each pool's connections pin one each for idle_timeout: a
  // replaced gateway's pool that did not close would starve the new one's requests.
  it("fails none of 200 requests at concurrency 10 to php-fpm while reloading three times", async () => {
    const reloadedBefore = serve.run.stdout.match(/reloaded config/g)?.length ?? 0;
    const failures: string[] = [];
    const versions = new Set<string>();
    let started = 0;
    let done = 0;
    const reloads: Promise<void>[] = [];
    const worker = async () => {
      while (started < 200) {
        const i = started++;
        try {
          const url = i % 2 ? `${serve.base}/info.php?i=${i}` : `${serve.base}/version`;
          const res = await fetch(url);
          const body = await res.text();
          if (res.status !== 200) failures.push(`${i}: ${res.status} ${body.slice(0, 200)}`);
          else if (i % 2 === 0) versions.add(body);
        } catch (e) {
          failures.push(`${i}: ${String(e)}`);
        }
        done++;
        if (done % 50 === 0 && done < 200) reloads.push(reload(site(`v${done}`, php.port)));
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    await Promise.all(reloads);
    expect(failures).toEqual([]);
    expect(serve.run.stdout.match(/reloaded config/g)!.length).toBe(reloadedBefore + 3);
    expect(await text(`${serve.base}/version`)).toBe("200 v150");
    // Requests saw more than one config over the run.
    expect(versions.size).toBeGreaterThan(1);
  });

  it("keeps limit_req's counts across a reload: a client refused before it is not given a fresh burst", async () => {
    const limited = (version: string) => site(version, php.port).replace('match = "= /version"', 'match = "= /version"\nlimit_req = { key = "ip", rate = "1r/m" }');
    await reload(limited("four"));
    expect(serve.run.stdout.match(/reloaded config/g)?.length).toBeGreaterThan(0);
    expect(await text(`${serve.base}/version`)).toBe("200 four");
    expect((await fetch(`${serve.base}/version`)).status).toBe(429);
    const before = serve.run.stdout.match(/reloaded config/g)!.length;
    await reload(limited("five"));
    expect(serve.run.stdout.match(/reloaded config/g)!.length).toBe(before + 1);
    const r = await fetch(`${serve.base}/version`);
    expect([r.status, r.headers.get("x-edgepass-error")]).toEqual([429, "LIMIT_REQ"]);
  });
});
