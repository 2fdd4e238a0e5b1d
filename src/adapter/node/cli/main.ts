// The `edgepass` command line (bin/edgepass.mjs; `npm start` runs `demo`).
// Exit codes: 0 ok, 1 failed while starting or running, 2 bad command line or config.
// Commands load on demand, so `--help` and usage errors answer without loading Miniflare.
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from "./args.js";

const USAGE = `usage:
  edgepass dev --config FILE [--port N] [--host H] [--files disk|assets] [--inspector-port N]
      Validate FILE, then run the gateway Worker locally (workerd via Miniflare) with FILE as
      its config. Nothing starts when FILE is invalid. [assets] files are read from disk on
      every request (--files disk, the default: files added while running are served), or
      through Workers Static Assets as deployed (--files assets: a snapshot taken at start).
  edgepass serve --config FILE [--port N] [--host H] [--workers N|auto] [--redirect-port N]
      Validate FILE, then serve it from this process: a plain Node HTTP/1.1 server (HTTP/2
      too, with [serve] tls or h2c; no workerd) that parses every request with the Wasm
      parser and keeps the upstream pools in process. Unix-socket upstreams
      ("unix:/run/php/php-fpm.sock") work here. With --workers, that many processes share
      the port (auto: one per core).
  edgepass check --config FILE [--for serve|edge]
      Validate FILE as its host would on start (nginx -t), and start nothing: for serve
      (the default) the TLS files, body_temp, response_temp and access_log too; for edge,
      what the Worker refuses. Exit 0 when it would be taken, 2 with the reason otherwise.
  edgepass demo [--port N] [--host H]
      Start a built-in FastCGI demo app (no PHP needed) and the gateway in front of it.
  edgepass inspect FILE [--protocol P] [--as SIDE] [--format F]
      Decode a capture of FastCGI, SCGI, uwsgi or HTTP/1.1 bytes (a pcap from tcpdump -w, hex
      text, or raw bytes; - reads standard input) record by record, explaining every framing
      error. P: fastcgi, scgi, uwsgi, http; SIDE (raw or hex bytes): request, response;
      F: pcap, hex, raw (all detected when not given). Exit 1 when the capture has framing
      errors.
  edgepass help

options:
  -c, --config FILE   edgepass config (TOML)
      --port N        port to listen on (default 8787; 0 picks a free one)
      --host H        address to listen on (default 127.0.0.1)
      --files MODE    where dev serves [assets] from: disk (default) or assets
      --inspector-port N  workerd's V8 inspector on 127.0.0.1:N (DevTools: heap, profiles)
      --workers N     serve: worker processes sharing the port (default 1; auto: one per core)
      --redirect-port N  serve, with [serve] tls: plain HTTP on port N (same --host), every
                      request sent to its https:// URL (301; 308 for methods other than GET/HEAD)
  -h, --help          show this help
`;

type Command = (argv: string[]) => Promise<number | "help">;
const commands: Record<string, () => Promise<Command>> = {
  dev: async () => (await import("./dev.js")).dev,
  serve: async () => (await import("./serve.js")).serve,
  demo: async () => (await import("./demo.js")).demo,
  inspect: async () => (await import("./inspect.js")).inspect,
  check: async () => (await import("./check.js")).check,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? process.stderr : process.stdout).write(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  try {
    if (!Object.hasOwn(commands, name)) throw new UsageError(`unknown command "${name}"`);
    const command = await commands[name]!();
    const result = await command(rest);
    if (result === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    return result;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`edgepass: ${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`edgepass: ${e.code ? `[${e.code}] ` : ""}${e.message}\n`);
    return EXIT_FAILURE;
  }
}

process.exit(await main(process.argv.slice(2)));
