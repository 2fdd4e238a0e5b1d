// The client's side of a TLS connection as the gateway tells it to apps (core/client-tls.ts):
// read once per connection, from the socket Node's TLS layer verified.
import type { X509Certificate } from "node:crypto";
import type net from "node:net";
import tls from "node:tls";
import type { ServeSettings } from "../../config/types.js";
import type { ClientCert, ClientTls } from "../../core/client-tls.js";
import { escapeBytes } from "../../edge/uri.js";

/** The connection's TLS facts, or undefined on a plain connection. */
export function clientTlsOf(sock: net.Socket, certs: ServeSettings["clientCerts"]): ClientTls | undefined {
  if (!(sock instanceof tls.TLSSocket)) return undefined;
  const t: ClientTls = { protocol: sock.getProtocol() ?? "", cipher: sock.getCipher()?.name ?? "" };
  if (!certs) return t;
  t.mode = certs.verify;
  // The listener asks with rejectUnauthorized off, so a bad certificate reaches HTTP and is
  // answered there with a status that says so, as nginx does, not a failed handshake.
  const x509 = sock.getPeerX509Certificate();
  if (!x509) t.verify = "NONE";
  else if (!sock.authorized) t.verify = `FAILED:${verifyReason(sock.authorizationError)}`;
  else {
    t.verify = "SUCCESS";
    t.cert = certFacts(x509);
  }
  return t;
}

/** OpenSSL's words for the failures a client certificate meets, as nginx's $ssl_client_verify
 *  carries them ("FAILED:certificate has expired"); Node gives only the code. */
const REASONS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
  UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  CERT_REVOKED: "certificate revoked",
  CERT_SIGNATURE_FAILURE: "certificate signature failure",
  UNABLE_TO_GET_CRL: "unable to get certificate CRL",
  CRL_HAS_EXPIRED: "CRL has expired",
  CRL_NOT_YET_VALID: "CRL is not yet valid",
  INVALID_PURPOSE: "unsupported certificate purpose",
  CERT_UNTRUSTED: "certificate not trusted",
  CERT_REJECTED: "certificate rejected",
};

function verifyReason(code: unknown): string {
  const c = String(code ?? "unknown");
  return REASONS[c] ?? c.toLowerCase().replace(/_/g, " ");
}

function certFacts(x: X509Certificate): ClientCert {
  return {
    subject: rfc2253(x.subject),
    issuer: rfc2253(x.issuer),
    serial: x.serialNumber.toUpperCase(),
    fingerprint: x.fingerprint.replace(/:/g, "").toLowerCase(),
    notBefore: x.validFrom,
    notAfter: x.validTo,
  };
}

/** A name as Node prints it (one RDN a line, the certificate's order, "A + B" within a
 *  multi-valued one, RFC 2253's escapes, UTF-8 as is) in RFC 2253's form, as OpenSSL's
 *  XN_FLAG_RFC2253 (and so nginx) writes it: the order reversed, "," between RDNs, "+" within,
 *  and every byte outside printable ASCII as \XX so the value fits any header or variable. */
export function rfc2253(nodeText: string): string {
  const rdns = nodeText.split("\n").filter((line) => line !== "");
  // OpenSSL walks the entries from the last: within a multi-valued RDN too.
  return rdns
    .reverse()
    .map((line) => line.split(/(?<!\\) \+ /).reverse().map(escapeNonAscii).join("+"))
    .join(",");
}

/** Every byte outside printable ASCII as \XX (OpenSSL's ASN1_STRFLGS_ESC_MSB and _CTRL). */
const escapeNonAscii = (s: string) => escapeBytes(s, /[^\x20-\x7e]/, (b) => b < 0x20 || b > 0x7e, "\\");
