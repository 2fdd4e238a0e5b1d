// `edgepass check --config FILE [--for serve|edge]`: nginx's `nginx -t`. Everything that
// starting would find wrong is found here, and nothing is started: for serve, the config, its
// TLS files, body_temp, response_temp and access_log as well; for the edge, what the Worker
// refuses (Unix sockets…). Exit 0 with a line on stdout, else 2 with the reason on stderr, so
// `edgepass check … && systemctl reload edgepass` reloads only a config that will be taken.
import type { ServeSettings } from "../../../config/types.js";
import { cannotOpen, openAccessFile } from "../access-file.js";
import { readStartFiles } from "../start-files.js";
import { EXIT_USAGE, parseFlags, readValidConfig, UsageError } from "./args.js";

export async function check(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, { config: { type: "string", short: "c" }, for: { type: "string" }, help: { type: "boolean", short: "h" } });
  if (flags.help) return "help";
  if (flags.config === undefined) throw new UsageError("check needs --config FILE");
  const target = flags.for ?? "serve";
  if (target !== "serve" && target !== "edge") throw new UsageError(`--for takes serve or edge, not "${target}"`);
  const file = flags.config;
  const valid = readValidConfig(file, target === "serve" ? "server" : "edge");
  if (valid === null) return EXIT_USAGE;
  if (target === "serve") {
    const problem = serveProblem(valid.config.serve, file);
    if (problem) {
      process.stderr.write(`${problem}\n`);
      return EXIT_USAGE;
    }
  }
  process.stdout.write(`edgepass: ${file}: the config is valid for ${target === "serve" ? "edgepass serve" : "the Worker (edgepass dev, wrangler deploy)"}\n`);
  return 0;
}

/** What only `serve`'s start reads: the TLS files, body_temp, response_temp, access_log. */
function serveProblem(s: ServeSettings, file: string): string | null {
  const files = readStartFiles(s, file);
  if (files instanceof Error) return files.message;
  if (s.accessLog) {
    try {
      // As nginx -t, which opens its log files: created when missing, nothing written.
      openAccessFile(s.accessLog, () => {}).close();
    } catch (e) {
      return cannotOpen(file, s.accessLog, e);
    }
  }
  return null;
}
