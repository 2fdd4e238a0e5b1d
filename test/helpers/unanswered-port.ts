// A port where a connect never completes: a listener (python3) that never accepts, its queue
// already filled, so Linux drops every further SYN and the dialer waits until it gives up. How
// connect_timeout is tried on loopback, where a closed port refuses at once.
import { spawn } from "node:child_process";
import { findProgram } from "./servers/launch.js";

const SCRIPT = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
port = s.getsockname()[1]
held = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    held.append(c)
print(port, flush=True)
sys.stdin.read()
`;

export interface UnansweredPort {
  port: number;
  close(): Promise<void>;
}

export async function unansweredPort(): Promise<UnansweredPort> {
  const child = spawn(findProgram("python3", "python3"), ["-c", SCRIPT], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    child.once("exit", (code) => reject(new Error(`the unanswered-port listener exited (${code})`)));
  });
  return {
    port,
    close: async () => {
      // Its stdin's end is its signal to go; it also goes when the test process does.
      child.stdin!.end();
      await exited;
    },
  };
}
