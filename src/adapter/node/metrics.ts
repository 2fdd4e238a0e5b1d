// The numbers `edgepass serve` exposes to Prometheus (text exposition format 0.0.4): requests by
// route and status class, bytes each way, requests in flight, client connections, and the
// upstream pools (src/pool/stats.ts) per upstream and server. Counted per process; with several
// worker processes the primary asks each and labels every sample with its `pid`.
import type { PoolStats } from "../../pool/stats.js";
import type { GatewayConfig } from "../../config/types.js";
import { matchRoute } from "../../edge/locations.js";
import { normalizePath } from "../../edge/script-path.js";
import { hostVariable } from "../../edge/variables.js";
import type { ServeRequest } from "./request.js";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const FAMILIES: Record<string, { type: "counter" | "gauge"; help: string }> = {
  edgepass_requests_total: { type: "counter", help: "Requests answered, by the route their path matched and status class." },
  edgepass_request_bytes_total: { type: "counter", help: "Bytes read from clients (heads and bodies)." },
  edgepass_response_bytes_total: { type: "counter", help: "Bytes written to clients (heads and bodies)." },
  edgepass_requests_in_flight: { type: "gauge", help: "Requests read and not yet answered in full." },
  edgepass_connections_open: { type: "gauge", help: "Client connections open." },
  edgepass_connections_total: { type: "counter", help: "Client connections accepted." },
  edgepass_pool_connections: { type: "gauge", help: "Upstream connections of the running config's pool, by state." },
  edgepass_pool_queued: { type: "gauge", help: "Requests waiting for an upstream connection." },
  edgepass_pool_served_total: { type: "counter", help: "Requests the running config's pool completed (reset by a reload)." },
  edgepass_pool_retried_total: { type: "counter", help: "Requests retried on a fresh connection after a kept one failed." },
  edgepass_pool_rejected_total: { type: "counter", help: "Requests refused by the pool (queue full or queue timeout)." },
  edgepass_pool_server_connections: { type: "gauge", help: "Upstream connections per server, by state." },
  edgepass_pool_server_served_total: { type: "counter", help: "Requests completed per upstream server." },
  edgepass_pool_server_connect_failures_total: { type: "counter", help: "Failed connection attempts per upstream server." },
  edgepass_pool_server_closed_total: { type: "counter", help: "Upstream connections closed, by who closed them." },
  edgepass_worker_restarts_total: { type: "counter", help: "Worker processes started again after one died (--workers)." },
  edgepass_cache_requests_total: { type: "counter", help: "Answers on routes with a cache, by $upstream_cache_status." },
  edgepass_cache_entries: { type: "gauge", help: "Answers held in this process's cache." },
  edgepass_cache_bytes: { type: "gauge", help: "Bytes held in this process's cache (of [gateway] cache_size)." },
  edgepass_temp_file_bytes: { type: "gauge", help: "Bytes in temporary files: answers read ahead of slow clients, request bodies held." },
};

export class ServeMetrics {
  /** By route label, then by status class (index 1 for 1xx … 5xx): no key made per request. */
  private requests = new Map<string, number[]>();
  private cached = new Map<string, number>();
  bytesIn = 0;
  bytesOut = 0;
  inFlight = 0;
  connectionsOpen = 0;
  connectionsTotal = 0;

  answered(route: string, status: number, bytesIn: number, bytesOut: number): void {
    let byClass = this.requests.get(route);
    if (byClass === undefined) this.requests.set(route, (byClass = [0, 0, 0, 0, 0, 0]));
    byClass[Math.min(5, Math.max(1, Math.floor(status / 100)))]++;
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
  }

  cacheCounted(status: string): void {
    this.cached.set(status, (this.cached.get(status) ?? 0) + 1);
  }

