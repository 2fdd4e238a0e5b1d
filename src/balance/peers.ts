// The servers of one upstream as the balancer sees them: which are available (passive health:
// max_fails within fail_timeout; active health: health_check), how busy each is, and in what
// order a request should try them. One Peers lives wherever requests are spread: per pool
// object on the edge (each shard judges health and load by itself), per process on a
// plain server, per isolate for direct upstreams in the Worker.
import type { UpstreamConfig, UpstreamServer } from "../config/types.js";
import { formatAddress } from "../core/transport.js";
import { rendezvous } from "./hash.js";

export interface PeerState {
  /** Failures counted in the current fail_timeout window. */
  fails: number;
  windowStart: number;
  /** Passive health: skipped until then (0: available). */
  downUntil: number;
  /** Active health: "up" until health checks say otherwise. */
  checked: "up" | "down";
  checkFails: number;
  checkPasses: number;
  lastCheck: { at: number; ok: boolean; detail: string } | null;
  /** Requests in flight that this Peers placed (direct connections; pools count their own). */
  inFlight: number;
  /** Smooth weighted round robin (nginx's): the running current weight. */
  current: number;
  /** Requests given to this server, and failures counted against it, over its life. */
  picked: number;
  failed: number;
}

/** A server's active health, as the checks left it. */
export interface ActiveHealth {
  checked: PeerState["checked"];
  fails: number;
  passes: number;
  lastCheck: PeerState["lastCheck"];
}

/** The per-server part of the statistics. */
export interface PeerStats {
  server: string;
  weight: number;
  backup: boolean;
  /** "up", or "down" with why: "failed" (passive) or "check" (active). */
  state: "up" | "down";
  why?: "failed" | "check";
  downForMs?: number;
  fails: number;
  maxFails: number;
  picked: number;
  failed: number;
  inFlight: number;
  health?: { state: "up" | "down"; fails: number; passes: number; lastCheck: { agoMs: number; ok: boolean; detail: string } | null };
}

/** Load of server i, for least_conn and random_two (the pool's count, or ours). */
export type LoadOf = (i: number) => number;

export class Peers {
  readonly servers: readonly UpstreamServer[];
  readonly states: PeerState[];
  private rotation = 0;

  constructor(
    readonly upstream: UpstreamConfig,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.servers = upstream.servers;
    this.states = upstream.servers.map(() => ({
      fails: 0,
      windowStart: 0,
      downUntil: 0,
      checked: "up",
      checkFails: 0,
      checkPasses: 0,
      lastCheck: null,
      inFlight: 0,
      current: 0,
      picked: 0,
      failed: 0,
    }));
  }

  available(i: number, now = this.now()): boolean {
    const s = this.states[i];
    return s.checked === "up" && s.downUntil <= now;
  }

  /** Every server in the order a request should try them: the available primaries ranked by
   *  the balance method, then the available backups; when none at all is available, every
   *  server (primaries first) rather than refusing, so an origin back from a restart is found. */
  order(key: string | null, load: LoadOf = (i) => this.states[i].inFlight): number[] {
    const now = this.now();
    const all = this.servers.map((_, i) => i);
    let primaries = all.filter((i) => !this.servers[i].backup && this.available(i, now));
    let backups = all.filter((i) => this.servers[i].backup && this.available(i, now));
    if (primaries.length === 0 && backups.length === 0) {
      primaries = all.filter((i) => !this.servers[i].backup);
      backups = all.filter((i) => this.servers[i].backup);
    }
    const first = primaries.length ? primaries : backups;
    const ranked = this.rank(first, key, load);
    return first === primaries ? [...ranked, ...this.rank(backups, key, load, false)] : ranked;
  }

  /** A request on server i failed the way a down server fails (connect, reset, timeout). */
  fail(i: number): void {
    const s = this.states[i];
    const srv = this.servers[i];
    const now = this.now();
    s.failed++;
    if (srv.maxFails === 0) return;
    if (now - s.windowStart > srv.failTimeoutMs) {
      s.fails = 0;
      s.windowStart = now;
    }
    if (++s.fails >= srv.maxFails) {
      s.downUntil = now + srv.failTimeoutMs;
      s.fails = 0;
    }
  }

