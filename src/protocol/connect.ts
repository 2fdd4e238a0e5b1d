// Picks a server of the upstream (round robin) and connects, moving on to the next server
// when a connect fails: no byte has reached any origin yet, so this is safe for every method.
import { isGatewayError, GatewayError, Codes } from "../core/errors.js";
import { since, type RequestRecord } from "../core/access-log.js";
import type { ExchangeContext } from "../core/exchange.js";
import type { Logger } from "../core/log.js";
import { formatAddress, type Duplex } from "../core/transport.js";

const cursor = new Map<string, number>();

export async function connectUpstream(ctx: ExchangeContext, log: Logger, record?: RequestRecord): Promise<{ conn: Duplex; origin: string }> {
  const t0 = performance.now();
  const { servers, name } = ctx.upstream;
  const start = cursor.get(name) ?? 0;
  cursor.set(name, (start + 1) % servers.length);
  let last: GatewayError | undefined;
  for (let i = 0; i < servers.length; i++) {
    const server = servers[(start + i) % servers.length];
    const origin = formatAddress(server);
    try {
      const conn = await ctx.dial(server, { connectTimeoutMs: ctx.upstream.connectTimeoutMs });
      if (record) Object.assign(record, { server: origin, connect_ms: since(t0), retries: record.retries + i });
      return { conn, origin };
    } catch (e) {
      last = isGatewayError(e)
        ? e
        : new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not connect to the origin ${origin}.`, String(e));
      log.log("warn", "upstream_connect_failed", { upstream: name, origin, code: last.code, detail: last.detail ?? last.message });
    }
  }
  throw last!;
}
