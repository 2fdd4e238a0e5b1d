// The Peers (balancer state) of each upstream, kept as long as the upstream's definition does
// not change: one registry per pool object on the edge, per gateway generation on a plain
// server, and one per isolate for what no host gives a registry (direct upstreams in the
// Worker).
import type { UpstreamConfig } from "../config/types.js";
import { Peers, type PeerStats } from "./peers.js";

export class PeersRegistry {
  private readonly all = new Map<string, { key: string; peers: Peers }>();
  private readonly keys = new WeakMap<UpstreamConfig, string>();

  get(upstream: UpstreamConfig): Peers {
    // Worked out once per config object (a config is not changed once loaded), not per request.
    let key = this.keys.get(upstream);
    if (key === undefined) this.keys.set(upstream, (key = JSON.stringify([upstream.servers, upstream.balance, upstream.protocol])));
    const have = this.all.get(upstream.name);
    if (have?.key === key) return have.peers;
    const peers = new Peers(upstream);
    this.all.set(upstream.name, { key, peers });
    return peers;
  }

  /** The Peers of an upstream if one exists. */
  find(name: string): Peers | undefined {
    return this.all.get(name)?.peers;
  }

  list(): Peers[] {
    return [...this.all.values()].map((x) => x.peers);
  }

  stats(): Record<string, PeerStats[]> {
    const out: Record<string, PeerStats[]> = {};
    for (const [name, { peers }] of this.all) out[name] = peers.stats();
    return out;
  }
}

const isolate = new PeersRegistry();

/** The isolate's (process's) balancer for an upstream, when the host keeps none itself. */
export const peersFor = (upstream: UpstreamConfig): Peers => isolate.get(upstream);
