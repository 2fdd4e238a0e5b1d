// Dials an origin with the platform's TCP sockets. Locally (workerd/miniflare) connect()
// reaches 127.0.0.1; in production the platform refuses private addresses, so a deployed
// gateway reaches its origins on a public address or through a tunnel.
import { connect } from "cloudflare:sockets";
import { ConnectionTimers } from "../../core/deadline.js";
import { Codes, GatewayError } from "../../core/errors.js";
import { formatAddress, type Dial, type Duplex } from "../../core/transport.js";

export const dialCloudflare: Dial = async (address, { connectTimeoutMs }) => {
  const origin = formatAddress(address);
  let socket: Socket;
  try {
    socket = connect({ hostname: address.host, port: address.port }, { secureTransport: "off", allowHalfOpen: false });
  } catch (e) {
    throw new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not connect to the origin ${origin}.`, String(e));
  }
  const timers = new ConnectionTimers();
  try {
    await timers.race("connect", socket.opened, connectTimeoutMs, () =>
      new GatewayError(
        Codes.UPSTREAM_CONNECT_TIMEOUT,
        504,
        `The origin ${origin} did not accept a connection within ${connectTimeoutMs / 1000} s (connect_timeout).`,
      ),
    );
  } catch (e) {
    timers.dispose();
    socket.close().catch(() => {});
    if (e instanceof GatewayError) throw e;
    throw new GatewayError(
      Codes.UPSTREAM_CONNECT_FAILED,
      502,
      `Could not connect to the origin ${origin}: the connection was refused or the host is unreachable.`,
      String(e),
    );
  }
  const duplex: Duplex = {
    readable: socket.readable,
    writable: socket.writable,
    close: () => socket.close().catch(() => {}),
    timers,
  };
  return duplex;
};
