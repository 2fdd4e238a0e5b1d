// `edgepass serve` in front of real php-fpm pools, one on a loopback port and one on a Unix
// socket (which only this host can reach), with the config a new user writes: defaults for
// everything but the addresses. Real clients (fetch, and a raw socket where framing matters).
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startServe, type Dev } from "../helpers/process.js";
import { parseWireAll, rawExchange, rawRequest } from "../helpers/raw-http.js";

let tcp: PhpFpm;
let unix: PhpFpm;
let www: string;
let unixRoot: string;
let serve: Dev;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  // The Unix-socket pool serves the same files under /u/ (SCRIPT_FILENAME = root + path).
  unixRoot = mkdtempSync(path.join(tmpdir(), "edgepass-uroot-"));
  chmodSync(unixRoot, 0o755);
  symlinkSync(www, path.join(unixRoot, "u"));
  [tcp, unix] = await Promise.all([startPhpFpm({ maxChildren: 3 }), startPhpFpm({ maxChildren: 2, unixSocket: true })]);
  serve = await startServe(`[gateway]
admin_path = "/_edgepass/pools"

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${tcp.port}"]

[upstreams.php_unix]
protocol = "fastcgi"
servers = ["unix:${unix.socket}"]

[[routes]]
match = "~ ^/u/[^/]+\\\\.php(/|$)"
upstream = "php_unix"
root = "${unixRoot}"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"
`);
});

afterAll(async () => {
  await serve?.stop();
  await Promise.all([tcp?.stop(), unix?.stop()]);
  rmSync(www, { recursive: true, force: true });
  rmSync(unixRoot, { recursive: true, force: true });
});

const pattern = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe.each([
  ["php-fpm over TCP", ""],
  ["php-fpm over a Unix socket", "/u"],
])("edgepass serve in front of %s", (_, prefix) => {
  it("the socket's peer address is REMOTE_ADDR; the CGI variables are nginx's", async () => {
    const res = await fetch(`${serve.base}${prefix}/info.php?a=1`);
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j.server.REMOTE_ADDR).toBe("127.0.0.1");
    expect(Number(j.server.REMOTE_PORT)).toBeGreaterThan(0);
    expect(j.server.SERVER_PROTOCOL).toBe("HTTP/1.1");
    expect(j.server.SCRIPT_NAME).toBe(`${prefix}/info.php`);
    expect(j.get).toEqual({ a: "1" });
  });

  it("a POST body of 300,001 bytes with a Content-Length arrives whole", async () => {
    const body = pattern(300_001);
    const res = await fetch(`${serve.base}${prefix}/echo.php`, { method: "POST", body });
    const j: any = await res.json();
    expect(j.length).toBe(300_001);
    expect(j.content_length).toBe("300001");
    expect(j.sha256).toBe(sha(body));
  });

  it("form posts sent each with its head in one write, two on one kept connection, each reach PHP whole", async () => {
    const form = (n: number) => `name=edgepass&n=${n}&text=${"x".repeat(900)}`;
    const post = (n: number, last: boolean) =>
      `POST ${prefix}/echo.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: ${form(n).length}\r\n${last ? "Connection: close\r\n" : ""}\r\n${form(n)}`;
    const { raw } = await rawExchange(serve.base, [post(1, false) + post(2, true)]);
    const answers = parseWireAll(raw, ["POST", "POST"]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const [a, b] = answers.map((r) => JSON.parse(r.body.toString()));
    expect(a).toMatchObject({ length: form(1).length, sha256: sha(Buffer.from(form(1))), post: { name: "edgepass", n: "1" } });
    expect(b).toMatchObject({ length: form(2).length, sha256: sha(Buffer.from(form(2))), post: { name: "edgepass", n: "2" } });
  });

  it("a chunked upload (no length) is decoded, buffered to a length, and arrives whole", async () => {
    const body = pattern(100_000);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < body.length; i += 16_384) c.enqueue(body.subarray(i, i + 16_384));
        c.close();
      },
    });
    const res = await fetch(`${serve.base}${prefix}/echo.php`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    const j: any = await res.json();
    expect(j.length).toBe(100_000);
    expect(j.content_length).toBe("100000");
    expect(j.sha256).toBe(sha(body));
  });
});

