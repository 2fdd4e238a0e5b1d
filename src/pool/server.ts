// What a pool knows about one server of its upstream: its connections, what it said in answer
// to FCGI_GET_VALUES, the limits that follow, and counters for the statistics. Shared by the
// FastCGI pool (pool.ts) and the HTTP keep-alive pool (http-pool.ts).
import type { ServerAddress } from "../config/types.js";
import { formatAddress } from "../core/transport.js";
import type { Limits, Reported } from "./limits.js";
import type { ServerStats } from "./stats.js";

/** What the statistics read from a pooled connection of either protocol. */
export interface PooledConnection {
  readonly id: number;
  readonly openedAt: number;
  served: number;
  idleSince: number;
  mpx: boolean;
  draining: boolean;
  closed: boolean;
  /** Requests in flight plus those reserved. */
  readonly load: number;
  readonly inFlight: number;
}

export interface Server<C extends PooledConnection = PooledConnection> {
  address: ServerAddress;
  origin: string;
  conns: C[];
  opening: number;
  discovery: "none" | "pending" | "done";
  discoveryTimer?: ReturnType<typeof setTimeout>;
  reported: Reported | null;
  limits: Limits | null;
  downUntil: number;
  /** Connections the server closed right after their first request… */
  oneShot: number;
  /** …unless one ever served two: then it keeps connections and those were recycles. */
  keepsAlive: boolean;
  singleUse: boolean;
  servedOnClosed: number;
  opened: number;
  closedByServer: number;
  closedByGateway: number;
  connectFailures: number;
}

export function newServer<C extends PooledConnection>(address: ServerAddress): Server<C> {
  return {
    address,
    origin: formatAddress(address),
    conns: [],
    opening: 0,
    discovery: "none",
    reported: null,
    limits: null,
    downUntil: 0,
    oneShot: 0,
    keepsAlive: false,
    singleUse: false,
    servedOnClosed: 0,
    opened: 0,
    closedByServer: 0,
    closedByGateway: 0,
    connectFailures: 0,
  };
}

export function serverStats(s: Server<PooledConnection>, now: number): ServerStats {
  const busy = s.conns.filter((c) => c.load > 0).length;
  return {
    server: s.origin,
    discovery: s.discovery,
    reported: s.reported,
    limits: s.limits && { maxConns: s.limits.maxConns, maxReqs: s.limits.maxReqs, perConn: s.limits.perConn, mpxs: s.limits.mpxs, source: s.limits.source },
    singleUse: s.singleUse,
    open: s.conns.length,
    opening: s.opening,
    busy,
    idle: s.conns.length - busy,
    inFlight: s.conns.reduce((n, c) => n + c.inFlight, 0),
    served: s.servedOnClosed + s.conns.reduce((n, c) => n + c.served, 0),
    opened: s.opened,
    closedByServer: s.closedByServer,
    closedByGateway: s.closedByGateway,
    connectFailures: s.connectFailures,
    connections: s.conns.map((c) => ({
      id: c.id,
      served: c.served,
      inFlight: c.inFlight,
      mpx: c.mpx,
      draining: c.draining,
      ageMs: now - c.openedAt,
      idleMs: c.load === 0 ? now - c.idleSince : null,
    })),
  };
}
