// npm run soak -- [--host dev|serve] [--minutes N] [--clients N] [--only get|post|upload|chunked] [--no-hangups] [--no-restart]
//
// A bounded soak (default 3 minutes) of the gateway as a user runs it: `edgepass dev` (or, with
// --host serve, `edgepass serve`) with a plain config in front of a real php-fpm whose workers
// recycle (pm.max_requests), under a mix of GETs, form POSTs and uploads (known length and
// chunked), plus clients that hang up mid-request. At 40% of the run php-fpm is stopped and
// started again on the same port; `serve` also reloads its config (SIGHUP, with a new route
// that must then answer) at 60% and 80%, which must drop nothing.
// Prints failures by cause, split into what no gateway could have avoided and what it could
// have, and memory after the warm-up and at the end: the gateway's live JavaScript heap (the
// Worker and its pool objects, or the serve process, after a garbage collection, through the
// inspector: what our code holds) and the process's RSS (what the machine pays).
// Exit status 1 when there is an avoidable failure or the gateway's heap, less what workerd
// itself keeps of the sockets it closed, grew by more than 25%. workerd keeps every outbound
// socket a Durable Object ever opened, about 3.6 KB each, for the object's life (workerd issue
// 7202; bench/socket-retention-anchor.mjs measures it at the start of the run and the soak
// counts the sockets in the heap). RSS is reported, not judged: a Worker that only reads
// request bodies grows it as fast (bench/upload-rss-anchor.mjs). The last three options
// narrow the run down to isolate a finding.
//
// Which failures are unavoidable (only inside the restart window, from the moment php-fpm is
// told to stop until a second after it listens again):
//   - origin not listening: the gateway could not connect (502 UPSTREAM_CONNECT_FAILED);
//     with the only origin down there is nothing to forward to (nginx answers 502 too);
//   - non-idempotent and in flight: a POST already sent to the dying origin; resending it could
//     run it twice, which SECURITY.md forbids once a byte reached the origin;
//   - a GET the gateway sent once more (its log line's `retries`), cut again: the rule allows one.
// Everything else is avoidable: any failure outside the window, a GET cut by the restart and
// not sent again (an idempotent request can be), and a client connection reset on its next
// request after an exchange on it failed (the client was not told the connection would close).

import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { publicCopy, startPhpFpm, type PhpFpm } from "../test/helpers/php-fpm";
import { execFileSync } from "node:child_process";
import { linesLike } from "../test/helpers/log-lines";
import { repoRoot } from "../test/helpers/process";
import { hangUp, mixed, type Result } from "./soak-clients";
import { startGateway, type Heap, type Host, type SoakGateway } from "./soak-hosts";

const CHILDREN = 4;
const MAX_REQUESTS = 25;

interface Options {
  host: Host;
  minutes: number;
  clients: number;
  /** To isolate a finding: one kind of request only, no hang-ups, no restart. */
  only?: string;
  hangups: boolean;
  restart: boolean;
}

function parseArgs(argv: string[]): Options {
  const out: Options = { host: "dev", minutes: 3, clients: 12, hangups: true, restart: true };
  const bad = (a: string) => {
    console.error(`soak: bad option ${a}\nusage: npm run soak -- [--host dev|serve] [--minutes N] [--clients N] [--only get|post|upload|chunked] [--no-hangups] [--no-restart]`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--no-hangups") out.hangups = false;
    else if (a === "--no-restart") out.restart = false;
    else if (a === "--host" && (v === "dev" || v === "serve")) (out.host = v), i++;
    else if (a === "--minutes" && Number(v) > 0) (out.minutes = Number(v)), i++;
    else if (a === "--clients" && Number(v) >= 1) (out.clients = Math.floor(Number(v))), i++;
    else if (a === "--only" && ["get", "post", "upload", "chunked"].includes(v)) (out.only = v), i++;
    else bad(`${a} ${v ?? ""}`);
  }
  return out;
}

/** What workerd keeps per closed socket here, from the anchor (bytes). */
function socketRetentionBytes(): number {
  const out = execFileSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "bench/socket-retention-anchor.mjs"), "--sockets", "300", "--json"], { cwd: repoRoot, encoding: "utf8" });
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`bench/socket-retention-anchor.mjs printed no result:\n${out}`);
  return (JSON.parse(line) as { bytesPerSocket: number }).bytesPerSocket;
}


