// What the admin route shows for a pool (one upstream, one shard). Plain JSON-able data.
import type { PeerStats } from "../balance/peers.js";

export interface ConnectionStats {
  id: number;
  /** Requests it completed. */
  served: number;
  inFlight: number;
  mpx: boolean;
  draining: boolean;
  ageMs: number;
  /** How long it has had nothing in flight; null when busy. */
  idleMs: number | null;
}

export interface ServerStats {
  server: string;
  /** "pending": FCGI_GET_VALUES sent, not answered yet; "done": limits below apply. */
  discovery: "none" | "pending" | "done";
  /** What the server answered to FCGI_GET_VALUES (null: nothing yet or never). */
  reported: { maxConns: number | null; maxReqs: number | null; mpxs: boolean | null } | null;
  /** The limits this pool applies (after config and shards); null until discovery ends. */
  limits: { maxConns: number; maxReqs: number; perConn: number; mpxs: boolean; source: string } | null;
  /** The server closed connections after one request each; they are not reused. */
  singleUse: boolean;
  open: number;
  opening: number;
  busy: number;
  idle: number;
  inFlight: number;
  /** Requests completed over the pool's life, on connections open or closed since. */
  served: number;
  opened: number;
  closedByServer: number;
  closedByGateway: number;
  connectFailures: number;
  connections: ConnectionStats[];
  /** The balancer's view: weight, backup, up or down (max_fails, health_check). */
  balance?: PeerStats;
}

export interface PoolStats {
  upstream: string;
  shards: number;
  open: number;
  busy: number;
  idle: number;
  queued: number;
  queueLimit: number;
  oldestWaitMs: number;
  served: number;
  /** Requests retried on a fresh connection after a stale kept one failed. */
  retried: number;
  rejected: { queueFull: number; queueTimeout: number };
  servers: ServerStats[];
}
