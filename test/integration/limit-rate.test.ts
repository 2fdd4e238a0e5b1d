// limit_rate, limit_rate_after and the origin's X-Accel-Limit-Rate through both hosts, on the
// wire, beside nginx with the same rules: a file and a PHP page read by a client that notes
// when each byte came. No bound on how fast anything is: only that nothing comes sooner than
// the rate allows, which a loaded machine cannot break (it only makes things later).
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodTree, phpSite, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { BOTH_HOSTS } from "../helpers/process.js";
import { gatewayForSuite } from "../helpers/suite.js";
import { phpLocation, startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";

const KIB = 1024;
const FILE = Buffer.alloc(256 * KIB, "limit-rate file ");
let files: string;
let www: string;
let fpm: PhpFpm;
let nginx: Server & { dir: string };

beforeAll(async () => {
  files = mkdtempSync(path.join(tmpdir(), "edgepass-limit-rate-files-"));
  for (const d of ["files", "protected"]) {
    mkdirSync(path.join(files, d));
    writeFileSync(path.join(files, d, "big.bin"), FILE);
  }
  www = mkdtempSync(path.join(tmpdir(), "edgepass-limit-rate-www-"));
  // 192 KiB at 64 KiB a second, in the origin's word. (Not with X-Accel-Buffering: no, which
  // makes nginx send the answer as it comes, and then it lifts any limit.)
  writeFileSync(path.join(www, "rate.php"), `<?php\nheader('X-Accel-Limit-Rate: 65536');\nheader('Content-Type: application/octet-stream');\necho str_repeat('r', 192 * 1024);\n`);
  // A download a script allows: the file from disk, at the rate the script says.
  writeFileSync(path.join(www, "send.php"), `<?php\nheader('X-Accel-Redirect: /protected/big.bin');\nheader('X-Accel-Limit-Rate: 65536');\n`);
  // Every X-Accel field nginx takes from an origin and keeps from the client.
  writeFileSync(
    path.join(www, "fields.php"),
    `<?php\nheader('X-Accel-Limit-Rate: 0');\nheader('X-Accel-Buffering: no');\nheader('X-Accel-Charset: utf-8');\nheader('X-Accel-Expires: 10');\nheader('X-Kept: yes');\necho "fields\\n";\n`,
  );
  chmodTree(files, false);
  chmodTree(www, false);
  fpm = await startPhpFpm({ maxChildren: 4 });
  nginx = await startNginx(
    () => `    location ^~ /files/ {
      root ${files};
      limit_rate 64k;
      limit_rate_after 64k;
    }
    location ^~ /protected/ {
      internal;
      root ${files};
    }
${phpLocation(www, `127.0.0.1:${fpm.port}`)}`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([nginx?.stop(), fpm?.stop()]);
  for (const d of [files, www]) if (d) rmSync(d, { recursive: true, force: true });
});

const SITE = () => `[assets]
directory = "${files}"
internal = ["/protected/"]

${phpSite(fpm.port, www)}
[[routes]]
match = "^~ /cached/"
upstream = "php"
root = "${www}"
script = "/rate.php"
cache = { valid = "1m" }
add_headers = { "X-Cache" = "$upstream_cache_status" }

[[routes]]
match = "^~ /files/"
limit_rate = "64k"
limit_rate_after = "64k"
`;

interface Timed {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
  /** Bytes of the body that had come by each time (ms since the request). */
  at(ms: number): number;
}

function timedGet(base: string, target: string): Promise<Timed> {
  const u = new URL(base);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: u.hostname, port: u.port, path: target, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        const marks: Array<[number, number]> = [];
        let n = 0;
        res.on("data", (d: Buffer) => {
          chunks.push(d);
          n += d.length;
          marks.push([performance.now() - start, n]);
        });
        res.on("end", () => {
          const at = (ms: number) => marks.filter(([t]) => t <= ms).reduce((_, [, b]) => b, 0);
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - start, at });
        });
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const accelFields = (h: http.IncomingHttpHeaders) => Object.keys(h).filter((k) => k.startsWith("x-accel-"));

describe("nginx, the reference", () => {
  it("limit_rate 64k after 64k: a 256 KiB file takes at least a second (nginx counts whole seconds); the origin's X-Accel-Limit-Rate paces its page, and the file its X-Accel-Redirect names; no X-Accel field reaches the client", async () => {
    const file = await timedGet(`http://127.0.0.1:${nginx.port}`, "/files/big.bin");
    expect([file.status, sha(file.body)]).toEqual([200, sha(FILE)]);
    expect(file.ms).toBeGreaterThanOrEqual(950);
    const page = await timedGet(`http://127.0.0.1:${nginx.port}`, "/rate.php");
    expect([page.status, page.body.length, accelFields(page.headers)]).toEqual([200, 192 * KIB, []]);
    expect(page.ms).toBeGreaterThanOrEqual(950);
    const sent = await timedGet(`http://127.0.0.1:${nginx.port}`, "/send.php");
    expect([sent.status, sha(sent.body)]).toEqual([200, sha(FILE)]);
    expect(sent.ms).toBeGreaterThanOrEqual(1950);
    const fields = await timedGet(`http://127.0.0.1:${nginx.port}`, "/fields.php");
    expect([fields.status, fields.headers["x-kept"], accelFields(fields.headers)]).toEqual([200, "yes", []]);
  });
});

describe.each(BOTH_HOSTS)("limit_rate on %s", (_name, start) => {
  const suite = gatewayForSuite(start, SITE);

  it("limit_rate 64k after 64k: 128 KiB at once (64k, then the first second's worth), then 64 KiB a second; the file whole, its length declared", async () => {
    const r = await timedGet(suite.dev.base, "/files/big.bin");
    expect([r.status, r.headers["content-length"], sha(r.body)]).toEqual([200, String(FILE.length), sha(FILE)]);
    // 64 KiB + 64 KiB × (1 + t) by t seconds: all 256 KiB not before 2 s.
    expect(r.ms).toBeGreaterThanOrEqual(1900);
    // Never ahead of the allowance (a tenth of a second's piece of slack).
    for (const t of [250, 500, 1000, 1500]) expect(r.at(t)).toBeLessThanOrEqual(64 * KIB + 64 * KIB * (1 + t / 1000) + 6.4 * KIB);
  });

  it("the origin's X-Accel-Limit-Rate (bytes a second) paces its own answer on a route with no limit, and no X-Accel field reaches the client", async () => {
    const r = await timedGet(suite.dev.base, "/rate.php");
    expect([r.status, r.body.length, accelFields(r.headers)]).toEqual([200, 192 * KIB, []]);
    // 64 KiB × (1 + t): 192 KiB not before 2 s.
    expect(r.ms).toBeGreaterThanOrEqual(1900);
    const fields = await timedGet(suite.dev.base, "/fields.php");
    expect([fields.status, fields.headers["x-kept"], accelFields(fields.headers), fields.body.toString()]).toEqual([200, "yes", [], "fields\n"]);
  });

  it("a cache hit goes out at the rate its origin said, as the answer that was kept", async () => {
    for (const status of ["MISS", "HIT"]) {
      const r = await timedGet(suite.dev.base, "/cached/page");
      expect([r.status, r.headers["x-cache"], r.body.length, accelFields(r.headers)]).toEqual([200, status, 192 * KIB, []]);
      expect(r.ms).toBeGreaterThanOrEqual(1900);
    }
  });

  it("X-Accel-Limit-Rate beside X-Accel-Redirect: the file the script names, from disk, at the rate it says", async () => {
    const r = await timedGet(suite.dev.base, "/send.php");
    expect([r.status, r.headers["content-length"], sha(r.body), accelFields(r.headers)]).toEqual([200, String(FILE.length), sha(FILE), []]);
    // 64 KiB × (1 + t): 256 KiB not before 3 s.
    expect(r.ms).toBeGreaterThanOrEqual(2900);
  });
});
