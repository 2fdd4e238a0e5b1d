// `edgepass check --config FILE [--for serve|edge]`: nginx's `nginx -t`. Everything that
// starting would find wrong is found here, and nothing is started: for serve, the config, its
// TLS files, body_temp and access_log as well; for the edge, what the Worker refuses (Unix
// sockets…). Exit 0 with a line on stdout, else 2 with the reason on stderr, so
// `edgepass check … && systemctl reload edgepass` reloads only a config that will be taken.
import { closeSync, openSync } from "node:fs";
import { checkSpoolDir } from "../body-spool.js";
import { readTlsFiles } from "../tls-files.js";
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

/** What only `serve`'s start reads: the TLS files, body_temp, access_log. */
function serveProblem(s: Parameters<typeof readTlsFiles>[0], file: string): string | null {
  const tls = readTlsFiles(s, file);
  if (tls instanceof Error) return tls.message;
  const temp = s.bodyTemp === undefined ? null : checkSpoolDir(s.bodyTemp);
  if (temp !== null) return `${file}: [serve] body_temp: ${temp}`;
  if (s.accessLog) {
    try {
      // As nginx -t, which opens its log files: created when missing, nothing written.
      closeSync(openSync(s.accessLog, "a", 0o644));
    } catch (e) {
      return `${file}: [serve] access_log: cannot open ${s.accessLog}: ${(e as Error).message}`;
    }
  }
  return null;
}
