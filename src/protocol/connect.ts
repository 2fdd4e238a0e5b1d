// Picks a server of the upstream (the request's plan: balance method, health, backups) and
// connects, moving on to the next server when a connect fails: no byte has reached any origin
// yet, so this is safe for every method. A failed connect counts against the server's
// max_fails; the connection is counted as in flight on its server until it closes (least_conn).
import { peersFor } from "../balance/registry.js";
import { Plan } from "../balance/plan.js";
import { isGatewayError, GatewayError, Codes } from "../core/errors.js";
import { noteConnection, since, type RequestRecord } from "../core/access-log.js";
import type { ExchangeContext } from "../core/exchange.js";
import type { Logger } from "../core/log.js";
import { formatAddress, type Duplex } from "../core/transport.js";

export async function connectUpstream(ctx: ExchangeContext, log: Logger, record?: RequestRecord): Promise<{ conn: Duplex; origin: string }> {
  const t0 = performance.now();
  const { servers, name } = ctx.upstream;
  const plan = ctx.plan ?? new Plan(peersFor(ctx.upstream), null);
  const peers = plan.peers;
  let last: GatewayError | undefined;
  for (;;) {
    const i = plan.candidates()[0];
    if (i === undefined) throw last ?? new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `No server of the upstream "${name}" may be tried.`);
    plan.take(i);
    const server = servers[i];
    const origin = formatAddress(server);
    try {
      const conn = await ctx.dial(server, { connectTimeoutMs: ctx.upstream.connectTimeoutMs });
      plan.connected(i);
      // Every server this request tried before this one, on this try or earlier ones.
      if (record) noteConnection(record, origin, since(t0), Math.max(record.retries, plan.count - 1));
      const state = peers.states[i];
      state.inFlight++;
      let open = true;
      return {
        origin,
        conn: {
          // Passed on as asked for: a host makes its streams or its plain calls on first use,
          // and a connection is used one way only (Duplex.direct).
          get readable() {
            return conn.readable;
          },
          get writable() {
            return conn.writable;
          },
          get direct() {
            return conn.direct;
          },
          timers: conn.timers,
          close: () => {
            if (open) {
              open = false;
              state.inFlight--;
            }
            return conn.close();
          },
        },
      };
    } catch (e) {
      peers.fail(i);
      last = isGatewayError(e)
        ? e
        : new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not connect to the origin ${origin}.`, String(e));
      log.log("warn", "upstream_connect_failed", { upstream: name, origin, code: last.code, detail: last.detail ?? last.message });
    }
  }
}
