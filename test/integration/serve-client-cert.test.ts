// `edgepass serve` asking clients for certificates ([serve] client_ca, verify_client,
// client_crl), on the wire: a certificate authority run by `openssl ca` for this test, curl
// as the client (its own certificate or none, HTTP/1.1 and HTTP/2), php-fpm and gunicorn as
// the apps that are told what was verified. What each side sees is checked against openssl's
// and curl's own account of the certificate and the connection, not against our output.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgepass, repoRoot, startServe, type Dev } from "../helpers/process.js";
import { linesLike } from "../helpers/log-lines.js";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { startGunicorn } from "../helpers/servers/gunicorn.js";
import type { Server } from "../helpers/servers/launch.js";
import { selfSigned, testCa, type TestCa } from "../helpers/tls.js";

interface Curl {
  code: number;
  status: number;
  body: string;
  /** What curl reports of the connection ("TLSv1.3 / TLS_AES_256_GCM_SHA384"). */
  tls: string;
  err: string;
}

/** curl against `url` with `cert` (written beside the site) or none; its -v output names the
 *  TLS version and cipher it negotiated. */
function curl(dev: Dev, url: string, cert: { cert: string; key: string } | null, more: string[] = []): Promise<Curl> {
  const args = ["-sk", "-v", "-m", "10", "-w", "\n%{http_code}", ...more];
  if (cert) {
    const file = path.join(dev.dir, `client-${Math.random().toString(36).slice(2)}.pem`);
    writeFileSync(file, cert.cert + cert.key);
    args.push("--cert", file);
  }
  return new Promise((resolve) =>
    execFile("curl", [...args, `${dev.base}${url}`], (e, out, err) => {
      const cut = out.lastIndexOf("\n");
      const tls = /SSL connection using (\S+ \/ \S+)/.exec(err)?.[1] ?? "";
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, status: Number(out.slice(cut + 1)), body: out.slice(0, cut), tls, err });
    }),
  );
}

/** openssl's own account of a certificate: `-subject -nameopt RFC2253` and the rest. */
function openssl(cert: string, what: string[]): string {
  return execFileSync("openssl", ["x509", "-noout", ...what], { input: cert, encoding: "utf8" }).trim();
}

let ca: TestCa;
let otherCa: TestCa;
let server: { cert: string; key: string };
let alice: { cert: string; key: string };
let revoked: { cert: string; key: string };
let crl: string;
let fpm: PhpFpm;
let gunicorn: Server;
let www: string;

