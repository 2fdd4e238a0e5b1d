// limit_req and limit_conn under `edgepass serve --workers N`: the counts live in the primary,
// so a client gets the rate and the places the config names whichever worker takes its
// connection, as nginx's zones are one memory all its workers share. Counted in each worker,
// N workers would let a client through N times as often. A worker asks the primary over the
// cluster channel (a route without limits never does); a place a worker held is given back
// when the worker exits, however it ends.
import type { Worker } from "node:cluster";
import { Codes, GatewayError } from "../../../core/errors.js";
import type { BucketOutcome } from "../../../edge/leaky-bucket.js";
import { memoryLimitStore, type ConnLease, type LimitStore } from "../../../edge/limits.js";

export type LimitMessage =
  | { edgepass: "limit-req"; id: number; counter: string; rate: number; burst: number; nodelay: boolean }
  | { edgepass: "limit-acquire"; id: number; counter: string; max: number }
  | { edgepass: "limit-release"; lease: number }
  | { edgepass: "limit-answer"; id: number; outcome?: BucketOutcome; lease?: number | null };

/** What of a cluster worker the primary's side uses. */
export type LimitPeer = Pick<Worker, "on" | "send" | "isConnected">;

/** The primary's side: one store for every worker. `attach` each worker once forked. */
export function sharedLimits(store: LimitStore = memoryLimitStore()): { attach(w: LimitPeer): void } {
  let nextLease = 0;
  return {
    attach(w) {
      // This worker's places, by the number it was told.
      const held = new Map<number, ConnLease>();
      // A worker that died since it asked is not answered (its send error comes here, not as
      // an 'error' event nothing handles).
      const answer = (m: LimitMessage) => void (w.isConnected() && w.send(m, undefined, undefined, () => {}));
      w.on("message", (m: LimitMessage) => {
        switch (m?.edgepass) {
          case "limit-req":
            void store.request(m.counter, m.rate, m.burst, m.nodelay).then((outcome) => answer({ edgepass: "limit-answer", id: m.id, outcome }));
            break;
          case "limit-acquire":
            void store.acquire(m.counter, m.max).then((place) => {
              let lease: number | null = null;
              if (place) held.set((lease = ++nextLease), place);
              answer({ edgepass: "limit-answer", id: m.id, lease });
            });
            break;
          case "limit-release":
            held.get(m.lease)?.release();
            held.delete(m.lease);
            break;
        }
      });
      w.on("exit", () => {
        for (const place of held.values()) place.release();
        held.clear();
      });
    },
  };
}

/** How long a worker waits for the primary's answer before the request is refused (503). */
const ANSWER_MS = 5_000;

/** A worker's side: the LimitStore its gateways use, every count asked of the primary. */
export function primaryLimitStore(channel: { send(m: LimitMessage): void; on(event: "message", f: (m: LimitMessage) => void): void }): LimitStore {
  let nextId = 0;
  const waiting = new Map<number, (m: LimitMessage & { edgepass: "limit-answer" }) => void>();
  channel.on("message", (m) => {
    if (m?.edgepass === "limit-answer") waiting.get(m.id)?.(m);
  });
  const ask = (m: LimitMessage & { id: number }, late: (answer: LimitMessage & { edgepass: "limit-answer" }) => void) =>
    new Promise<LimitMessage & { edgepass: "limit-answer" }>((resolve, reject) => {
      const timer = setTimeout(() => {
        // An answer after this is not this request's any more: a place it brings goes back.
        waiting.set(m.id, (a) => {
          waiting.delete(m.id);
          late(a);
        });
        reject(new GatewayError(Codes.LIMITS_UNAVAILABLE, 503, "The gateway's limit counters could not be reached; try again.", `limits: the primary did not answer within ${ANSWER_MS / 1000} s`));
      }, ANSWER_MS);
      waiting.set(m.id, (a) => {
        clearTimeout(timer);
        waiting.delete(m.id);
        resolve(a);
      });
      channel.send(m);
    });
  const release = (lease: number) => channel.send({ edgepass: "limit-release", lease });
  const giveBack = (a: { lease?: number | null }) => {
    if (typeof a.lease === "number") release(a.lease);
  };
  return {
    async request(counter, rate, burst, nodelay) {
      const a = await ask({ edgepass: "limit-req", id: ++nextId, counter, rate, burst, nodelay }, () => {});
      return a.outcome!;
    },
    async acquire(counter, max) {
      const a = await ask({ edgepass: "limit-acquire", id: ++nextId, counter, max }, giveBack);
      if (typeof a.lease !== "number") return null;
      const lease = a.lease;
      let held = true;
      return {
        release() {
          if (!held) return;
          held = false;
          release(lease);
        },
      };
    },
  };
}
