// [serve]'s TLS keys: the certificates (tls), the versions and ciphers offered, and the
// client certificates asked for. nginx's ssl_* names are accepted as hints.
import type { Checker, Table } from "./checker.js";
import type { ServeSettings, TlsVersion } from "./types.js";

export const TLS_KEYS = ["tls_protocols", "tls_ciphers", "client_ca", "verify_client", "client_crl"] as const;
export const TLS_ALIASES: Record<string, string> = {
  ssl_protocols: "tls_protocols",
  ssl_ciphers: "tls_ciphers",
  ssl_client_certificate: "client_ca",
  ssl_verify_client: "verify_client",
  ssl_crl: "client_crl",
};

const VERSIONS: readonly TlsVersion[] = ["TLSv1.2", "TLSv1.3"];
const PROTOCOLS_EXPECTED = 'a list of TLS versions, e.g. ["TLSv1.2", "TLSv1.3"] (or "TLSv1.2 TLSv1.3", as nginx writes it)';

export function checkTlsSettings(c: Checker, at: string[], t: Table, s: ServeSettings, baseDir?: string): void {
  if (t.tls !== undefined) s.tls = checkTls(c, [...at, "tls"], t.tls, baseDir);
  for (const key of TLS_KEYS) {
    if (t[key] !== undefined && !s.tls) {
      c.fail([...at, key], "tls as well: it is a setting of the TLS listener", { hint: 'add tls = { cert = "cert.pem", key = "key.pem" }' });
    }
  }
  if (t.tls_protocols !== undefined) s.tlsProtocols = checkProtocols(c, [...at, "tls_protocols"], t.tls_protocols);
  if (t.tls_ciphers !== undefined) {
    // Whether OpenSSL knows them is learned where the TLS context is made (a Node host).
    const v = c.string([...at, "tls_ciphers"], t.tls_ciphers, 'an OpenSSL cipher list, e.g. "ECDHE+AESGCM:ECDHE+CHACHA20"');
    if (v.trim() === "") c.fail([...at, "tls_ciphers"], "an OpenSSL cipher list", { got: v });
    s.tlsCiphers = v.trim();
  }
  const file = (key: string) => {
    const v = c.string([...at, key], t[key], "a PEM file path");
    if (v.trim() === "") c.fail([...at, key], "a PEM file path", { got: v });
    return besideConfig(v, baseDir);
  };
  if (t.client_ca !== undefined) {
    s.clientCerts = { ca: file("client_ca"), verify: "on" };
    if (t.client_crl !== undefined) s.clientCerts.crl = file("client_crl");
  }
  if (t.verify_client !== undefined) {
    const expected = '"on" (every request needs a verified client certificate) or "optional" (routes with require_client_cert do)';
    const v = t.verify_client === true ? "on" : t.verify_client;
    if (v === "off" || v === false) {
      if (s.clientCerts) c.fail([...at, "verify_client"], expected, { got: t.verify_client, problem: "client_ca is set; remove both to ask for no certificate" });
    } else if (v !== "on" && v !== "optional") {
      c.fail([...at, "verify_client"], expected, { got: t.verify_client, hint: v === "optional_no_ca" ? "a certificate that fails verification is refused; there is no optional_no_ca" : undefined });
    } else if (!s.clientCerts) {
      c.fail([...at, "verify_client"], "client_ca as well: the CA certificates (PEM) that issue the clients' certificates", { got: t.verify_client });
    } else s.clientCerts.verify = v;
  }
  if (t.client_crl !== undefined && !s.clientCerts) {
    c.fail([...at, "client_crl"], "client_ca as well: a revocation list applies to the client certificates it verifies");
  }
}

function checkProtocols(c: Checker, at: string[], raw: unknown): { min: TlsVersion; max: TlsVersion } {
  const list = typeof raw === "string" ? raw.trim().split(/\s+/) : raw;
  if (!Array.isArray(list) || list.length === 0) c.fail(at, PROTOCOLS_EXPECTED, { got: raw });
  const picked = list.map((v, i) => {
    if (typeof v !== "string" || !VERSIONS.includes(v as TlsVersion)) {
      const old = typeof v === "string" && /^(SSLv[23]|TLSv1(\.[01])?)$/.test(v);
      c.fail(typeof raw === "string" ? at : [...at, i], `${PROTOCOLS_EXPECTED}: only TLSv1.2 and TLSv1.3`, {
        got: v,
        problem: old ? `${v} is broken and refused by today's browsers and OpenSSL's default security level` : undefined,
      });
    }
    return VERSIONS.indexOf(v as TlsVersion);
  });
  const min = Math.min(...picked);
  const max = Math.max(...picked);
  return { min: VERSIONS[min], max: VERSIONS[max] };
}

/** Only the paths: the files are read where the listener starts (a Node host), and a file
 *  that cannot be read is refused there as a config error too. One pair, or a list of them
 *  (one certificate per site, chosen by SNI; the first for a client that names none of them). */
function checkTls(c: Checker, at: string[], raw: unknown, baseDir?: string): Array<{ cert: string; key: string }> {
  const expected = 'a table: tls = { cert = "cert.pem", key = "key.pem" }, or a list of them';
  if (!Array.isArray(raw)) return [checkPair(c, at, raw, expected, baseDir)];
  if (raw.length === 0) c.fail(at, expected, { got: raw });
  return raw.map((pair, i) => checkPair(c, [...at, i], pair, expected, baseDir));
}

function checkPair(c: Checker, at: Array<string | number>, raw: unknown, expected: string, baseDir?: string): { cert: string; key: string } {
  const t = c.table(at, raw, expected);
  c.onlyKeys(at, t, ["cert", "key"], { certificate: "cert", ssl_certificate: "cert", ssl_certificate_key: "key" });
  const file = (key: "cert" | "key"): string => {
    if (t[key] === undefined) c.fail([...at, key], `a PEM file path (tls needs both cert and key)`);
    const v = c.string([...at, key], t[key], "a PEM file path");
    if (v.trim() === "") c.fail([...at, key], "a PEM file path", { got: v });
    return besideConfig(v, baseDir);
  };
  return { cert: file("cert"), key: file("key") };
}


/** A relative path is the config file's folder's (left relative, to the working directory,
 *  without one). */
export function besideConfig(v: string, baseDir?: string): string {
  if (v.startsWith("/") || baseDir === undefined) return v;
  return `${baseDir.replace(/\/+$/, "")}/${v}`;
}

