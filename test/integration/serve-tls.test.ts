// `edgepass serve` with [serve] tls: a self-signed certificate made by openssl for this test,
// real TLS clients that trust only it. The files are read again on SIGHUP; one that cannot be
// read is a config error (exit 2 at start, refused on reload). With several certificates, the
// one for the name a client asks for (SNI).
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import net from "node:net";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgepass, startServe, type Dev } from "../helpers/process.js";
import { parseWire, parseWireAll, rawExchange } from "../helpers/raw-http.js";
import { linesLike } from "../helpers/log-lines.js";
import { freePort } from "../helpers/php-fpm.js";
import { httpsGet, selfSigned } from "../helpers/tls.js";

const TOML = `[serve]
tls = { cert = "tls/cert.pem", key = "tls/key.pem" }

[[routes]]
match = "= /scheme"
return = "200 $scheme"
`;

function get(base: string, ca: string, pathname: string): Promise<{ status: number; body: string; fingerprint: string }> {
  return httpsGet(base, ca, pathname).then((r) => ({ status: r.status, body: r.body.toString("utf8"), fingerprint: r.fingerprint }));
}

let first: { cert: string; key: string };
let second: { cert: string; key: string };
let serve: Dev;

beforeAll(async () => {
  first = selfSigned("first");
  serve = await startServe(TOML, { "tls/cert.pem": first.cert, "tls/key.pem": first.key });
});

afterAll(async () => {
  await serve?.stop();
});

