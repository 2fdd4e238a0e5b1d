// A loopback TCP server for origins that misbehave on purpose: it tracks its sockets so
// close() ends them all, and swallows client resets (the gateway closing early is expected).
import net from "node:net";

export interface ScriptedServer {
  port: number;
  close(): Promise<void>;
}

export async function scriptedServer(onConnection: (sock: net.Socket) => void): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    onConnection(sock);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
