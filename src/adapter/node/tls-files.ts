// The PEM files of [serve] tls, read when the server starts and again on each reload (SIGHUP),
// so a renewed certificate is picked up without a restart. A file that cannot be read, or a
// pair that does not make a TLS context, is a config error like any other. With several pairs
// a client gets the certificate whose names match the server name it asks for (SNI), as nginx
// picks a server block by server_name; the first pair is for a client that names none of them.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { ServeSettings } from "../../config/types.js";
import { Codes, GatewayError } from "../../core/errors.js";

/** What a TLS context is made of: the site's pair and the settings every context shares. */
export interface TlsFiles extends tls.SecureContextOptions {
  cert: Buffer;
  key: Buffer;
}

export interface TlsSet {
  /** The first pair and the shared settings: the listener's own context, for a client that
   *  names no other. */
  first: TlsFiles;
  /** The context for `servername` (SNI), or undefined for the first pair's. */
  forName(servername: string): tls.SecureContext | undefined;
}

export function readTlsFiles(settings: ServeSettings, source: string): TlsSet | GatewayError | undefined {
  if (!settings.tls) return undefined;
  const invalid = (what: string) => new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] ${what}`);
  const read = (key: string, what: string, path: string): Buffer | GatewayError => {
    try {
      return readFileSync(path);
    } catch (e) {
      return invalid(`${key}: cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  // Every context gets these: verification after SNI picked a site uses that site's context.
  const shared: tls.SecureContextOptions = {};
  if (settings.tlsProtocols) [shared.minVersion, shared.maxVersion] = [settings.tlsProtocols.min, settings.tlsProtocols.max];
  if (settings.tlsCiphers) shared.ciphers = settings.tlsCiphers;
  const certs = settings.clientCerts;
  if (certs) {
    const ca = read("client_ca", "CA", certs.ca);
    if (ca instanceof GatewayError) return ca;
    const found = ca.toString("latin1").match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    try {
      for (const pem of found) new X509Certificate(pem);
    } catch (e) {
      return invalid(`client_ca: ${certs.ca} holds a certificate that does not parse: ${(e as Error).message}`);
    }
    if (found.length === 0) return invalid(`client_ca: ${certs.ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    shared.ca = ca;
    if (certs.crl) {
      const crl = read("client_crl", "revocation list", certs.crl);
      if (crl instanceof GatewayError) return crl;
      shared.crl = crl;
    }
  }
  const sites: Array<{ x509: X509Certificate; context: tls.SecureContext }> = [];
  let first: TlsFiles | undefined;
  for (const t of settings.tls) {
    const cert = read("tls", "cert", t.cert);
    if (cert instanceof GatewayError) return cert;
    const key = read("tls", "key", t.key);
    if (key instanceof GatewayError) return key;
    const files: TlsFiles = { ...shared, cert, key };
    try {
      sites.push({ context: tls.createSecureContext(files), x509: new X509Certificate(cert) });
    } catch (e) {
      return invalid(contextProblem(e as Error, t, settings));
    }
    first ??= files;
  }
  // One pair needs no choosing; with more, the first whose names (subjectAltName, else the
  // subject's CN; a wildcard covers one label) match what the client asked for.
  const forName = (servername: string) => (sites.length > 1 ? sites.find((s) => s.x509.checkHost(servername) !== undefined)?.context : undefined);
  return { first: first!, forName };
}

/** Which setting OpenSSL refused: the cipher list, the revocation list or the pair. */
function contextProblem(e: Error, pair: { cert: string; key: string }, settings: ServeSettings): string {
  const m = e.message;
  if (settings.tlsCiphers && /cipher/i.test(m)) return `tls_ciphers: OpenSSL knows none of ${JSON.stringify(settings.tlsCiphers)}: ${m}`;
  if (settings.clientCerts?.crl && /crl/i.test(m)) return `client_crl: ${settings.clientCerts.crl} is not a PEM revocation list: ${m}`;
  return `tls: ${pair.cert} and ${pair.key} do not make a TLS certificate and its key: ${m}`;
}
