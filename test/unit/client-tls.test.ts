// The client's TLS connection as the gateway tells it: names in RFC 2253's form as OpenSSL
// writes them (checked against the openssl command on certificates made for the test),
// Cloudflare's mTLS fields read the same way, the refusals, and what apps receive.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { rfc2253 } from "../../src/adapter/node/client-tls.js";
import { clientTlsFromCf, listenerRefusal, routeRefusal, tlsHeaders, tlsParams, type ClientTls } from "../../src/core/client-tls.js";
import type { ForwardRequest } from "../../src/core/exchange.js";
import { requestHeaders } from "../../src/protocol/http/request-head.js";

/** A self-signed certificate whose subject is `subject` (openssl -subj, multi-valued RDNs on). */
function certFor(subject: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "edgepass-dn-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-utf8", "-multivalue-rdn", "-subj", subject, "-days", "1", "-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem")], { stdio: "pipe" });
    return readFileSync(path.join(dir, "c.pem"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("rfc2253: a certificate's name as OpenSSL's RFC 2253 form writes it", () => {
  it.each([
    ["/CN=alice"],
    ["/C=DE/O=Example/OU=ops/CN=alice"],
    ["/O=Acme, Inc./CN=a\\+b"],
    ["/CN=x;y<z>\"q\"=#h\\\\back"],
    ["/C=CH/O=Zürich Straße/CN=日本"],
    ["/O=A+OU=B/CN=bob"],
    ["/DC=org/DC=example/UID=42/emailAddress=a@example.org/CN= padded "],
  ])("%s", (subject) => {
    const cert = certFor(subject);
    const openssl = execFileSync("openssl", ["x509", "-noout", "-subject", "-nameopt", "RFC2253"], { input: cert, encoding: "utf8" }).trim().replace(/^subject=/, "");
    expect(rfc2253(new X509Certificate(cert).subject)).toBe(openssl);
  });
});

describe("Cloudflare's mTLS fields (request.cf)", () => {
  const auth = {
    certPresented: "1",
    certVerified: "SUCCESS",
    certRevoked: "0",
    certSubjectDNRFC2253: "CN=alice,O=Example",
    certIssuerDNRFC2253: "CN=Example CA",
    certSerial: "0a1b",
    certFingerprintSHA1: "6B9109F323999E52259CDA7373FF0B4D26BD232E",
    certNotBefore: "Dec 22 19:39:00 2018 GMT",
    certNotAfter: "Dec 22 19:39:00 2028 GMT",
  };
  const cf = (tlsClientAuth?: object) => ({ tlsVersion: "TLSv1.3", tlsCipher: "AEAD-AES128-GCM-SHA256", tlsClientAuth });

  it("a verified certificate: its facts, the serial upper-case and the fingerprint lower-case as nginx writes them", () => {
    expect(clientTlsFromCf(cf(auth), true)).toEqual({
      protocol: "TLSv1.3",
      cipher: "AEAD-AES128-GCM-SHA256",
      verify: "SUCCESS",
      cert: { subject: "CN=alice,O=Example", issuer: "CN=Example CA", serial: "0A1B", fingerprint: "6b9109f323999e52259cda7373ff0b4d26bd232e", notBefore: "Dec 22 19:39:00 2018 GMT", notAfter: "Dec 22 19:39:00 2028 GMT" },
    });
  });

  it("a revoked certificate, which Cloudflare calls SUCCESS with certRevoked 1, fails here", () => {
    const t = clientTlsFromCf(cf({ ...auth, certRevoked: "1" }), true)!;
    expect(t).toMatchObject({ verify: "FAILED:certificate revoked" });
    expect(t.cert).toBeUndefined();
    expect(routeRefusal(t, "/admin/")?.code).toBe("CLIENT_CERT_INVALID");
  });

  it("none sent, none asked for, and plain HTTP", () => {
    expect(clientTlsFromCf(cf({ certPresented: "0", certVerified: "NONE" }), true)).toEqual({ protocol: "TLSv1.3", cipher: "AEAD-AES128-GCM-SHA256", verify: "NONE" });
    expect(clientTlsFromCf(cf(), true)).toEqual({ protocol: "TLSv1.3", cipher: "AEAD-AES128-GCM-SHA256" });
    expect(clientTlsFromCf(cf(auth), false)).toBeUndefined();
    expect(clientTlsFromCf(undefined, true)).toBeUndefined();
  });
});

describe("the refusals", () => {
  const base = { protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" };
  it.each<[string, ClientTls | undefined, string | null, string | null]>([
    ["plain HTTP", undefined, null, "CLIENT_CERT_REQUIRED 403"],
    ["TLS, no certificates asked for", base, null, "CLIENT_CERT_REQUIRED 403"],
    ['"on", none sent', { ...base, mode: "on", verify: "NONE" }, "CLIENT_CERT_REQUIRED 400", "CLIENT_CERT_REQUIRED 403"],
    ['"optional", none sent', { ...base, mode: "optional", verify: "NONE" }, null, "CLIENT_CERT_REQUIRED 403"],
    ['"optional", a bad one', { ...base, mode: "optional", verify: "FAILED:certificate has expired" }, "CLIENT_CERT_INVALID 400", "CLIENT_CERT_INVALID 400"],
    ['"on", verified', { ...base, mode: "on", verify: "SUCCESS" }, null, null],
    ["the edge (no mode), a bad one: only routes that ask look", { ...base, verify: "FAILED:x" }, null, "CLIENT_CERT_INVALID 400"],
  ])("%s", (_what, tls, listener, route) => {
    const text = (e: { code: string; status: number } | null) => (e ? `${e.code} ${e.status}` : null);
    expect(text(listenerRefusal(tls))).toBe(listener);
    expect(text(routeRefusal(tls, "/admin/"))).toBe(route);
  });
});

describe("what apps are told", () => {
  const cert = { subject: "CN=alice", issuer: "CN=CA", serial: "1000", fingerprint: "ab", notBefore: "a", notAfter: "b" };
  it("SSL_PROTOCOL and SSL_CIPHER always; SSL_CLIENT_VERIFY where certificates are asked for; the certificate once verified", () => {
    const base = { protocol: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256" };
    expect(tlsParams(base)).toEqual([
      ["SSL_PROTOCOL", "TLSv1.2"],
      ["SSL_CIPHER", "ECDHE-RSA-AES128-GCM-SHA256"],
    ]);
    expect(tlsParams({ ...base, verify: "NONE" }).map(([k]) => k)).toEqual(["SSL_PROTOCOL", "SSL_CIPHER", "SSL_CLIENT_VERIFY"]);
    expect(Object.fromEntries(tlsParams({ ...base, verify: "SUCCESS", cert }))).toMatchObject({ SSL_CLIENT_S_DN: "CN=alice", SSL_CLIENT_I_DN: "CN=CA", SSL_CLIENT_M_SERIAL: "1000", SSL_CLIENT_FINGERPRINT: "ab", SSL_CLIENT_V_START: "a", SSL_CLIENT_V_END: "b" });
    expect(tlsHeaders(base)).toEqual([]);
  });

  it("an HTTP origin: the client's own X-SSL-Client-* fields go where the gateway asks for certificates, and stay where it does not", () => {
    const headers: Array<[string, string]> = [
      ["X-SSL-Client-Verify", "SUCCESS"],
      ["x-ssl-client-s-dn", "CN=root"],
      ["accept", "*/*"],
    ];
    const req = (tls?: ClientTls) => ({ method: "GET", target: "/", scheme: "https", headers, tls }) as unknown as ForwardRequest;
    const asked = requestHeaders(req({ protocol: "TLSv1.3", cipher: "c", verify: "NONE" }), {});
    expect(asked.filter(([n]) => /^x-ssl-client-/i.test(n))).toEqual([["X-SSL-Client-Verify", "NONE"]]);
    const verified = requestHeaders(req({ protocol: "TLSv1.3", cipher: "c", verify: "SUCCESS", cert }), {});
    expect(Object.fromEntries(verified.filter(([n]) => /^x-ssl-client-/i.test(n)))).toEqual({
      "X-SSL-Client-Verify": "SUCCESS",
      "X-SSL-Client-S-DN": "CN=alice",
      "X-SSL-Client-I-DN": "CN=CA",
      "X-SSL-Client-Serial": "1000",
      "X-SSL-Client-Fingerprint": "ab",
      "X-SSL-Client-V-Start": "a",
      "X-SSL-Client-V-End": "b",
    });
    const notAsked = requestHeaders(req({ protocol: "TLSv1.3", cipher: "c" }), {});
    expect(notAsked.filter(([n]) => /^x-ssl-client-/i.test(n))).toEqual(headers.slice(0, 2));
  });
});
