// Flag parsing shared by the commands: strict (an unknown flag is a usage error, exit 2).
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig } from "../../../config/load.js";
import type { ConfigHost, GatewayConfig } from "../../../config/types.js";
import { DEFAULT_HOST, DEFAULT_PORT } from "../listen-defaults.js";

/** Bad command line: main prints the message and the usage, exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit code for a config or command-line mistake (before anything started). */
export const EXIT_USAGE = 2;
/** Exit code for a failure while starting or running (port in use, bundling failed…). */
export const EXIT_FAILURE = 1;

type Options = NonNullable<ParseArgsConfig["options"]>;

export const listenOptions = {
  port: { type: "string" },
  host: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // node's messages name the flag and say what is wrong ("Unknown option '--x'").
    throw new UsageError((err as Error).message);
  }
}

export function parsePort(value: string | undefined, flag = "--port"): number {
  if (value === undefined) return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag} expects a number from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

export function parseHost(value: string | undefined): string {
  if (value === undefined) return DEFAULT_HOST;
  if (value === "" || /[\s/]/.test(value)) throw new UsageError(`--host expects an address, got "${value}"`);
  return value;
}

/** Reads FILE and validates it for `host` before anything starts: its text and what it
 *  loads to; prints what is wrong and returns null when it cannot be read or does not
 *  validate (the caller exits 2). */
export function readValidConfig(file: string, host: ConfigHost): { text: string; config: GatewayConfig } | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    process.stderr.write(`edgepass: cannot read config ${file}: ${(err as Error).message}\n`);
    return null;
  }
  try {
    return { text, config: loadConfig(text, file, path.dirname(path.resolve(file)), host, readText) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return null;
  }
}

/** How the server host reads the files a config names (auth_basic's user_file). */
export const readText = (p: string): string => readFileSync(p, "utf8");