describe("edgepass serve with [serve] tls", () => {
  it("listens for https; a client trusting the certificate gets its answer, and $scheme is https", async () => {
    expect(serve.base).toMatch(/^https:\/\//);
    const r = await get(serve.base, first.cert, "/scheme");
    expect(r).toMatchObject({ status: 200, body: "https" });
    expect(r.fingerprint).toBe(new X509Certificate(first.cert).fingerprint256);
  });

  it("keeps a TLS connection alive: two pipelined requests answered in order on it", async () => {
    const port = Number(new URL(serve.base).port);
    const text = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port, ca: first.cert }, () => {
        s.write("GET /scheme HTTP/1.1\r\nHost: a\r\n\r\nGET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      });
      let got = "";
      s.setEncoding("utf8");
      s.on("data", (d) => (got += d));
      s.on("end", () => resolve(got));
      s.on("error", reject);
    });
    // The first body ("https") runs straight into the second status line.
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(["HTTP/1.1 200", "HTTP/1.1 404"]);
    expect(text).toContain("\r\n\r\nhttpsHTTP/1.1 404");
  });

  it("a plain HTTP request to the HTTPS port: 400 PLAIN_HTTP_TO_HTTPS_PORT in plain HTTP, saying so, then the connection closes; TLS clients go on", async () => {
    const { raw, closed } = await rawExchange(serve.base.replace("https:", "http:"), "GET /scheme HTTP/1.1\r\nHost: a\r\n\r\n", 5_000);
    const r = parseWire(raw, "GET");
    expect(r.status).toBe(400);
    expect(r.get("x-edgepass-error")).toBe("PLAIN_HTTP_TO_HTTPS_PORT");
    expect(r.get("connection")).toBe("close");
    expect(r.body.toString()).toContain("use an https:// URL");
    expect(closed).toBe(true);
    expect(await get(serve.base, first.cert, "/scheme")).toMatchObject({ status: 200, body: "https" });
  });

  it("reads the certificate again on SIGHUP; a key that cannot be read then is refused and the old pair kept", async () => {
    second = selfSigned("second");
    writeFileSync(path.join(serve.dir, "tls/cert.pem"), second.cert);
    writeFileSync(path.join(serve.dir, "tls/key.pem"), second.key);
    serve.run.child.kill("SIGHUP");
    await waitUntil(() => /reloaded config/.test(serve.run.stdout));
    const r = await get(serve.base, second.cert, "/scheme");
    expect(r).toMatchObject({ status: 200, body: "https" });
    expect(r.fingerprint).toBe(new X509Certificate(second.cert).fingerprint256);

    unlinkSync(path.join(serve.dir, "tls/key.pem"));
    serve.run.child.kill("SIGHUP");
    await waitUntil(() => /SIGHUP: /.test(serve.run.stderr));
    expect(serve.run.stderr).toMatch(/\[serve\] tls: cannot read the key file .*tls\/key\.pem: ENOENT.*keeping the running config/);
    const still = await get(serve.base, second.cert, "/scheme");
    expect(still.fingerprint).toBe(new X509Certificate(second.cert).fingerprint256);
  });

  it("a config without tls is refused on SIGHUP: the listener cannot change what it speaks", async () => {
    const before = serve.run.stderr.length;
    writeFileSync(path.join(serve.dir, "site.toml"), TOML.replace(/^\[serve\]\ntls = .*\n/, ""));
    serve.run.child.kill("SIGHUP");
    await waitUntil(() => serve.run.stderr.length > before);
    expect(serve.run.stderr.slice(before)).toContain("[serve] tls cannot be turned off by a reload");
    expect((await get(serve.base, second.cert, "/scheme")).body).toBe("https");
    writeFileSync(path.join(serve.dir, "site.toml"), TOML);
  });

  it.each([
    ["a certificate file that does not exist", () => ({}), "cannot read the cert file DIR/tls/cert.pem: ENOENT"],
    ["a key that is not the certificate's", () => ({ "tls/cert.pem": first.cert, "tls/key.pem": selfSigned("other").key }), "DIR/tls/cert.pem and DIR/tls/key.pem do not make a TLS certificate and its key"],
  ])("%s stops the command with exit 2 and says which file", async (_, files, says) => {
    const dir = mkdtempSync(path.join(tmpdir(), "edgepass-tls-bad-"));
    try {
      writeFileSync(path.join(dir, "site.toml"), TOML);
      mkdirSync(path.join(dir, "tls"));
      for (const [name, content] of Object.entries(files() as Record<string, string>)) writeFileSync(path.join(dir, name), content);
      const run = edgepass(["serve", "--config", "site.toml", "--port", "0"], dir);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toContain(`site.toml: [serve] tls: ${says.replaceAll("DIR", dir)}`);
      expect(run.stdout).not.toMatch(/listening/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("--redirect-port: plain HTTP sent to https://", () => {
  it("every request on it is answered with its https:// URL (301; 308 for a POST, whose body is read and dropped), on one kept connection, each logged; curl -L lands on the site", async () => {
    const redirectPort = await freePort();
    const pair = selfSigned("redirect");
    const site = await startServe(TOML, { "tls/cert.pem": pair.cert, "tls/key.pem": pair.key }, [], ["--redirect-port", String(redirectPort)]);
    try {
      const httpsPort = new URL(site.base).port;
      // Its own line, written after the "listening on" one that told the test it started.
      await expect.poll(() => site.run.stdout).toContain(`edgepass: redirecting http://127.0.0.1:${redirectPort} to https://`);
      const { raw } = await rawExchange(`http://127.0.0.1:${redirectPort}`, [
        "GET /scheme?x=1&y=%20 HTTP/1.1\r\nHost: shop.example:80\r\n\r\n",
        "POST /cart HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nitem=42",
        "HEAD / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n",
      ]);
      const [get, post, head] = parseWireAll(raw, ["GET", "POST", "HEAD"]);
      expect([get.status, get.get("location")]).toEqual([301, `https://shop.example:${httpsPort}/scheme?x=1&y=%20`]);
      expect(get.body.toString()).toContain("This site is served over HTTPS");
      expect([post.status, post.get("location")]).toEqual([308, `https://shop.example:${httpsPort}/cart`]);
      expect([head.status, head.body.length]).toEqual([301, 0]);
      await waitUntil(() => linesLike(site.run.stdout, { event: "request", from: "gateway" }).filter((l) => l.status === 301 || l.status === 308).length === 3);
      // A Host that names no host is refused, as on the site itself.
      const bad = parseWire((await rawExchange(`http://127.0.0.1:${redirectPort}`, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n")).raw, "GET");
      expect([bad.status, bad.get("x-edgepass-error")]).toEqual([400, "HTTP_BAD_HOST"]);
      const followed = await new Promise<string>((resolve) =>
        execFile("curl", ["-sSkL", "-m", "10", `http://localhost:${redirectPort}/scheme`], (_e, out, err) => resolve(out + err)),
      );
      expect(followed).toBe("https");
    } finally {
      await site.stop();
    }
  });

  it("without [serve] tls it stops the command (exit 2) and says it needs tls; a taken port names --redirect-port", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "edgepass-redirect-"));
    try {
      writeFileSync(path.join(dir, "site.toml"), '[[routes]]\nmatch = "/"\nreturn = "200 ok"\n');
      const plain = edgepass(["serve", "--config", "site.toml", "--port", "0", "--redirect-port", "0"], dir);
      expect(await plain.exit).toBe(2);
      expect(plain.stderr).toContain("--redirect-port sends plain HTTP to this server's https:// port: it needs [serve] tls");
      mkdirSync(path.join(dir, "tls"));
      const pair = selfSigned("taken");
      writeFileSync(path.join(dir, "tls/cert.pem"), pair.cert);
      writeFileSync(path.join(dir, "tls/key.pem"), pair.key);
      writeFileSync(path.join(dir, "site.toml"), TOML);
      const taken = net.createServer();
      await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
      try {
        const busy = edgepass(["serve", "--config", "site.toml", "--port", "0", "--redirect-port", String((taken.address() as net.AddressInfo).port)], dir);
        expect(await busy.exit).not.toBe(0);
        expect(busy.stderr).toContain("the port is in use; pick another with --redirect-port");
        expect(busy.stdout).not.toContain("listening");
      } finally {
        taken.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("[serve] tls with a certificate per site (SNI)", () => {
  const a = selfSigned("site a", ["a.test", "*.a.test"]);
  const b = selfSigned("site b", ["b.test"]);
  const SITES = `[serve]\ntls = [{ cert = "a.pem", key = "a.key" }, { cert = "b.pem", key = "b.key" }]\n\n[[routes]]\nmatch = "= /host"\nreturn = "200 $host"\n`;
  let sites: Dev;
  beforeAll(async () => {
    sites = await startServe(SITES, { "a.pem": a.cert, "a.key": a.key, "b.pem": b.cert, "b.key": b.key });
  });
  afterAll(async () => {
    await sites?.stop();
  });

  /** The certificate served for `servername` (none: no SNI), the protocol ALPN chose, and the
   *  answer to GET /host over HTTP/1.1 on that connection. */
  const visit = (servername: string | undefined, alpn = ["http/1.1"]) =>
    new Promise<{ fingerprint: string; alpn: string | false | null; body: string }>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: Number(new URL(sites.base).port), servername, rejectUnauthorized: false, ALPNProtocols: alpn }, () => {
        const fingerprint = s.getPeerCertificate().fingerprint256;
        const chosen = s.alpnProtocol;
        if (chosen !== "http/1.1") return (s.destroy(), resolve({ fingerprint, alpn: chosen, body: "" }));
        s.write(`GET /host HTTP/1.1\r\nHost: ${servername ?? "127.0.0.1"}\r\nConnection: close\r\n\r\n`);
        let got = "";
        s.on("data", (d) => (got += d));
        s.on("end", () => resolve({ fingerprint, alpn: chosen, body: got.slice(got.indexOf("\r\n\r\n") + 4) }));
      });
      s.on("error", reject);
    });
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256;

  it("each name gets its own certificate (a wildcard covers one label); any other name, or none, gets the first", async () => {
    expect(await visit("a.test")).toMatchObject({ fingerprint: fp(a.cert), body: "a.test" });
    expect(await visit("b.test")).toMatchObject({ fingerprint: fp(b.cert), body: "b.test" });
    expect((await visit("www.a.test")).fingerprint).toBe(fp(a.cert));
    expect((await visit("x.www.a.test")).fingerprint).toBe(fp(a.cert)); // no match: the first
    expect((await visit("c.test")).fingerprint).toBe(fp(a.cert));
    expect((await visit(undefined)).fingerprint).toBe(fp(a.cert));
  });

  it("HTTP/2 is offered whichever certificate answers", async () => {
    expect(await visit("b.test", ["h2", "http/1.1"])).toMatchObject({ fingerprint: fp(b.cert), alpn: "h2" });
  });

  it("SIGHUP reads the list again: a new order makes another the first", async () => {
    writeFileSync(path.join(sites.dir, "site.toml"), SITES.replace('tls = [{ cert = "a.pem", key = "a.key" }, { cert = "b.pem", key = "b.key" }]', 'tls = [{ cert = "b.pem", key = "b.key" }, { cert = "a.pem", key = "a.key" }]'));
    const before = sites.run.stdout.length;
    sites.run.child.kill("SIGHUP");
    const deadline = Date.now() + 10_000;
    while (!/reloaded config/.test(sites.run.stdout.slice(before)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await visit("c.test")).fingerprint).toBe(fp(b.cert));
    expect((await visit("a.test")).fingerprint).toBe(fp(a.cert));
  });
});

async function waitUntil(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out; stderr: ${serve.run.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
