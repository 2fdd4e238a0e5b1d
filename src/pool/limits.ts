// How many connections and requests a pool may put on one server: what the server reports in
// answer to FCGI_GET_VALUES (FastCGI 1.0, section 4.1), lowered to the configuration, and
// divided among the pools that share the upstream (in the Worker, its `shards` pool objects;
// the host says how many).
//
// What servers answer, observed: php-fpm 8.2 answers FCGI_MPXS_CONNS=0 only (no MAX_CONNS,
// so max_connections must match pm.max_children); libfcgi apps (fcgiwrap, spawn-fcgi
// programs) answer 1/1/0 per process, and only once the next request arrives; uWSGI does not
// answer. So discovery never blocks a request: it runs beside the first one, and
// whatever has not been answered after a short wait comes from the configuration.
import type { PoolConfig } from "../config/types.js";

export const VALUE_NAMES = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"];

/** Requests a multiplexing server gets per connection when it does not say FCGI_MAX_REQS. */
export const DEFAULT_MPX_REQS_PER_CONN = 32;
/** FastCGI request ids are 16 bits; 0 is for management records. */
export const MAX_REQUEST_ID = 0xffff;

export interface Reported {
  maxConns: number | null;
  maxReqs: number | null;
  mpxs: boolean | null;
}

export interface Limits {
  /** Connections this pool may hold to the server (open or being opened). */
  maxConns: number;
  /** Requests this pool may have in flight on the server, over all its connections. */
  maxReqs: number;
  /** Requests one connection may carry at a time (1 unless the server multiplexes). */
  perConn: number;
  mpxs: boolean;
  /** Where the numbers came from: the server's answer, the config, or both. */
  source: "server" | "server+config" | "config";
  reported: Reported | null;
}

/** The answer to FCGI_GET_VALUES; values that are missing or not sane numbers are null. */
export function parseValues(pairs: Array<[string, string]>): Reported {
  const get = (name: string): number | null => {
    const v = pairs.find(([n]) => n === name)?.[1];
    if (v === undefined || !/^\d{1,9}$/.test(v.trim())) return null;
    return Number(v.trim());
  };
  const maxConns = get("FCGI_MAX_CONNS");
  const maxReqs = get("FCGI_MAX_REQS");
  const mpxs = get("FCGI_MPXS_CONNS");
  return {
    maxConns: maxConns !== null && maxConns > 0 ? maxConns : null,
    maxReqs: maxReqs !== null && maxReqs > 0 ? maxReqs : null,
    mpxs: mpxs === null ? null : mpxs === 1,
  };
}

/** The limits one pool applies to one server. `reported` null: nothing answered. `pools`: how
 *  many pools split the upstream's limits, the host's business (the Worker's pool objects,
 *  `shards`; one pool elsewhere). */
export function limitsFor(reported: Reported | null, cfg: PoolConfig, pools = 1): Limits {
  const share = (n: number) => Math.max(1, Math.floor(n / pools));
  const conns = Math.min(cfg.maxConnections, reported?.maxConns ?? Infinity);
  const mpxs = reported?.mpxs === true;
  // MAX_REQS counts requests over all connections (spec 4.1); without it a multiplexing
  // server gets a modest number per connection, a plain one a request per connection.
  const reqs = mpxs ? (reported?.maxReqs ?? conns * DEFAULT_MPX_REQS_PER_CONN) : Math.min(conns, reported?.maxReqs ?? conns);
  const maxConns = share(conns);
  const maxReqs = share(reqs);
  const answered = reported !== null && (reported.maxConns !== null || reported.maxReqs !== null || reported.mpxs !== null);
  const complete = reported !== null && reported.maxConns !== null && reported.maxReqs !== null && reported.mpxs !== null;
  return {
    maxConns,
    maxReqs,
    perConn: mpxs ? Math.min(maxReqs, MAX_REQUEST_ID) : 1,
    mpxs,
    source: complete ? "server" : answered ? "server+config" : "config",
    reported,
  };
}
