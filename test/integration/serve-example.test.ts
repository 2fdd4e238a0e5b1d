// The README's third way to run edgepass, as a new user runs it: `edgepass serve` with
// examples/serve.toml as shipped (HTTPS, the site's files from disk, PHP through php-fpm's Unix
// socket, try_files to a front controller). Only this machine's paths are put in: the site
// directory and the socket; the certificate is made by openssl for the test.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";
import { h2Request } from "../helpers/h2-client.js";
import { httpsGet, selfSigned } from "../helpers/tls.js";

let fpm: PhpFpm;
let site: string;
let serve: Dev;
let ca: string;

beforeAll(async () => {
  site = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  writeFileSync(path.join(site, "style.css"), `body { color: #333; }\n${"/* padding */\n".repeat(200)}`);
  writeFileSync(path.join(site, ".env"), "DB_PASSWORD=secret\n");
  fpm = await startPhpFpm({ maxChildren: 2, unixSocket: true });
  const example = readFileSync(path.join(repoRoot, "examples/serve.toml"), "utf8");
  expect(example).toContain('servers = ["unix:/run/php/php-fpm.sock"]');
  const toml = example.replaceAll("/var/www/site", site).replaceAll("/run/php/php-fpm.sock", fpm.socket!);
  const pair = selfSigned("example");
  ca = pair.cert;
  serve = await startServe(toml, { "tls/cert.pem": pair.cert, "tls/key.pem": pair.key });
});

afterAll(async () => {
  await serve?.stop();
  await fpm?.stop();
  if (site) rmSync(site, { recursive: true, force: true });
});

describe("examples/serve.toml: HTTPS, files from disk, php-fpm on its Unix socket", () => {
  it("listens for HTTPS only", () => {
    expect(serve.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("a PHP script runs through the Unix socket with HTTPS=on", async () => {
    const r = await httpsGet(serve.base, ca, "/info.php?x=1");
    expect(r.status).toBe(200);
    const j = JSON.parse(r.body.toString("utf8"));
    expect(j.server).toMatchObject({ HTTPS: "on", REQUEST_SCHEME: "https", SCRIPT_NAME: "/info.php", SCRIPT_FILENAME: path.join(site, "info.php"), REMOTE_ADDR: "127.0.0.1" });
    expect(j.get).toEqual({ x: "1" });
  });

  it("a browser's HTTP/2 (ALPN h2) is served as shipped: the script sees HTTP/2.0", async () => {
    const r = await h2Request(serve.base, ca, { path: "/info.php?x=2" });
    expect([r.status, r.alpn, r.complete]).toEqual([200, "h2", true]);
    expect(JSON.parse(r.body.toString("utf8")).server).toMatchObject({ SERVER_PROTOCOL: "HTTP/2.0", HTTPS: "on", SCRIPT_NAME: "/info.php" });
  });

  it("a pretty URL goes to the front controller (try_files)", async () => {
    const r = await httpsGet(serve.base, ca, "/2024/hello-world/");
    expect(r.status).toBe(200);
    expect(r.body.toString("utf8")).toContain("front controller\nSCRIPT_NAME=/index.php\n");
  });

  it("a static file comes from disk, compressed for a client that takes gzip", async () => {
    const plain = await httpsGet(serve.base, ca, "/style.css");
    expect(plain.status).toBe(200);
    expect(plain.headers["content-length"]).toBe(String(plain.body.length));
    expect(plain.body.toString("utf8")).toBe(readFileSync(path.join(site, "style.css"), "utf8"));
    const gz = await httpsGet(serve.base, ca, "/style.css", { "accept-encoding": "gzip" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
  });

  it("a dotfile is refused, never read", async () => {
    const r = await httpsGet(serve.base, ca, "/.env");
    expect(r.status).toBe(403);
    expect(r.body.toString("utf8")).not.toContain("secret");
  });
});