async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const { minutes, clients } = opts;
  const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  let fpm: PhpFpm | undefined;
  let gw: SoakGateway | undefined;
  try {
    fpm = await startPhpFpm({ maxChildren: CHILDREN, maxRequests: MAX_REQUESTS });
    const port = fpm.port;
    // The config a user writes from the README: one pool, max_connections = pm.max_children.
    // workerd's socket retention is what the dev heap is corrected by; serve has none.
    const perSocket = opts.host === "dev" ? socketRetentionBytes() : 0;
    gw = await startGateway(opts.host, `[gateway]
admin_path = "/_edgepass/pools"

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${port}"]
max_connections = ${CHILDREN}

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"

[[routes]]
match = "/"
upstream = "php"
root = "${www}"
script = "/wp-front.php"
`);
    const base = new URL(gw.base);
    console.log(`soak: ${minutes} min, ${clients} clients + 2 hanging up, through edgepass ${opts.host} at ${gw.base} to php-fpm :${port} (pm.max_children = ${CHILDREN}, pm.max_requests = ${MAX_REQUESTS})`);

    const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    const started = Date.now();
    const deadline = started + minutes * 60_000;
    const results: Result[] = [];
    const hangUps = new Map<string, number>();
    let counter = 0;
    let rssBefore = 0;
    let heapBefore: Heap | undefined;
    let rssMax = 0;
    const rssSamples: number[] = [];
    const window = { down: Infinity, up: -Infinity };
    const reloads: string[] = [];

    const loops = [
      ...Array.from({ length: clients }, async () => {
        while (Date.now() < deadline) results.push(await mixed(agent, base, counter++, opts.only));
      }),
      ...Array.from({ length: opts.hangups ? 2 : 0 }, async () => {
        while (Date.now() < deadline) {
          const kind = await hangUp(base, counter++);
          hangUps.set(kind, (hangUps.get(kind) ?? 0) + 1);
          await sleep(100);
        }
      }),
      (async () => {
        // Memory after a warm-up (30% of the run, at least 20 s: workerd's heap grows to its
        // working size under load first), then sampled every 2 s.
        await sleep(Math.max(20_000, minutes * 60_000 * 0.3));
        rssBefore = gw!.rssMiB();
        heapBefore = await gw!.heap();
        while (Date.now() < deadline) {
          rssSamples.push(gw!.rssMiB());
          rssMax = Math.max(rssMax, rssSamples[rssSamples.length - 1]);
          await sleep(2_000);
        }
      })(),
      (async () => {
        if (!opts.restart) return;
        await sleep(minutes * 60_000 * 0.4);
        window.down = Date.now();
        await fpm!.stop();
        fpm = await startPhpFpm({ maxChildren: CHILDREN, maxRequests: MAX_REQUESTS, port });
        window.up = Date.now();
        console.log(`php-fpm restarted on :${port} at ${((window.down - started) / 1000).toFixed(1)} s; down for ${window.up - window.down} ms`);
      })(),
      (async () => {
        // A config reload under load (serve): in-flight requests finish on the old config,
        // new ones take the new, and none fails for it; no window excuses a failure here.
        for (const at of gw!.reload ? [0.6, 0.8] : []) {
          await sleep(started + minutes * 60_000 * at - Date.now());
          const t = ((Date.now() - started) / 1000).toFixed(1);
          try {
            await gw!.reload!();
            reloads.push(`at ${t} s: ok`);
          } catch (e) {
            reloads.push(`at ${t} s: FAILED, ${(e as Error).message}`);
          }
        }
      })(),
    ];
    await Promise.all(loops);
    agent.destroy();
    await sleep(3_000); // let hang-ups and pooled connections settle
    const rssAfter = gw.rssMiB();
    const heapAfter = await gw.heap();
    const pool = await gw.pool();

    // --- classification ---
    const GRACE = 1_000;
    const inWindow = (r: Result) => r.start < window.up + GRACE && r.end >= window.down;
    // The gateway's own line for a failed request (by its X-Request-Id): what it tried.
    const gatewayLines = new Map(linesLike(gw.output(), { event: "request" }).map((l) => [String(l.request_id), l]));
    const lineOf = (r: Result) => (r.id ? gatewayLines.get(r.id) : undefined);
    const classify = (r: Result): [boolean, string] => {
      // A reset of a kept client connection right after an exchange on it failed: the client
      // was not told the connection would close (e.g. a 502 sent before the whole request
      // body was read), so its next request on it is lost. Avoidable in or out of the window.
      if (r.cause?.startsWith("conn ") && r.previous && r.previous !== "ok") {
        return [true, `${r.cause} on a kept client connection whose previous exchange failed (${r.previous})`];
      }
      if (inWindow(r)) {
        if (r.cause === "502 UPSTREAM_CONNECT_FAILED") return [false, "origin not listening during the restart"];
        if (r.method !== "GET") return [false, `non-idempotent, in flight when the origin stopped (${r.cause})`];
        // The retry rule sends a GET once more on a new connection; when that one also met
        // the origin going down, the rule was kept and nothing more could be done.
        if (Number(lineOf(r)?.retries ?? 0) >= 1) return [false, `idempotent, sent once more and cut again by the restart (${r.cause})`];
        return [true, `idempotent request cut by the restart (${r.cause})`];
      }
      return [true, `${r.cause} (${r.op})`];
    };
    const failures = results.filter((r) => !r.ok);
    const tally = (avoidable: boolean) => {
      const m = new Map<string, number>();
      for (const r of failures) {
        const [a, why] = classify(r);
        if (a === avoidable) m.set(why, (m.get(why) ?? 0) + 1);
      }
      return m;
    };
    const avoidable = tally(true);
    const unavoidable = tally(false);
    const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const byOp = new Map<string, number>();
    for (const r of results) byOp.set(r.op, (byOp.get(r.op) ?? 0) + 1);

    const growth = rssBefore > 0 ? (rssAfter - rssBefore) / rssBefore : 0;
    if (!heapBefore) throw new Error("the run ended before the warm-up did");
    const socketsKept = heapAfter.sockets - heapBefore.sockets;
    const socketMiB = (socketsKept * perSocket) / 2 ** 20;
    const heapGrowth = (heapAfter.liveMiB - socketMiB - heapBefore.liveMiB) / heapBefore.liveMiB;
    const lines = [
      "",
      `requests: ${results.length} in ${((Date.now() - started) / 1000).toFixed(0)} s (${[...byOp].map(([op, n]) => `${op} ${n}`).join(", ")})`,
      `hang-ups: ${[...hangUps].map(([k, n]) => `${k} ${n}`).join(", ")}`,
      !opts.restart ? "restart: none (--no-restart)" : `restart window: ${window.up - window.down} ms down, +${GRACE} ms grace; ${results.filter(inWindow).length} requests overlapped it`,
      `pool${reloads.length ? " (since the last reload)" : ""}: served ${pool.served}, resent on a fresh connection ${pool.retried}, closed by php-fpm ${pool.closedByServer}, connect failures ${pool.connectFailures}`,
      `unavoidable failures: ${count(unavoidable)}`,
      ...[...unavoidable].map(([why, n]) => `  ${n}  ${why}`),
      `avoidable failures: ${count(avoidable)}`,
      ...[...avoidable].map(([why, n]) => `  ${n}  ${why}`),
      ...(reloads.length ? [`config reloads (SIGHUP): ${reloads.join("; ")}`] : []),
      `gateway's live heap: ${heapBefore.liveMiB.toFixed(1)} MiB after the warm-up, ${heapAfter.liveMiB.toFixed(1)} MiB at the end; ${opts.host === "dev" ? `of that, ${socketsKept} closed sockets workerd keeps × ${perSocket} B (anchor) = ${socketMiB.toFixed(1)} MiB; the rest` : "it"} grew ${(heapGrowth * 100).toFixed(1)}%`,
      `${gw.process} RSS: ${rssBefore.toFixed(1)} MiB after the warm-up, ${rssAfter.toFixed(1)} MiB at the end (max ${rssMax.toFixed(1)}; ${(growth * 100).toFixed(1)}%; reported, not judged)`,
    ];
    console.log(lines.join("\n"));
    // Each avoidable failure with the gateway's line for it, so a failed run says what happened.
    for (const r of failures.filter((f) => classify(f)[0]).slice(0, 10)) {
      console.log(`  ${r.op} at ${((r.start - started) / 1000).toFixed(1)} s: ${r.cause}; gateway: ${JSON.stringify(lineOf(r) ?? "no line")}`);
    }
    const ok = count(avoidable) === 0 && heapGrowth <= 0.25 && reloads.every((r) => r.endsWith("ok"));
    console.log(ok ? "soak: PASS" : "soak: FAIL");
    if (heapGrowth > 0.25 || process.env.SOAK_VERBOSE) {
      const before = new Map(heapBefore.census.byName.map((r) => [r.name, r]));
      const grown = heapAfter.census.byName
        .map((r) => ({ name: r.name, count: r.count - (before.get(r.name)?.count ?? 0), bytes: r.bytes - (before.get(r.name)?.bytes ?? 0) }))
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 15);
      console.log("heap growth by kind (count, bytes):\n" + grown.map((g) => `  ${g.count}  ${g.bytes}  ${g.name}`).join("\n"));
    }
    if (process.env.SOAK_VERBOSE) {
      for (const r of failures.slice(0, 50)) console.log(JSON.stringify(r));
      const file = path.join(tmpdir(), "edgepass-soak-gateway.log");
      writeFileSync(file, gw.output());
      console.log(`RSS samples (MiB): ${rssSamples.map((x) => x.toFixed(0)).join(" ")}\ngateway output: ${file}`);
    }
    return ok ? 0 : 1;
  } finally {
    await gw?.stop();
    await fpm?.stop();
    rmSync(www, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`soak: ${(e as Error).stack ?? e}`);
    process.exit(2);
  },
);
