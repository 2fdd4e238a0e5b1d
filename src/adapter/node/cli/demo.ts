// `edgepass demo [--port N] [--host H]` (what `npm start` runs): the built-in FastCGI demo app
// on a free loopback port, and the gateway in front of it with a config built in memory.
// Needs no PHP: the demo app is TypeScript on the same Wasm codec as the gateway.
import { startDemoOrigin } from "../../../../demo/origin.js";
import { loadConfig } from "../../../config/load.js";
import { runGateway } from "../miniflare.js";
import { listenOptions, parseFlags, parseHost, parsePort } from "./args.js";
import { serveUntilSignal } from "./until-signal.js";

/** Names the generated config in the gateway's messages. */
const SOURCE = "demo config";

/** Every path goes to the demo app in app mode (no root: SCRIPT_NAME "", PATH_INFO = path). */
export function demoConfig(originPort: number): string {
  return `# edgepass demo: everything to the built-in FastCGI demo app
[upstreams.demo]
protocol = "fastcgi"
servers = ["127.0.0.1:${originPort}"]
connect_timeout = "2s"

[[routes]]
match = "/"
upstream = "demo"
`;
}

/** A wildcard listen address is not something to open in a browser. */
function browsable(origin: string, host: string): string {
  if (host === "0.0.0.0") return origin.replace("//0.0.0.0:", "//127.0.0.1:");
  if (host === "::") return origin.replace("//[::]:", "//[::1]:");
  return origin;
}

export async function demo(argv: string[]): Promise<number | "help"> {
  const flags = parseFlags(argv, listenOptions);
  if (flags.help) return "help";
  const port = parsePort(flags.port);
  const host = parseHost(flags.host);

  const origin = await startDemoOrigin({ host: "127.0.0.1" });
  const text = demoConfig(origin.port);
  let gateway;
  try {
    loadConfig(text, SOURCE); // fails only if this file and the config schema drift apart
    gateway = await runGateway({ configText: text, configSource: SOURCE, host, port });
  } catch (err) {
    await origin.close();
    throw err;
  }
  process.stdout.write(
    `edgepass: demo FastCGI app on 127.0.0.1:${origin.port}\n` +
      `edgepass: listening on ${gateway.origin} (demo config, generated in memory)\n` +
      `edgepass: open ${browsable(gateway.origin, host)}/ in a browser; Ctrl-C stops\n`,
  );
  return serveUntilSignal([gateway.dispose, origin.close]);
}
