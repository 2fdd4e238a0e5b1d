// Active health checks (health_check = { interval, fails, passes, path, timeout }): every
// interval each server of the upstream is probed in its protocol (probe.ts); `fails` failed
// checks in a row take it out of rotation, `passes` passed ones bring it back. What drives the
// clock is the host's: a Durable Object alarm in the pool object, a timer on a plain server.
import type { Codec } from "../codec/types.js";
import type { Logger } from "../core/log.js";
import type { Dial } from "../core/transport.js";
import { formatAddress } from "../core/transport.js";
import type { ActiveHealth, Peers } from "./peers.js";
import type { GatewayConfig, UpstreamConfig } from "../config/types.js";
import { probe } from "./probe.js";

export class HealthChecks {
  private readonly due = new WeakMap<Peers, number>();

  constructor(
    private readonly codec: Codec,
    private readonly dial: Dial,
    private readonly log: Logger,
  ) {}

  /** Checks every server of each upstream in `list` whose interval has come; returns when the
   *  next check is due (null: no upstream has health_check). */
  async runDue(list: Peers[], now = Date.now()): Promise<number | null> {
    const work: Promise<void>[] = [];
    let next: number | null = null;
    for (const peers of list) {
      const hc = peers.upstream.balance.healthCheck;
      if (!hc) continue;
      const at = this.due.get(peers) ?? now;
      if (at <= now) {
        this.due.set(peers, now + hc.intervalMs);
        work.push(this.check(peers));
      }
      const upcoming = this.due.get(peers)!;
      next = next === null ? upcoming : Math.min(next, upcoming);
    }
    await Promise.all(work);
    return next;
  }

  private async check(peers: Peers): Promise<void> {
    const u = peers.upstream;
    const hc = u.balance.healthCheck!;
    await Promise.all(
      peers.servers.map(async (server, i) => {
        const r = await probe(u, server, this.codec, this.dial);
        const changed = peers.checkResult(i, r.ok, r.detail, hc.fails, hc.passes);
        if (changed) {
          this.log.log(changed === "down" ? "warn" : "info", changed === "down" ? "upstream_server_down" : "upstream_server_up", {
            upstream: u.name,
            origin: formatAddress(server),
            detail: r.detail,
          });
        }
      }),
    );
  }
}

/** A plain server's clock for the checks: runs them on a timer until stopped; `after` runs
 *  after each round. */
export function healthTimer(checks: HealthChecks, list: () => Peers[], after?: () => void): { stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const tick = async () => {
    const next = await checks.runDue(list()).catch(() => Date.now() + 1000);
    if (!stopped) after?.();
    if (stopped || next === null) return;
    timer = setTimeout(() => void tick(), Math.max(10, next - Date.now()));
  };
  void tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** What one process's checks found of a server, by address: what another process adopts
 *  (edgepass serve's workers, from their primary). */
export interface Verdict extends ActiveHealth {
  origin: string;
}

/** The upstreams of `config` that active checks watch. */
export const checkedUpstreams = (config: GatewayConfig): UpstreamConfig[] =>
  Object.values(config.upstreams).filter((u) => u.balance.healthCheck && u.servers.length > 0);

/** Verdicts by upstream name. */
export type Verdicts = Record<string, Verdict[]>;

/** Applies `verdicts` to the peers `peersOf` finds by upstream name, server by address (so a
 *  config that changed keeps them where the servers are the same). */
export function adoptAll(verdicts: Verdicts, peersOf: (upstream: string) => Peers | undefined): void {
  for (const [name, list] of Object.entries(verdicts)) {
    const peers = peersOf(name);
    if (!peers) continue;
    peers.servers.forEach((server, i) => {
      const v = list.find((x) => x.origin === formatAddress(server));
      if (v) peers.adopt(i, v);
    });
  }
}
