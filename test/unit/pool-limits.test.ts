// How a pool sizes itself from a server's FCGI_GET_VALUES answer (FastCGI 1.0, section 4.1),
// the config's max_connections and the number of shards sharing the upstream.
import { describe, expect, it } from "vitest";
import type { PoolConfig } from "../../src/config/types.js";
import { DEFAULT_MPX_REQS_PER_CONN, limitsFor, parseValues } from "../../src/pool/limits.js";

const cfg = (o: Partial<PoolConfig> = {}): PoolConfig => ({
  mode: "pooled",
  shards: 1,
  maxConnections: 8,
  idleTimeoutMs: 4000,
  queue: 100,
  queueTimeoutMs: 5000,
  ...o,
});

describe("parseValues", () => {
  it("reads the three variables; what is missing or not a sane number is null", () => {
    expect(parseValues([["FCGI_MAX_CONNS", "10"], ["FCGI_MAX_REQS", "50"], ["FCGI_MPXS_CONNS", "1"]])).toEqual({ maxConns: 10, maxReqs: 50, mpxs: true });
    // php-fpm 8.2's whole answer.
    expect(parseValues([["FCGI_MPXS_CONNS", "0"]])).toEqual({ maxConns: null, maxReqs: null, mpxs: false });
    expect(parseValues([["FCGI_MAX_CONNS", "0"], ["FCGI_MAX_REQS", "-3"], ["FCGI_MPXS_CONNS", "yes"]])).toEqual({ maxConns: null, maxReqs: null, mpxs: null });
  });
});

describe("limitsFor", () => {
  it("nothing answered: the config, one request per connection", () => {
    expect(limitsFor(null, cfg())).toMatchObject({ maxConns: 8, maxReqs: 8, perConn: 1, mpxs: false, source: "config" });
  });

  it("never more connections than the server says, nor than the config allows", () => {
    expect(limitsFor({ maxConns: 4, maxReqs: 4, mpxs: false }, cfg())).toMatchObject({ maxConns: 4, maxReqs: 4, source: "server" });
    expect(limitsFor({ maxConns: 64, maxReqs: 64, mpxs: false }, cfg())).toMatchObject({ maxConns: 8, maxReqs: 8 });
  });

  it("libfcgi's 1/1/0: a single connection", () => {
    expect(limitsFor({ maxConns: 1, maxReqs: 1, mpxs: false }, cfg())).toMatchObject({ maxConns: 1, maxReqs: 1, perConn: 1 });
  });

  it("multiplexing: FCGI_MAX_REQS over all connections, or a modest number per connection when unsaid", () => {
    expect(limitsFor({ maxConns: 2, maxReqs: 100, mpxs: true }, cfg())).toMatchObject({ maxConns: 2, maxReqs: 100, perConn: 100, mpxs: true });
    expect(limitsFor({ maxConns: null, maxReqs: null, mpxs: true }, cfg({ maxConnections: 2 }))).toMatchObject({
      maxConns: 2,
      maxReqs: 2 * DEFAULT_MPX_REQS_PER_CONN,
      source: "server+config",
    });
  });

  it("shards split the limits, each keeping at least one", () => {
    expect(limitsFor(null, cfg({ shards: 4 }), 4)).toMatchObject({ maxConns: 2, maxReqs: 2 });
    expect(limitsFor({ maxConns: 3, maxReqs: 3, mpxs: false }, cfg({ shards: 4 }), 4)).toMatchObject({ maxConns: 1, maxReqs: 1 });
    // The pool arithmetic reads no shards of its own: the host says how many pools share.
    expect(limitsFor(null, cfg({ shards: 4 }))).toMatchObject({ maxConns: 8, maxReqs: 8 });
  });
});
