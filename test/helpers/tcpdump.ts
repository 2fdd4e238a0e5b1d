// Records loopback traffic to a pcap file with a real tcpdump, as a user would before asking
// `edgepass inspect` what went over the wire. No tcpdump installed → the install hint.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

export function findTcpdump(): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    if (dir && existsSync(path.join(dir, "tcpdump"))) return path.join(dir, "tcpdump");
  }
  throw new Error("tcpdump is not installed; run `npm run setup:test` (Debian package tcpdump), then the tests again.");
}

export interface Capture {
  /** Stops the capture (tcpdump writes every packet as it comes: -U) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `tcpdump -i lo -U -s 0 -w file tcp port N` and resolves once it is listening. */
export async function captureLoopback(file: string, port: number): Promise<Capture> {
  const child = spawn(findTcpdump(), ["-i", "lo", "-U", "-s", "0", "-n", "-w", file, "tcp", "port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!/listening on lo/.test(stderr)) {
    if (child.exitCode !== null) {
      const perm = /permission|Operation not permitted/i.test(stderr)
        ? " (capturing needs root, or: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump))"
        : "";
      throw new Error(`tcpdump exited ${child.exitCode}: ${stderr}${perm}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`tcpdump did not start listening within 10 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      await exited;
    },
  };
}