describe("responses on the wire", () => {
  it("a 4 MiB streamed response (no length from php) arrives chunked, whole, byte for byte", async () => {
    const r = await rawRequest(serve.base, { path: "/big.php", timeoutMs: 30_000 });
    expect(r.status).toBe(200);
    expect(r.framing).toBe("chunked");
    expect(r.complete).toBe(true);
    expect(r.body.length).toBe(4 * 1024 * 1024);
    const piece = Buffer.from(new Uint8Array(65_536).map((_, i) => (i * 7 + 3) & 0xff));
    for (let n = 0; n < 64; n += 21) expect(r.body.subarray(n * 65_536, (n + 1) * 65_536).equals(piece)).toBe(true);
  });

  it("a small page with no length from php, which arrives whole with its head, goes out with its Content-Length", async () => {
    const r = await rawRequest(serve.base, { path: "/status.php?code=200", timeoutMs: 10_000 });
    expect(r.status).toBe(200);
    expect(r.framing).toBe("length");
    expect(r.get("content-length")).toBe("20");
    expect(r.get("transfer-encoding")).toBeNull();
    expect(r.complete).toBe(true);
    expect(r.body.toString()).toBe("status 200 from php\n");
  });

  it("the app's fields go out in the order it sent them, repeats joined, each cookie on its own line", async () => {
    const r = await rawRequest(serve.base, { path: "/cookies.php", timeoutMs: 10_000 });
    expect(r.status).toBe(200);
    const names = r.headers.map(([k]) => k);
    // cookies.php sets two cookies, then X-Multi twice; PHP adds Content-Type last. (A fetch
    // Headers would have sorted them: content-type first.)
    const app = names.filter((n) => ["set-cookie", "x-multi", "content-type"].includes(n));
    expect(app).toEqual(["set-cookie", "set-cookie", "x-multi", "content-type"]);
    expect(r.headers.filter(([k]) => k === "set-cookie").map(([, v]) => v)).toEqual(["first=one; path=/", "second=two; path=/; HttpOnly"]);
    expect(r.get("x-multi")).toBe("a, b");
    // As written on the wire, names in lower case (the helper's list lower-cases them).
    const head = r.raw.subarray(0, r.raw.indexOf("\r\n\r\n")).toString("latin1");
    expect(head).toContain("\r\nset-cookie: first=one; path=/\r\nset-cookie: second=two; path=/; HttpOnly\r\n");
    expect(head).toContain("\r\nx-multi: a, b\r\n");
    expect(r.body.toString()).toBe("cookies set\n");
  });

  it("a Content-Length the app declared stays on the wire", async () => {
    const r = await rawRequest(serve.base, { path: "/length.php", timeoutMs: 10_000 });
    expect(r.framing).toBe("length");
    expect(r.get("content-length")).toBe("10");
    expect(r.complete).toBe(true);
    expect(r.body.toString()).toBe("0123456789");
  });

  it("an app that declares more than it sends: the length is kept and the connection cut short", async () => {
    const r = await rawRequest(serve.base, { path: "/length.php?declare=50", timeoutMs: 10_000 });
    expect(r.framing).toBe("length");
    expect(r.get("content-length")).toBe("50");
    expect(r.body.toString()).toBe("0123456789");
    expect(r.complete).toBe(false);
  });

  it("admin_path answers the in-process pools' statistics", async () => {
    await fetch(`${serve.base}/info.php`).then((r) => r.arrayBuffer());
    const res = await fetch(`${serve.base}/_edgepass/pools`);
    expect(res.headers.get("content-type")).toBe("application/json");
    const j: any = await res.json();
    const php = j.upstreams.find((u: any) => u.upstream === "php");
    expect(php).toBeDefined();
    expect(php.shards).toBe(1);
    expect(php.served).toBeGreaterThan(0);
  });

  it("SIGTERM lets the request in flight finish, ends idle kept connections first, then the process exits 0 and stops accepting", async () => {
    // A kept connection that waits for its next request: nothing is in flight on it.
    const idle = net.connect(Number(new URL(serve.base).port), "127.0.0.1");
    const events: string[] = [];
    let answered = "";
    idle.on("data", (d) => (answered += d));
    idle.on("end", () => events.push("idle connection ended"));
    idle.on("error", () => {});
    idle.write("GET /info.php HTTP/1.1\r\nHost: x\r\n\r\n");
    for (let i = 0; i < 200 && !answered.includes("\r\n\r\n"); i++) await new Promise((r) => setTimeout(r, 25));
    const inFlight = fetch(`${serve.base}/slow.php?s=1`).then(async (res) => {
      const out = { status: res.status, text: await res.text() };
      events.push("in flight answered");
      return out;
    });
    await new Promise((r) => setTimeout(r, 300));
    serve.run.child.kill("SIGTERM");
    const done = await inFlight;
    expect(done).toEqual({ status: 200, text: "too late\n" });
    expect(events).toEqual(["idle connection ended", "in flight answered"]);
    idle.destroy();
    expect(await serve.run.exit).toBe(0);
    await expect(fetch(`${serve.base}/info.php`)).rejects.toThrow();
  });
});

describe("at start", () => {
  it("says once that the FastCGI upstream on a loopback port will be slow for pages over 8 KiB, and what to use instead", () => {
    const notes = serve.run.stderr.split("\n").filter((l) => l.startsWith("edgepass: note:"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`upstream "php" reaches FastCGI on this machine over TCP (127.0.0.1:${tcp.port})`);
    expect(notes[0]).toContain('servers = ["unix:/run/php/php-fpm.sock"]');
  });
});