  /** A request on server i got its answer: its failures so far are forgiven. */
  ok(i: number): void {
    const s = this.states[i];
    s.fails = 0;
    if (s.downUntil > this.now()) s.downUntil = 0;
  }

  /** An active check's result; returns the new state when it changed. */
  checkResult(i: number, ok: boolean, detail: string, fails: number, passes: number): "up" | "down" | null {
    const s = this.states[i];
    s.lastCheck = { at: this.now(), ok, detail };
    if (ok) {
      s.checkFails = 0;
      if (s.checked === "down" && ++s.checkPasses >= passes) {
        s.checked = "up";
        s.checkPasses = 0;
        s.downUntil = 0;
        return "up";
      }
    } else {
      s.checkPasses = 0;
      if (s.checked === "up" && ++s.checkFails >= fails) {
        s.checked = "down";
        s.checkFails = 0;
        return "down";
      }
    }
    return null;
  }

  /** Active health as another process's checks found it (the primary of `edgepass serve
   *  --workers`, which checks once for every worker): its state, counts and last check. */
  adopt(i: number, v: ActiveHealth): void {
    const s = this.states[i];
    if (s.checked === "down" && v.checked === "up") s.downUntil = 0;
    s.checked = v.checked;
    s.checkFails = v.fails;
    s.checkPasses = v.passes;
    s.lastCheck = v.lastCheck;
  }

  stats(): PeerStats[] {
    const now = this.now();
    return this.servers.map((srv, i) => {
      const s = this.states[i];
      const out: PeerStats = {
        server: formatAddress(srv),
        weight: srv.weight,
        backup: srv.backup,
        state: this.available(i, now) ? "up" : "down",
        fails: s.fails,
        maxFails: srv.maxFails,
        picked: s.picked,
        failed: s.failed,
        inFlight: s.inFlight,
      };
      if (s.checked === "down") out.why = "check";
      else if (s.downUntil > now) {
        out.why = "failed";
        out.downForMs = s.downUntil - now;
      }
      if (this.upstream.balance.healthCheck) {
        out.health = {
          state: s.checked,
          fails: s.checkFails,
          passes: s.checkPasses,
          lastCheck: s.lastCheck && { agoMs: now - s.lastCheck.at, ok: s.lastCheck.ok, detail: s.lastCheck.detail },
        };
      }
      return out;
    });
  }

  /** `group` in the order to try; `lead`: this is the group the first try comes from (only
   *  it advances the round robin). */
  private rank(group: number[], key: string | null, load: LoadOf, lead = true): number[] {
    if (group.length <= 1) return group;
    const method = this.upstream.balance.method;
    if (method === "hash" && key !== null) return rendezvous(this.servers, group, key);
    const rest = (first: number) => {
      const at = group.indexOf(first);
      return [first, ...group.slice(at + 1), ...group.slice(0, at)];
    };
    if (!lead) return rest(group[this.rotation++ % group.length]);
    const per = (i: number) => load(i) / this.servers[i].weight;
    if (method === "least_conn") {
      // Ties go round robin, so equal servers share the load.
      const start = this.rotation++ % group.length;
      const rotated = [...group.slice(start), ...group.slice(0, start)];
      return rotated.map((i, k) => ({ i, k, l: per(i) })).sort((a, b) => a.l - b.l || a.k - b.k).map((x) => x.i);
    }
    if (method === "random_two") {
      const a = this.weightedRandom(group);
      const b = this.weightedRandom(group.filter((i) => i !== a));
      return rest(per(b) < per(a) ? b : a);
    }
    return rest(this.smoothRoundRobin(group));
  }

  /** nginx's smooth weighted round robin: weights 5,1,1 give a a a b a c a, not a×5 b c. */
  private smoothRoundRobin(group: number[]): number {
    let total = 0;
    let best = group[0];
    for (const i of group) {
      const s = this.states[i];
      s.current += this.servers[i].weight;
      total += this.servers[i].weight;
      if (s.current > this.states[best].current) best = i;
    }
    this.states[best].current -= total;
    return best;
  }

  private weightedRandom(group: number[]): number {
    const total = group.reduce((n, i) => n + this.servers[i].weight, 0);
    let r = this.random() * total;
    for (const i of group) {
      r -= this.servers[i].weight;
      if (r < 0) return i;
    }
    return group[group.length - 1];
  }
}
