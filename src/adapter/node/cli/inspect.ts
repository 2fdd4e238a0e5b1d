// `edgepass inspect FILE`: decode a capture of FastCGI, SCGI, uwsgi or HTTP/1.1 bytes (raw, hex,
// or a pcap from `tcpdump -w`) into a record-by-record listing with every framing error
// explained (src/inspect). FILE "-" reads standard input.
// Exit codes: 0 the capture frames cleanly, 1 it has framing errors, 2 bad command line or a
// file that cannot be read as a capture.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createCodec } from "../../../codec/index.js";
import { FramingError, inspectCapture, PROTOCOLS, renderText, type CaptureFormat, type Protocol } from "../../../inspect/index.js";
import { loadWasmModuleFromDisk } from "../wasm.js";
import { EXIT_USAGE, UsageError } from "./args.js";

const FORMATS: CaptureFormat[] = ["pcap", "hex", "raw"];
const SIDES = ["request", "response"] as const;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} expects one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}

export async function inspect(argv: string[]): Promise<number | "help"> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { protocol: { type: "string" }, as: { type: "string" }, format: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: flags, positionals } = parsed;
  if (flags.help) return "help";
  if (positionals.length !== 1) throw new UsageError("inspect takes one FILE (a pcap, hex text or raw bytes; - for standard input)");
  const opts = {
    protocol: oneOf<Protocol>("protocol", flags.protocol, PROTOCOLS),
    as: oneOf("as", flags.as, SIDES),
    format: oneOf("format", flags.format, FORMATS),
  };
  const file = positionals[0];
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file === "-" ? 0 : file);
  } catch (e) {
    process.stderr.write(`edgepass inspect: cannot read ${file}: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  const codec = createCodec(loadWasmModuleFromDisk());
  try {
    const listing = inspectCapture(codec, bytes, opts);
    process.stdout.write(renderText(listing));
    return listing.problems === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof FramingError)) throw e;
    process.stderr.write(`edgepass inspect: ${file}: [${e.code}] ${e.message}\n`);
    return EXIT_USAGE;
  }
}
