// The live JavaScript heap of the gateway's isolate under `edgepass dev --inspector-port N`
// (the Worker and its pool objects), from a V8 heap snapshot: V8 collects garbage before it
// takes one, so the sum of the nodes is what is really held. (workerd's inspector ignores
// HeapProfiler.collectGarbage, so Runtime.getHeapUsage includes garbage and swings by tens of
// MiB under load.) A process whose RSS grows while this stays flat holds no JavaScript it
// should have let go.
import { WebSocket } from "undici";

/** The gateway's worker as workerd names it ("core:entry" is Miniflare's own). */
export const GATEWAY_WORKER = "core:user:edgepass";

export interface HeapCensus {
  /** Bytes held by live objects (the snapshot's self sizes summed). */
  liveBytes: number;
  /** Per "type:name" (constructor or kind): count and bytes, largest first. */
  byName: Array<{ name: string; count: number; bytes: number }>;
}

export async function heapCensus(inspectorPort: number, worker = GATEWAY_WORKER): Promise<HeapCensus> {
  return census(await takeSnapshot(`ws://127.0.0.1:${inspectorPort}/${worker}`));
}

/** The same for a Node process started with --inspect=127.0.0.1:PORT (`edgepass serve`). */
export async function nodeHeapCensus(inspectorPort: number): Promise<HeapCensus> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  if (!targets[0]) throw new Error(`no inspector target at 127.0.0.1:${inspectorPort}`);
  return census(await takeSnapshot(targets[0].webSocketDebuggerUrl));
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function census(s: Snapshot): HeapCensus {
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const agg = new Map<string, { count: number; bytes: number }>();
  let live = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const size = s.nodes[i + iSize];
    live += size;
    const key = `${types[s.nodes[i + iType]]}:${s.strings[s.nodes[i + iName]].slice(0, 60)}`;
    const a = agg.get(key) ?? { count: 0, bytes: 0 };
    a.count++;
    a.bytes += size;
    agg.set(key, a);
  }
  const byName = [...agg].map(([name, a]) => ({ name, ...a })).sort((x, y) => y.bytes - x.bytes);
  return { liveBytes: live, byName };
}

function takeSnapshot(url: string): Promise<Snapshot> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const chunks: string[] = [];
    const timer = setTimeout(() => (ws.close(), reject(new Error(`no heap snapshot from ${url} within 60 s`))), 60_000);
    ws.addEventListener("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.takeHeapSnapshot", params: { reportProgress: false } })));
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; method?: string; params?: { chunk: string }; error?: { message: string } };
      if (msg.method === "HeapProfiler.addHeapSnapshotChunk") {
        chunks.push(msg.params!.chunk);
        return;
      }
      if (msg.id !== 1) return;
      clearTimeout(timer);
      ws.close();
      if (msg.error) reject(new Error(`HeapProfiler.takeHeapSnapshot: ${msg.error.message}`));
      else resolve(JSON.parse(chunks.join("")) as Snapshot);
    });
    ws.addEventListener("error", () => (clearTimeout(timer), reject(new Error(`cannot reach the inspector at ${url}`))));
  });
}
