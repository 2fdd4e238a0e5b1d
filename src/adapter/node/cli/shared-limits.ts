// limit_req and limit_conn under `edgepass serve --workers N`: the counts live in the primary,
// so a client gets the rate and the places the config names whichever worker takes its
// connection, as nginx's zones are one memory all its workers share. Counted in each worker,
// N workers would let a client through N times as often. A worker asks the primary over the
// cluster channel (a route without limits never does); a place a worker held is given back
// when the worker exits, however it ends.
import type { Worker } from "node:cluster";
import { Codes, GatewayError } from "../../../core/errors.js";
import type { BucketOutcome } from "../../../edge/leaky-bucket.js";
import { leaseOnce, memoryLimitStore, type ConnLease, type LimitStore } from "../../../edge/limits.js";

export type LimitMessage =
  | { edgepass: "limit-req"; id: number; counter: string; rate: number; burst: number; nodelay: boolean }
  | { edgepass: "limit-acquire"; id: number; counter: string; max: number }
  | { edgepass: "limit-release"; lease: number }
  | { edgepass: "limit-answer"; id: number; outcome?: BucketOutcome; lease?: number | null };

/** What crosses the channel: the messages of one turn of the sender's loop, together, where
 *  each sent alone costs a serialisation, a write and a wake-up of the other side. A `return`
 *  route with both limits under `--workers 2` and wrk -c32: 11,000-14,000 requests/s with a
 *  message each, 14,000-15,000 batched (26,000-40,000 without limits). */
export interface LimitBatch {
  edgepass: "limits";
  messages: LimitMessage[];
}

/** Sends messages in one batch per turn of the loop. */
function batcher(send: (b: LimitBatch) => void): (m: LimitMessage) => void {
  let queue: LimitMessage[] = [];
  const flush = () => {
    const messages = queue;
    queue = [];
    send({ edgepass: "limits", messages });
  };
  return (m) => {
    if (queue.push(m) === 1) setImmediate(flush);
  };
}

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
      const answer = batcher((b) => void (w.isConnected() && w.send(b, undefined, undefined, () => {})));
      w.on("message", (batch: LimitBatch) => {
        if (batch?.edgepass === "limits") for (const m of batch.messages) take(m);
      });
      const take = (m: LimitMessage) => {
        switch (m.edgepass) {
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
      };
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
export function primaryLimitStore(channel: { send(b: LimitBatch): void; on(event: "message", f: (b: LimitBatch) => void): void }): LimitStore {
  let nextId = 0;
  const waiting = new Map<number, (m: LimitMessage & { edgepass: "limit-answer" }) => void>();
  channel.on("message", (batch) => {
    if (batch?.edgepass !== "limits") return;
    for (const m of batch.messages) if (m.edgepass === "limit-answer") waiting.get(m.id)?.(m);
  });
  const send = batcher((b) => channel.send(b));
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
      send(m);
    });
  const release = (lease: number) => send({ edgepass: "limit-release", lease });
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
      return leaseOnce(() => release(lease));
    },
  };
}
