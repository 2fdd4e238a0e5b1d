// What the client's TLS connection showed, and what the gateway makes of it: the checks a
// client certificate must pass (nginx's ssl_verify_client), and the facts an app is told (the
// SSL_* CGI variables Apache's mod_ssl and nginx's fastcgi_param recipes pass, and
// X-SSL-Client-* headers for an HTTP origin). The host fills it: `edgepass serve` from its TLS
// socket, the Worker from Cloudflare's mTLS fields (request.cf.tlsClientAuth).
import { Codes, GatewayError } from "./errors.js";

export interface ClientTls {
  /** "TLSv1.3", "TLSv1.2" (nginx's $ssl_protocol). */
  protocol: string;
  /** The cipher's OpenSSL name, e.g. "TLS_AES_256_GCM_SHA384" (nginx's $ssl_cipher). */
  cipher: string;
  /** Set where the host asks clients for a certificate: "SUCCESS", "NONE" (none was sent) or
   *  "FAILED:<reason>" (nginx's $ssl_client_verify, Cloudflare's certVerified). */
  verify?: string;
  /** serve's verify_client: "on", every request needs a verified certificate; "optional",
   *  one that failed is refused and none is let through. Absent (the edge, where Cloudflare's
   *  mTLS settings decide): only routes with require_client_cert look. */
  mode?: "on" | "optional";
  /** The verified certificate (only with "SUCCESS"). */
  cert?: ClientCert;
}

export interface ClientCert {
  /** The subject and issuer as RFC 2253 writes them ("CN=alice,O=Example,C=DE"), as nginx's
   *  $ssl_client_s_dn and $ssl_client_i_dn do. */
  subject: string;
  issuer: string;
  /** Hex, upper-case (nginx's $ssl_client_serial). */
  serial: string;
  /** SHA-1 of the DER certificate, hex, lower-case (nginx's $ssl_client_fingerprint). */
  fingerprint: string;
  /** "Dec  2 06:28:28 2026 GMT", as OpenSSL prints the validity (nginx's $ssl_client_v_start). */
  notBefore: string;
  notAfter: string;
}

/** The refusal a request gets for its connection's certificate before any route is looked
 *  at, as nginx answers 400 there: one that failed verification (with verify_client "on" or
 *  "optional"), or none where "on" needs one. */
export function listenerRefusal(tls: ClientTls | undefined): GatewayError | null {
  if (tls?.mode === undefined || tls.verify === "SUCCESS" || tls.verify === undefined) return null;
  if (tls.verify !== "NONE") return invalid(tls.verify);
  if (tls.mode !== "on") return null;
  return new GatewayError(Codes.CLIENT_CERT_REQUIRED, 400, "This server needs a client certificate, and the connection sent none.", "verify_client on: no certificate");
}

/** A route with require_client_cert: anything but a verified certificate is refused. */
export function routeRefusal(tls: ClientTls | undefined, match: string): GatewayError | null {
  const verify = tls?.verify;
  if (verify === "SUCCESS") return null;
  if (verify !== undefined && verify !== "NONE") return invalid(verify);
  const why = verify === undefined ? "the listener does not ask for client certificates (no client_ca)" : "no certificate";
  return new GatewayError(Codes.CLIENT_CERT_REQUIRED, 403, "This path needs a client certificate, and the connection sent none.", `route ${match} requires a client certificate: ${why}`);
}

function invalid(verify: string): GatewayError {
  return new GatewayError(Codes.CLIENT_CERT_INVALID, 400, "The client certificate was not accepted.", verify);
}

/** A verified certificate's facts: mod_ssl's CGI name, then the X-SSL-Client-* field's. */
const CERT_FIELDS: ReadonlyArray<readonly [string, string, keyof ClientCert]> = [
  ["SSL_CLIENT_S_DN", "X-SSL-Client-S-DN", "subject"],
  ["SSL_CLIENT_I_DN", "X-SSL-Client-I-DN", "issuer"],
  ["SSL_CLIENT_M_SERIAL", "X-SSL-Client-Serial", "serial"],
  ["SSL_CLIENT_FINGERPRINT", "X-SSL-Client-Fingerprint", "fingerprint"],
  ["SSL_CLIENT_V_START", "X-SSL-Client-V-Start", "notBefore"],
  ["SSL_CLIENT_V_END", "X-SSL-Client-V-End", "notAfter"],
];

/** The verification result and, once verified, the certificate's facts, by one naming. */
function certFacts(verify: string, cert: ClientCert | undefined, name: 0 | 1, verifyName: string): Array<[string, string]> {
  const out: Array<[string, string]> = [[verifyName, verify]];
  if (cert) for (const f of CERT_FIELDS) out.push([f[name], cert[f[2]]]);
  return out;
}

/** The CGI variables of the connection, with mod_ssl's names (which PHP apps read from
 *  $_SERVER): the protocol and cipher always, the verification result where the host asks for
 *  certificates, and the certificate's facts once verified. */
export function tlsParams(tls: ClientTls): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ["SSL_PROTOCOL", tls.protocol],
    ["SSL_CIPHER", tls.cipher],
  ];
  if (tls.verify !== undefined) out.push(...certFacts(tls.verify, tls.cert, 0, "SSL_CLIENT_VERIFY"));
  return out;
}

/** Request fields an HTTP origin is told the client certificate by. */
export const TLS_HEADER_PREFIX = "x-ssl-client-";

/** The X-SSL-Client-* fields for an HTTP origin where the host asks for certificates (the
 *  client's own fields of these names are dropped then: see requestHeaders); none otherwise. */
export function tlsHeaders(tls: ClientTls | undefined): Array<[string, string]> {
  return tls?.verify === undefined ? [] : certFacts(tls.verify, tls.cert, 1, "X-SSL-Client-Verify");
}

/** Cloudflare's view of the client's TLS (request.cf): its version and cipher, and with mTLS
 *  on the hostname, the certificate Cloudflare checked (tlsClientAuth). A revoked certificate
 *  is "SUCCESS" there with certRevoked "1": here it fails. Nothing for a plain HTTP request. */
export function clientTlsFromCf(cf: Record<string, unknown> | undefined, https: boolean): ClientTls | undefined {
  if (!https || !cf || typeof cf.tlsVersion !== "string" || cf.tlsVersion === "") return undefined;
  const t: ClientTls = { protocol: cf.tlsVersion, cipher: typeof cf.tlsCipher === "string" ? cf.tlsCipher : "" };
  const auth = cf.tlsClientAuth as Record<string, string> | undefined;
  if (!auth || typeof auth.certVerified !== "string" || auth.certVerified === "") return t;
  t.verify = auth.certVerified === "SUCCESS" && auth.certRevoked === "1" ? "FAILED:certificate revoked" : auth.certVerified;
  if (t.verify === "SUCCESS") {
    t.cert = {
      subject: auth.certSubjectDNRFC2253 ?? "",
      issuer: auth.certIssuerDNRFC2253 ?? "",
      serial: (auth.certSerial ?? "").toUpperCase(),
      fingerprint: (auth.certFingerprintSHA1 ?? "").toLowerCase(),
      notBefore: auth.certNotBefore ?? "",
      notAfter: auth.certNotAfter ?? "",
    };
  }
  return t;
}
