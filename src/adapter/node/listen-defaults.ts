// Where the local commands listen unless told otherwise (no Miniflare import, so `serve` and
// `--help` do not load it), and what a user is told when the address cannot be had.
import type net from "node:net";
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8787;

/** Why listening on an address failed, and what to do about it, from the system's error;
 *  `setting` names where the address was given (the flags, or a config key). */
export function cannotListenBecause(err: NodeJS.ErrnoException, setting = { port: "--port", host: "--host" }): string {
  switch (err.code) {
    case "EADDRINUSE":
      return `the port is in use; pick another with ${setting.port}`;
    case "EACCES":
      // Linux: ports below net.ipv4.ip_unprivileged_port_start (1024 unless changed).
      return "permission denied: a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability (examples/edgepass.service gives it to an unprivileged user)";
    case "EADDRNOTAVAIL":
      return `no network interface of this machine has that address; check ${setting.host}`;
    default:
      return `${err.message}; check ${setting.host}`;
  }
}

/** The error a command stops with when it cannot listen on host:port (its code kept). */
export function cannotListen(err: NodeJS.ErrnoException, host: string, port: number, portFlag = "--port"): Error {
  const at = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return Object.assign(new Error(`cannot listen on ${at}: ${cannotListenBecause(err, { port: portFlag, host: "--host" })}`), { code: err.code });
}

/** Listens on host:port; an address that cannot be had rejects with cannotListen's error
 *  (`portFlag`, default --port, named as the one to change). */
export function listen(server: net.Server, host: string, port: number, portFlag?: string): Promise<net.AddressInfo> {
  return new Promise<net.AddressInfo>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(cannotListen(err, host, port, portFlag));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/** "a.b.c.d:port", or "[v6]:port". */
export const hostPort = (a: net.AddressInfo): string => `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