  /** `cache`: the process's cache store, where a route has a cache; `temp`: the bytes in
   *  temporary files, of answers and of request bodies. */
  samples(pools: PoolStats[], cache?: { bytes: number; count: number } | null, temp?: { answers: number; bodies: number }): Sample[] {
    const out: Sample[] = [];
    const add = (name: string, value: number, labels: Record<string, string> = {}) => out.push({ name, labels, value });
    for (const [route, byClass] of this.requests) {
      for (let c = 1; c <= 5; c++) if (byClass[c] > 0) add("edgepass_requests_total", byClass[c], { route, code: `${c}xx` });
    }
    add("edgepass_request_bytes_total", this.bytesIn);
    add("edgepass_response_bytes_total", this.bytesOut);
    add("edgepass_requests_in_flight", this.inFlight);
    add("edgepass_connections_open", this.connectionsOpen);
    add("edgepass_connections_total", this.connectionsTotal);
    for (const [status, n] of this.cached) add("edgepass_cache_requests_total", n, { status });
    if (temp) {
      add("edgepass_temp_file_bytes", temp.answers, { kind: "answers" });
      add("edgepass_temp_file_bytes", temp.bodies, { kind: "bodies" });
    }
    if (cache) {
      add("edgepass_cache_entries", cache.count);
      add("edgepass_cache_bytes", cache.bytes);
    }
    for (const p of pools) {
      const u = { upstream: p.upstream };
      add("edgepass_pool_connections", p.busy, { ...u, state: "busy" });
      add("edgepass_pool_connections", p.idle, { ...u, state: "idle" });
      add("edgepass_pool_queued", p.queued, u);
      add("edgepass_pool_served_total", p.served, u);
      add("edgepass_pool_retried_total", p.retried, u);
      add("edgepass_pool_rejected_total", p.rejected.queueFull, { ...u, reason: "queue_full" });
      add("edgepass_pool_rejected_total", p.rejected.queueTimeout, { ...u, reason: "queue_timeout" });
      for (const s of p.servers) {
        const l = { ...u, server: s.server };
        for (const state of ["busy", "idle", "opening"] as const) add("edgepass_pool_server_connections", s[state], { ...l, state });
        add("edgepass_pool_server_served_total", s.served, l);
        add("edgepass_pool_server_connect_failures_total", s.connectFailures, l);
        add("edgepass_pool_server_closed_total", s.closedByServer, { ...l, by: "server" });
        add("edgepass_pool_server_closed_total", s.closedByGateway, { ...l, by: "gateway" });
      }
    }
    return out;
  }
}

/** The exposition text: samples grouped by family, each with its HELP and TYPE. */
export function renderMetrics(samples: Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  let text = "";
  for (const [name, list] of byName) {
    const f = FAMILIES[name];
    if (f) text += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n`;
    for (const s of list) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      text += `${name}${labels.length ? `{${labels.join(",")}}` : ""} ${s.value}\n`;
    }
  }
  return text;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The route label of a request: the route its site and path match (before try_files), or
 *  what it was. A label depends only on the config, the Host and the path, and a site's traffic
 *  is mostly a few paths: labels are remembered per config (a bounded number, forgotten all at
 *  once). */
export function routeLabels(current: () => GatewayConfig): (request: ServeRequest | null) => string {
  let labels: { config: GatewayConfig; byKey: Map<string, string> } | null = null;
  return (request) => {
    if (!request) return "(unparsed)";
    const config = current();
    if (labels?.config !== config || labels.byKey.size >= 1024) labels = { config, byKey: new Map() };
    const pathname = request.parsed.pathname;
    const host = hostVariable(request.headers.get("host"), "");
    const key = `${host} ${pathname}`;
    let label = labels.byKey.get(key);
    if (label === undefined) {
      const norm = normalizePath(pathname);
      if (config.gateway.adminPath && pathname === config.gateway.adminPath) label = "(admin)";
      else if ("error" in norm) label = "(bad path)";
      else label = matchRoute(config.routes, norm.path, host)?.match ?? "(no route)";
      labels.byKey.set(key, label);
    }
    return label;
  };
}
