// Keeps a started service running until SIGINT or SIGTERM, then stops it (and whatever else
// was started with it) before the process exits.
export async function serveUntilSignal(stops: Array<() => Promise<void>>): Promise<number> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      // Removing both handlers lets a second signal fall through to node's default: exit now.
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
  process.stderr.write(`edgepass: ${signal}, stopping\n`);
  for (const stop of stops) {
    await stop().catch((err) => process.stderr.write(`edgepass: while stopping: ${err}\n`));
  }
  return 0;
}
