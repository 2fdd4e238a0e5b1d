// What `edgepass serve` reads beside its config, at the start and on each reload (the TLS
// files, body_temp's directory), and `edgepass check` reads the same way: a problem there is
// a config error like any other.
import type { ServeSettings } from "../../config/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import { checkSpoolDir } from "./body-spool.js";
import { readTlsFiles, type TlsSet } from "./tls-files.js";

export function readStartFiles(s: ServeSettings, source: string): TlsSet | undefined | GatewayError {
  const files = readTlsFiles(s, source);
  if (files instanceof GatewayError) return files;
  const unwritable = s.bodyTemp === undefined ? null : checkSpoolDir(s.bodyTemp);
  if (unwritable !== null) return new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] body_temp: ${unwritable}`);
  return files;
}
