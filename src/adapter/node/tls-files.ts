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

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export interface TlsSet {
  /** The first pair: the listener's own context, for a client that names no other. */
  first: TlsFiles;
  /** The context for `servername` (SNI), or undefined for the first pair's. */
  forName(servername: string): tls.SecureContext | undefined;
}

export function readTlsFiles(settings: ServeSettings, source: string): TlsSet | GatewayError | undefined {
  if (!settings.tls) return undefined;
  const invalid = (what: string) => new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] tls: ${what}`);
  const sites: Array<{ x509: X509Certificate; context: tls.SecureContext }> = [];
  let first: TlsFiles | undefined;
  for (const t of settings.tls) {
    const files: Partial<TlsFiles> = {};
    for (const k of ["cert", "key"] as const) {
      try {
        files[k] = readFileSync(t[k]);
      } catch (e) {
        return invalid(`cannot read the ${k} file ${t[k]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    try {
      sites.push({ context: tls.createSecureContext(files), x509: new X509Certificate(files.cert!) });
    } catch (e) {
      return invalid(`${t.cert} and ${t.key} do not make a TLS certificate and its key: ${(e as Error).message}`);
    }
    first ??= files as TlsFiles;
  }
  // One pair needs no choosing; with more, the first whose names (subjectAltName, else the
  // subject's CN; a wildcard covers one label) match what the client asked for.
  const forName = (servername: string) => (sites.length > 1 ? sites.find((s) => s.x509.checkHost(servername) !== undefined)?.context : undefined);
  return { first: first!, forName };
}
