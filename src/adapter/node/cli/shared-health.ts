// Active health checks under `edgepass serve --workers N`: the primary probes each server once
// per interval for every worker (N workers probing on their own would put N times the
// configured load on each origin, and could disagree about a server), and tells every worker
// what it found: after each round in which something changed, and a worker that just started
// at once. A worker adopts the verdicts (balance/health.ts, adoptAll) in the peers of the
// config it runs, server by address, so a reload on either side keeps them where the servers
// are the same.
import type { GatewayConfig } from "../../../config/types.js";
import { createCodec } from "../../../codec/index.js";
import { adoptAll, checkedUpstreams, HealthChecks, healthTimer, type Verdicts } from "../../../balance/health.js";
import { Peers } from "../../../balance/peers.js";
import { requestLogger, type LogSink } from "../../../core/log.js";
import { formatAddress } from "../../../core/transport.js";
import { dialNode } from "../dial.js";
import { loadWasmModuleFromDisk } from "../wasm.js";

export interface HealthMessage {
  edgepass: "health";
  upstreams: Verdicts;
}

/** The primary's checks. `send` goes to every worker. */
export class PrimaryHealth {
  private peers: Peers[] = [];
  private timer: { stop(): void } | null = null;
  private last = "";
  /** Made with the first upstream to check (the Wasm codec and the dial it needs). */
  private checks: HealthChecks | null = null;

  constructor(
    config: GatewayConfig,
    private readonly send: (m: HealthMessage) => void,
    private readonly sink: LogSink,
  ) {
    this.reload(config);
  }

  /** What the checks found so far, for every checked upstream. */
  snapshot(): HealthMessage {
    const upstreams: Verdicts = {};
    for (const p of this.peers) {
      upstreams[p.upstream.name] = p.states.map((s, i) => ({ origin: formatAddress(p.servers[i]), checked: s.checked, fails: s.checkFails, passes: s.checkPasses, lastCheck: s.lastCheck }));
    }
    return { edgepass: "health", upstreams };
  }

  /** Checks the upstreams of `config` from now on; a server checked before (same upstream,
   *  same address) keeps its state. */
  reload(config: GatewayConfig): void {
    const before = this.snapshot();
    this.timer?.stop();
    this.peers = checkedUpstreams(config).map((u) => new Peers(u));
    adoptAll(before.upstreams, (name) => this.peers.find((p) => p.upstream.name === name));
    if (this.peers.length === 0) return;
    this.checks ??= new HealthChecks(createCodec(loadWasmModuleFromDisk()), dialNode, requestLogger("-", this.sink));
    this.timer = healthTimer(this.checks, () => this.peers, () => this.tell());
  }

  stop(): void {
    this.timer?.stop();
    this.timer = null;
  }

  /** Sends the states when they changed since the last time (the last check's time aside). */
  private tell(): void {
    const m = this.snapshot();
    const key = JSON.stringify(Object.entries(m.upstreams).map(([n, vs]) => [n, vs.map((v) => [v.origin, v.checked, v.fails, v.passes])]));
    if (key === this.last) return;
    this.last = key;
    this.send(m);
  }
}
