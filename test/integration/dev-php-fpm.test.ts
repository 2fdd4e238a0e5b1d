// `edgepass dev --config FILE` as a user runs it — the CLI, miniflare/workerd, HTTP on the
// wire — in front of a real php-fpm, configured the way a WordPress site is.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { setCookies } from "../helpers/headers.js";
import { edgepass, repoRoot, waitFor, type Run } from "../helpers/process.js";
import { rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let dir: string;
let run: Run;
let base: string;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 3 });
  dir = mkdtempSync(path.join(tmpdir(), "edgepass-dev-"));
  writeFileSync(
    path.join(dir, "site.toml"),
    `[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"

[[routes]]
match = "/"
upstream = "php"
root = "${www}"
script = "/wp-front.php"
`,
  );
  run = edgepass(["dev", "--config", "site.toml", "--port", "0"], dir);
  [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
});

afterAll(async () => {
  run?.child.kill("SIGTERM");
  await run?.exit;
  await fpm?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
});

describe("edgepass dev in front of php-fpm", () => {
  it("a front controller with PATH_INFO (/index.php/some/path)", async () => {
    const res = await fetch(`${base}/index.php/some/path`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("front controller\nSCRIPT_NAME=/index.php\nPATH_INFO=/some/path\n");
  });

  it("a pretty permalink goes to the front controller with the original REQUEST_URI", async () => {
    const res = await fetch(`${base}/2024/05/hello-world/?utm=x`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-front")).toBe("1");
    expect(await res.text()).toBe(
      `front\nSCRIPT_NAME=/wp-front.php\nSCRIPT_FILENAME=${www}/wp-front.php\nPATH_INFO=\nREQUEST_URI=/2024/05/hello-world/?utm=x\n`,
    );
  });

  it("a POST body crosses the wire, miniflare and FastCGI intact", async () => {
    const body = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
    const res = await fetch(`${base}/echo.php`, { method: "POST", body });
    const j: any = await res.json();
    expect(j.length).toBe(200_000);
    const { createHash } = await import("node:crypto");
    expect(j.sha256).toBe(createHash("sha256").update(body).digest("hex"));
  });

  it("two Set-Cookie headers reach the HTTP client separately", async () => {
    const res = await fetch(`${base}/cookies.php`);
    expect(setCookies(res.headers)).toHaveLength(2);
  });

  it("a 4 MiB response arrives whole", async () => {
    const res = await fetch(`${base}/big.php`);
    const buf = new Uint8Array(await res.arrayBuffer());
    expect(buf.length).toBe(4 * 1024 * 1024);
    expect(buf[65536 + 5]).toBe((5 * 7 + 3) & 0xff);
  });

  it("on the wire: a small page php gave no length arrives with its Content-Length; the 4 MiB one chunked and whole", async () => {
    const small = await rawRequest(base, { path: "/status.php?code=200", timeoutMs: 10_000 });
    expect(small.framing).toBe("length");
    expect(small.get("content-length")).toBe("20");
    expect(small.body.toString()).toBe("status 200 from php\n");
    const big = await rawRequest(base, { path: "/big.php", timeoutMs: 30_000 });
    expect(big.framing).toBe("chunked");
    expect(big.complete).toBe(true);
    expect(big.body.length).toBe(4 * 1024 * 1024);
  });

  it("the CVE-2019-11043 shape is refused on the wire too", async () => {
    const res = await fetch(`${base}/index.php/PHP%0Ais_the_shittiest/?a=1`);
    expect(res.status).toBe(400);
  });
});
