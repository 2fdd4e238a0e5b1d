import net from "node:net";
import type { TestProject } from "vitest/node";
export default async function (project: TestProject) {
  const srv = net.createServer((s) => s.end("hello from node\n"));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  project.provide("echoPort", (srv.address() as net.AddressInfo).port);
  return () => new Promise<void>((r) => srv.close(() => r()));
}