beforeAll(async () => {
  ca = testCa("Test CA");
  otherCa = testCa("Other CA");
  server = selfSigned("edgepass");
  // A comma, a non-ASCII letter and a multi-valued part: what RFC 2253 escapes and orders.
  alice = ca.issue("/C=DE/O=Zürich, Ltd./OU=ops/CN=alice");
  revoked = ca.issue("/CN=mallory");
  crl = ca.revoke(revoked.cert);
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  [fpm, gunicorn] = await Promise.all([startPhpFpm({ maxChildren: 2, unixSocket: true }), startGunicorn({ wsgiFile: path.join(repoRoot, "test/fixtures/apps/wsgi/headers.py"), workers: 1 })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([fpm?.stop(), gunicorn?.stop()]);
  ca?.close();
  otherCa?.close();
});

const site = (serveKeys: string) => `[gateway]
admin_path = "/_pools"

[serve]
tls = { cert = "tls/cert.pem", key = "tls/key.pem" }
${serveKeys}

[upstreams.php]
protocol = "fastcgi"
servers = ["unix:${fpm.socket}"]

[upstreams.app]
protocol = "http"
servers = ["127.0.0.1:${gunicorn.port}"]

[[routes]]
match = "= /who"
return = "200 $ssl_client_verify|$ssl_client_s_dn|$ssl_protocol"

[[routes]]
match = "/admin/"
require_client_cert = true
return = "200 admin $ssl_client_s_dn"

[[routes]]
match = "~ \\\\.php$"
root = "${www}"
upstream = "php"

[[routes]]
match = "/app/"
upstream = "app"
`;

const files = () => ({ "tls/cert.pem": server.cert, "tls/key.pem": server.key, "tls/clients.pem": ca.cert, "tls/crl.pem": crl });

describe('verify_client = "optional", with a revocation list', () => {
  let serve: Dev;
  beforeAll(async () => {
    serve = await startServe(site('client_ca = "tls/clients.pem"\nverify_client = "optional"\nclient_crl = "tls/crl.pem"'), files());
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it("a verified certificate: $ssl_client_verify SUCCESS, its subject in RFC 2253 as openssl writes it, the version curl negotiated", async () => {
    const r = await curl(serve, "/who", alice);
    const subject = openssl(alice.cert, ["-subject", "-nameopt", "RFC2253"]).replace(/^subject=/, "");
    expect(subject).toBe("CN=alice,OU=ops,O=Z\\C3\\BCrich\\, Ltd.,C=DE");
    expect(r.status).toBe(200);
    expect(r.body).toBe(`SUCCESS|${subject}|${r.tls.split(" / ")[0]}`);
    expect(r.tls).toMatch(/^TLSv1\.3 \//);
  });

  it("php-fpm is told the certificate and the connection with mod_ssl's names: verify, subject, issuer, serial, SHA-1 fingerprint, validity, protocol and cipher", async () => {
    const r = await curl(serve, "/info.php", alice);
    expect(r.status).toBe(200);
    const s = JSON.parse(r.body).server;
    const [protocol, cipher] = r.tls.split(" / ");
    expect(s).toMatchObject({
      HTTPS: "on",
      SSL_PROTOCOL: protocol,
      SSL_CIPHER: cipher,
      SSL_CLIENT_VERIFY: "SUCCESS",
      SSL_CLIENT_S_DN: openssl(alice.cert, ["-subject", "-nameopt", "RFC2253"]).replace(/^subject=/, ""),
      SSL_CLIENT_I_DN: "CN=Test CA",
      SSL_CLIENT_M_SERIAL: openssl(alice.cert, ["-serial"]).replace(/^serial=/, ""),
      SSL_CLIENT_FINGERPRINT: openssl(alice.cert, ["-fingerprint", "-sha1"]).replace(/^.*=/, "").replace(/:/g, "").toLowerCase(),
      SSL_CLIENT_V_START: openssl(alice.cert, ["-startdate"]).replace(/^notBefore=/, ""),
      SSL_CLIENT_V_END: openssl(alice.cert, ["-enddate"]).replace(/^notAfter=/, ""),
    });
  });

  it("no certificate: served, told NONE with no subject; a route with require_client_cert answers 403 CLIENT_CERT_REQUIRED", async () => {
    const who = await curl(serve, "/who", null);
    expect(who).toMatchObject({ status: 200, body: `NONE||${who.tls.split(" / ")[0]}` });
    const info = JSON.parse((await curl(serve, "/info.php", null)).body).server;
    expect(info.SSL_CLIENT_VERIFY).toBe("NONE");
    expect(info.SSL_CLIENT_S_DN).toBeUndefined();
    const admin = await curl(serve, "/admin/", null, ["-D", "-"]);
    expect(admin.status).toBe(403);
    expect(admin.body).toMatch(/x-edgepass-error: CLIENT_CERT_REQUIRED/i);
    expect(admin.body).toContain("needs a client certificate");
    const ok = await curl(serve, "/admin/", alice);
    expect(ok).toMatchObject({ status: 200, body: `admin ${openssl(alice.cert, ["-subject", "-nameopt", "RFC2253"]).replace(/^subject=/, "")}` });
  });

  it("a certificate from another CA, an expired one and a revoked one: 400 CLIENT_CERT_INVALID on every route, OpenSSL's reason in the warning logged", async () => {
    const cases: Array<[{ cert: string; key: string }, string]> = [
      [otherCa.issue("/CN=eve"), "unable to verify the first certificate"],
      [ca.issue("/CN=late", { expired: true }), "certificate has expired"],
      [revoked, "certificate revoked"],
    ];
    for (const [cert, reason] of cases) {
      for (const url of ["/who", "/info.php"]) {
        const r = await curl(serve, url, cert, ["-D", "-"]);
        expect(r.status, `${reason} ${url}`).toBe(400);
        expect(r.body).toMatch(/x-edgepass-error: CLIENT_CERT_INVALID/i);
        expect(r.body).toContain("The client certificate was not accepted.");
      }
      await expect.poll(() => linesLike(serve.run.stderr, { code: "CLIENT_CERT_INVALID", status: 400 }).map((l) => String(l.detail)), { timeout: 5_000 }).toContainEqual(expect.stringContaining(reason));
    }
  });

  it("over HTTP/2 the same: the verified subject, and NONE without one", async () => {
    const r = await curl(serve, "/who", alice, ["--http2"]);
    expect(r.err).toMatch(/ALPN: server accepted h2|using HTTP\/2/);
    expect(r).toMatchObject({ status: 200 });
    expect(r.body).toMatch(/^SUCCESS\|CN=alice,/);
    expect((await curl(serve, "/admin/", null, ["--http2"])).status).toBe(403);
  });

  it("an HTTP origin (gunicorn) hears X-SSL-Client-*; a client's own X-SSL-Client-Verify and -S-DN are replaced, never passed", async () => {
    const spoof = ["-H", "X-SSL-Client-Verify: SUCCESS", "-H", "X-SSL-Client-S-DN: CN=admin"];
    const withCert = JSON.parse((await curl(serve, "/app/x", alice, spoof)).body);
    expect(withCert).toMatchObject({
      HTTP_X_SSL_CLIENT_VERIFY: "SUCCESS",
      HTTP_X_SSL_CLIENT_S_DN: openssl(alice.cert, ["-subject", "-nameopt", "RFC2253"]).replace(/^subject=/, ""),
      HTTP_X_SSL_CLIENT_I_DN: "CN=Test CA",
      HTTP_X_SSL_CLIENT_SERIAL: openssl(alice.cert, ["-serial"]).replace(/^serial=/, ""),
    });
    const spoofed = JSON.parse((await curl(serve, "/app/x", null, spoof)).body);
    expect(spoofed.HTTP_X_SSL_CLIENT_VERIFY).toBe("NONE");
    expect(spoofed.HTTP_X_SSL_CLIENT_S_DN).toBeUndefined();
  });
});

describe('verify_client = "on", TLSv1.2 only, one cipher', () => {
  let serve: Dev;
  const keys = 'client_ca = "tls/clients.pem"\ntls_protocols = ["TLSv1.2"]\ntls_ciphers = "ECDHE-RSA-AES128-GCM-SHA256"';
  beforeAll(async () => {
    serve = await startServe(site(keys), files());
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it("no certificate: 400 CLIENT_CERT_REQUIRED on every route and the admin path, as nginx answers one that sent none", async () => {
    for (const url of ["/who", "/info.php", "/app/x", "/_pools"]) {
      const r = await curl(serve, url, null, ["-D", "-"]);
      expect(r.status, url).toBe(400);
      expect(r.body).toMatch(/x-edgepass-error: CLIENT_CERT_REQUIRED/i);
      expect(r.body).toContain("This server needs a client certificate");
    }
    // The pool statistics too; a verified client gets them.
    expect(JSON.parse((await curl(serve, "/_pools", alice)).body)).toHaveProperty("upstreams");
  });

  it("a verified certificate on TLSv1.2 with the one cipher: php-fpm hears both; a client that offers only TLSv1.3 does not get through the handshake", async () => {
    const r = await curl(serve, "/info.php", alice);
    expect(r.tls).toBe("TLSv1.2 / ECDHE-RSA-AES128-GCM-SHA256");
    expect(JSON.parse(r.body).server).toMatchObject({ SSL_PROTOCOL: "TLSv1.2", SSL_CIPHER: "ECDHE-RSA-AES128-GCM-SHA256", SSL_CLIENT_VERIFY: "SUCCESS" });
    const v13 = await curl(serve, "/who", alice, ["--tlsv1.3"]);
    expect(v13.code).not.toBe(0);
    expect(v13.status).toBe(0);
    const otherCipher = await curl(serve, "/who", alice, ["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"]);
    expect(otherCipher.code).not.toBe(0);
  });

  it("SIGHUP reads client_ca again (a CA taken out refuses its clients on new connections); turning client_ca off is refused, the running config kept", async () => {
    writeFileSync(path.join(serve.dir, "tls/clients.pem"), otherCa.cert);
    process.kill(serve.run.child.pid!, "SIGHUP");
    await expect.poll(() => serve.run.stdout, { timeout: 10_000 }).toMatch(/reloaded config/);
    expect((await curl(serve, "/who", alice)).status).toBe(400);
    writeFileSync(path.join(serve.dir, "tls/clients.pem"), ca.cert);
    writeFileSync(path.join(serve.dir, "site.toml"), site('tls_protocols = ["TLSv1.2"]'));
    process.kill(serve.run.child.pid!, "SIGHUP");
    await expect.poll(() => serve.run.stderr, { timeout: 10_000 }).toMatch(/\[serve\] client_ca cannot be turned off by a reload; restart edgepass serve for that.*keeping the running config/);
    expect((await curl(serve, "/who", null)).status).toBe(400);
  });
});

describe("settings that cannot work stop the command, naming the key", () => {
  it.each([
    ["a client_ca file that does not exist", 'client_ca = "tls/none.pem"', /\[serve\] client_ca: cannot read the CA file .*tls\/none\.pem: ENOENT/],
    ["a client_ca file with no certificate", 'client_ca = "tls/key.pem"', /\[serve\] client_ca: .*tls\/key\.pem holds no PEM certificate/],
    ["a cipher list OpenSSL does not know", 'tls_ciphers = "NOT-A-CIPHER"', /\[serve\] tls_ciphers: OpenSSL knows none of "NOT-A-CIPHER"/],
  ])("%s", async (_what, keys, message) => {
    const dir = mkdtempSync(path.join(tmpdir(), "edgepass-mtls-"));
    try {
      for (const [name, text] of Object.entries(files())) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), text);
      }
      writeFileSync(path.join(dir, "site.toml"), site(keys));
      const run = edgepass(["serve", "--config", "site.toml", "--port", "0"], dir);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toMatch(message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
