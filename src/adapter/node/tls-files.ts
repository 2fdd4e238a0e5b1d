// The PEM files of [serve] tls, read when the server starts and again on each reload (SIGHUP),
// so a renewed certificate is picked up without a restart. A file that cannot be read, or a
// pair that does not make a TLS context, is a config error like any other.
import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { ServeSettings } from "../../config/types.js";
import { Codes, GatewayError } from "../../core/errors.js";

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export function readTlsFiles(settings: ServeSettings, source: string): TlsFiles | GatewayError | undefined {
  const t = settings.tls;
  if (!t) return undefined;
  const invalid = (what: string) => new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] tls: ${what}`);
  const files: Partial<TlsFiles> = {};
  for (const k of ["cert", "key"] as const) {
    try {
      files[k] = readFileSync(t[k]);
    } catch (e) {
      return invalid(`cannot read the ${k} file ${t[k]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  try {
    tls.createSecureContext(files);
  } catch (e) {
    return invalid(`${t.cert} and ${t.key} do not make a TLS certificate and its key: ${(e as Error).message}`);
  }
  return files as TlsFiles;
}
