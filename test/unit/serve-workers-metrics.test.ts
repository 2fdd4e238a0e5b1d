// The primary of `edgepass serve --workers N` asks every worker for its metrics on each scrape.
// A worker that dies between the primary's look at it and the message has a closed channel:
// Node then reports the send's failure to its callback, or, with none, as an 'error' event on
// the worker, which crashed the primary (seen as a scrape's "socket hang up" in the workers
// test). The stand-in workers here behave as node:cluster's do (checked against Node 20: a
// send on a closed channel without a callback throws ERR_IPC_CHANNEL_CLOSED from an 'error'
// event nobody handles).
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { askWorkers, type WorkerMessage } from "../../src/adapter/node/cli/workers.js";

class StandIn extends EventEmitter {
  constructor(
    readonly process: { pid: number },
    private readonly alive: boolean,
  ) {
    super();
  }
  isConnected(): boolean {
    return true; // as seen by the primary a moment before the worker's channel closed
  }
  send(m: WorkerMessage, _handle?: unknown, _options?: unknown, callback?: (e: Error | null) => void): boolean {
    if (!this.alive) {
      const e = Object.assign(new Error("Channel closed"), { code: "ERR_IPC_CHANNEL_CLOSED" });
      if (callback) process.nextTick(callback, e);
      else process.nextTick(() => this.emit("error", e));
      return false;
    }
    if (m.edgepass === "metrics?") {
      setImmediate(() => this.emit("message", { edgepass: "metrics", id: m.id, samples: [{ name: "edgepass_requests_total", labels: {}, value: 7 }] }));
    }
    callback?.(null);
    return true;
  }
}

describe("askWorkers", () => {
  it("a worker whose channel closed is left out at once; the others' samples come with their pids", async () => {
    // A timeout far longer than the test's: an answer that waited for it would fail the test.
    const samples = await askWorkers([new StandIn({ pid: 11 }, true), new StandIn({ pid: 12 }, false)] as never, 60_000);
    expect(samples).toEqual([{ name: "edgepass_requests_total", labels: { pid: "11" }, value: 7 }]);
  }, 5_000);

  it("with every worker gone it answers with nothing, without waiting", async () => {
    expect(await askWorkers([new StandIn({ pid: 21 }, false)] as never, 60_000)).toEqual([]);
  }, 5_000);
});
