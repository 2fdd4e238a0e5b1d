// The Worker entry's own duties: the config comes from EDGEPASS_CONFIG when set (else the
// bundled default), and a config that does not validate answers 500 with the validation
// message rather than failing silently.
import { describe, expect, inject, it } from "vitest";
import wasm from "../../wasm/build/edgepass.wasm";
import { handle } from "../../src/adapter/cloudflare/handler.js";

const rogue = inject("roguePort");
const php = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${inject("phpPort")}"]\n[[routes]]\nmatch = "/"\nupstream = "php"\nroot = "${inject("phpRoot")}"\n`;
const good = `[upstreams.app]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${rogue}"]\n[[routes]]\nmatch = "/"\nupstream = "app"\n`;

describe("Worker entry", () => {
  it("serves with EDGEPASS_CONFIG, and REMOTE_ADDR comes from CF-Connecting-IP", async () => {
    const res = await handle(new Request("https://site.test/info.php", { headers: { "cf-connecting-ip": "198.51.100.9" } }), { EDGEPASS_CONFIG: php }, wasm, "");
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j.server).toMatchObject({ REMOTE_ADDR: "198.51.100.9", HTTPS: "on", REQUEST_SCHEME: "https", SERVER_PORT: "443" });
  });

  it("Cloudflare's mTLS fields (request.cf.tlsClientAuth) reach php-fpm as SSL_*; a route with require_client_cert refuses a request without a verified certificate", async () => {
    const site = php.replace('[[routes]]', '[[routes]]\nmatch = "/admin/"\nrequire_client_cert = true\nreturn = "200 admin $ssl_client_s_dn"\n[[routes]]');
    const auth = { certPresented: "1", certVerified: "SUCCESS", certRevoked: "0", certSubjectDNRFC2253: "CN=alice,O=Example", certIssuerDNRFC2253: "CN=Example CA", certSerial: "1000", certFingerprintSHA1: "ab", certNotBefore: "Dec 22 19:39:00 2018 GMT", certNotAfter: "Dec 22 19:39:00 2028 GMT" };
    const cf = (tlsClientAuth: object) => ({ tlsVersion: "TLSv1.3", tlsCipher: "AEAD-AES128-GCM-SHA256", tlsClientAuth });
    const get = (path: string, c: object) => handle(new Request(`https://site.test${path}`, { cf: c } as RequestInit), { EDGEPASS_CONFIG: site }, wasm, "");
    const info: any = await (await get("/info.php", cf(auth))).json();
    expect(info.server).toMatchObject({ SSL_PROTOCOL: "TLSv1.3", SSL_CIPHER: "AEAD-AES128-GCM-SHA256", SSL_CLIENT_VERIFY: "SUCCESS", SSL_CLIENT_S_DN: "CN=alice,O=Example", SSL_CLIENT_I_DN: "CN=Example CA", SSL_CLIENT_M_SERIAL: "1000" });
    const ok = await get("/admin/", cf(auth));
    expect([ok.status, await ok.text()]).toEqual([200, "admin CN=alice,O=Example"]);
    const none = await get("/admin/", cf({ certPresented: "0", certVerified: "NONE" }));
    expect([none.status, none.headers.get("x-edgepass-error")]).toEqual([403, "CLIENT_CERT_REQUIRED"]);
    await none.arrayBuffer();
    const revoked = await get("/admin/", cf({ ...auth, certRevoked: "1" }));
    expect([revoked.status, revoked.headers.get("x-edgepass-error")]).toEqual([400, "CLIENT_CERT_INVALID"]);
    await revoked.arrayBuffer();
  });

  it("an invalid config answers 500 with the file, key and expectation", async () => {
    const res = await handle(new Request("https://site.test/"), { EDGEPASS_CONFIG: good.replace('upstream = "app"', 'upstream = "nope"'), EDGEPASS_CONFIG_SOURCE: "prod.toml" }, wasm, "");
    expect(res.status).toBe(500);
    expect(res.headers.get("x-edgepass-error")).toBe("CONFIG_INVALID");
    const text = await res.text();
    expect(text).toContain("prod.toml");
    expect(text).toContain("upstream");
  });

  it("without EDGEPASS_CONFIG the bundled default is used", async () => {
    const res = await handle(new Request("https://site.test/ok"), {}, wasm, good);
    expect(res.status).toBe(200);
  });
});
