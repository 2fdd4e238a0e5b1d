// What `edgepass serve` reads beside its config, at the start and on each reload (the TLS
// files, body_temp's and response_temp's directories), and `edgepass check` reads the same
// way: a problem there is a config error like any other.
import type { ServeSettings } from "../../config/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import { checkSpoolDir } from "./body-spool.js";
import { readTlsFiles, type TlsSet } from "./tls-files.js";

export function readStartFiles(s: ServeSettings, source: string): TlsSet | undefined | GatewayError {
  const files = readTlsFiles(s, source);
  if (files instanceof GatewayError) return files;
  for (const [key, dir] of [["body_temp", s.bodyTemp], ["response_temp", s.responseTemp]] as const) {
    const unwritable = dir === undefined ? null : checkSpoolDir(dir);
    if (unwritable !== null) return new GatewayError(Codes.CONFIG_INVALID, 500, `${source}: [serve] ${key}: ${unwritable}`);
  }
  return files;
}
