// `edgepass serve --workers 2`: two processes share the port and both answer (the metrics,
// collected by the primary, carry each worker's pid); SIGHUP reaches both; a worker killed
// with SIGKILL is replaced; SIGTERM ends the primary and every worker, none left behind.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/php-fpm.js";
import { edgepass, waitFor, type Run } from "../helpers/process.js";
import { parseWire, rawExchange, rawRequest } from "../helpers/raw-http.js";
import { h2Request } from "../helpers/h2-client.js";
import { httpsGet, selfSigned } from "../helpers/tls.js";

let run: Run | undefined;
const dir = mkdtempSync(path.join(tmpdir(), "edgepass-workers-"));

afterAll(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill("SIGKILL");
    await run.exit;
  }
  rmSync(dir, { recursive: true, force: true });
});

const toml = (metricsPort: number, text: string) => `
[serve]
metrics_listen = "127.0.0.1:${metricsPort}"

[[routes]]
match = "/"
return = "200 ${text}"
`;

const scrape = (url: string) =>
  new Promise<string>((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });

/** pid → requests answered, from the exposition's edgepass_requests_total samples. */
function requestsByPid(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^edgepass_requests_total\{[^}]*pid="(\d+)"[^}]*\} (\d+)$/gm)) out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  return out;
}
const workerPids = (text: string) => new Set([...text.matchAll(/^edgepass_connections_total\{pid="(\d+)"\} \d+$/gm)].map((m) => m[1]));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 45_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${run?.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("edgepass serve --workers 2", () => {
  it("both workers answer, reload on SIGHUP, a killed worker is replaced, SIGTERM leaves no process", async () => {
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    writeFileSync(path.join(dir, "site.toml"), toml(metricsPort, "first"));
    run = edgepass(["serve", "--config", "site.toml", "--port", "0", "--workers", "2"], dir);
    const [, base, primary] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+) \(config site\.toml, edgepass serve, 2 workers, primary pid (\d+)\)/, 90_000);
    expect(Number(primary)).toBe(run.child.pid);

    for (let i = 0; i < 10; i++) {
      const r = await rawRequest(base!, { path: "/" });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe("first");
    }
    const first = await scrape(metricsUrl);
    const counts = requestsByPid(first);
    expect(counts.size).toBe(2);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(10);
    for (const [pid, n] of counts) {
      expect(pid).not.toBe(primary);
      expect(n).toBeGreaterThan(0);
    }
    const pids = [...counts.keys()].map(Number);

    // SIGHUP to the primary reaches both workers.
    writeFileSync(path.join(dir, "site.toml"), toml(metricsPort, "second"));
    run.child.kill("SIGHUP");
    await until("both workers to reload", async () => ((run!.stdout.match(/reloaded config/g) ?? []).length >= 2 ? true : undefined));
    for (let i = 0; i < 4; i++) expect((await rawRequest(base!, { path: "/" })).body.toString()).toBe("second");

    // A worker that dies is replaced; requests go on being answered.
    process.kill(pids[0], "SIGKILL");
    await until("a replacement worker", async () => {
      const now = workerPids(await scrape(metricsUrl));
      return now.size === 2 && !now.has(String(pids[0])) ? now : undefined;
    });
    expect(run.stderr).toContain(`worker ${pids[0]} exited (SIGKILL); starting another`);
    const current = [...workerPids(await scrape(metricsUrl))].map(Number);
    for (let i = 0; i < 4; i++) expect((await rawRequest(base!, { path: "/" })).status).toBe(200);
    expect(await scrape(metricsUrl)).toMatch(/^edgepass_worker_restarts_total\{pid="\d+"\} 1$/m);

    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    for (const pid of [...current, ...pids, run.child.pid!]) {
      await until(`pid ${pid} to be gone`, async () => (alive(pid) ? undefined : true), 15_000);
    }
  });

  it("with [serve] tls: both workers answer HTTPS, over HTTP/1.1 and HTTP/2, a plain HTTP client is told to use https://, and --redirect-port redirects", async () => {
    const metricsPort = await freePort();
    const pair = selfSigned("workers");
    writeFileSync(path.join(dir, "cert.pem"), pair.cert);
    writeFileSync(path.join(dir, "key.pem"), pair.key);
    writeFileSync(path.join(dir, "tls.toml"), toml(metricsPort, "secure").replace("[serve]", '[serve]\ntls = { cert = "cert.pem", key = "key.pem" }'));
    const redirectPort = await freePort();
    run = edgepass(["serve", "--config", "tls.toml", "--port", "0", "--workers", "2", "--redirect-port", String(redirectPort)], dir);
    const [, base] = await waitFor(run, /listening on (https:\/\/127\.0\.0\.1:\d+) \(config tls\.toml, edgepass serve, 2 workers/, 90_000);
    // --redirect-port under --workers: the port is shared as the main one is.
    await waitFor(run, new RegExp(`redirecting http://127\\.0\\.0\\.1:${redirectPort} to https://`));
    for (let i = 0; i < 2; i++) {
      const moved = parseWire((await rawExchange(`http://127.0.0.1:${redirectPort}`, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 5_000)).raw, "GET");
      expect([moved.status, moved.get("location")]).toEqual([301, `https://a:${new URL(base!).port}/x`]);
    }
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    // Connections are handed to the workers in turn: two plain ones reach both.
    for (let i = 0; i < 2; i++) {
      const plain = parseWire((await rawExchange(base!.replace("https:", "http:"), "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 5_000)).raw, "GET");
      expect(plain.status).toBe(400);
      expect(plain.get("x-edgepass-error")).toBe("PLAIN_HTTP_TO_HTTPS_PORT");
    }
    await until("HTTPS answered by both workers", async () => {
      const r = await httpsGet(base!, pair.cert, "/");
      expect([r.status, r.body.toString()]).toEqual([200, "secure"]);
      // The 200s by pid: HTTPS answered by each worker.
      const byPid = requestsByPid((await scrape(metricsUrl)).split("\n").filter((l) => l.includes('code="2xx"')).join("\n"));
      return byPid.size === 2 && [...byPid.values()].every((n) => n >= 1) ? byPid : undefined;
    });
    // And HTTP/2 (ALPN h2) by each: both their counts of 200s grow.
    const twoHundreds = async () => requestsByPid((await scrape(metricsUrl)).split("\n").filter((l) => l.includes('code="2xx"')).join("\n"));
    const before = await twoHundreds();
    await until("HTTP/2 answered by both workers", async () => {
      const r = await h2Request(base!, pair.cert, { path: "/" });
      expect([r.status, r.alpn, r.body.toString()]).toEqual([200, "h2", "secure"]);
      const now = await twoHundreds();
      return now.size === 2 && [...now].every(([pid, n]) => n > (before.get(pid) ?? 0)) ? now : undefined;
    });
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
  });

  // nginx's zones are one memory every worker shares; counted in each worker, two would let a
  // client through twice as often.
  it("limit_req is counted once for all workers, and a reload keeps the count", async () => {
    writeFileSync(path.join(dir, "limits.toml"), `[[routes]]\nmatch = "/"\nreturn = "200 ok"\nlimit_req = { key = "ip", rate = "1r/m" }\n`);
    run = edgepass(["serve", "--config", "limits.toml", "--port", "0", "--workers", "2"], dir);
    const [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+) \(config limits\.toml, edgepass serve, 2 workers/, 90_000);
    // New connections, handed to the workers in turn: each worker takes two.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await rawRequest(base!, { path: "/" })).status);
    expect(statuses).toEqual([200, 429, 429, 429]);
    run.child.kill("SIGHUP");
    await until("both workers to reload", async () => ((run!.stdout.match(/reloaded config/g) ?? []).length >= 2 ? true : undefined));
    for (let i = 0; i < 2; i++) expect((await rawRequest(base!, { path: "/" })).status).toBe(429);
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
  });

  it("active health checks run once for all workers, in the primary, and every worker follows them", async () => {
    // Two origins: one healthy, one whose health path fails but which would answer requests.
    const pings = { good: 0, bad: 0 };
    const origin = (name: "good" | "bad") =>
      http.createServer((req, res) => {
        if (req.url === "/ping") {
          pings[name]++;
          res.writeHead(name === "good" ? 200 : 500).end();
        } else res.end(name);
      });
    const good = origin("good");
    const bad = origin("bad");
    await Promise.all([good, bad].map((o) => new Promise<void>((r) => o.listen(0, "127.0.0.1", r))));
    const port = (o: http.Server) => (o.address() as { port: number }).port;
    try {
      writeFileSync(
        path.join(dir, "health.toml"),
        `[upstreams.app]\nprotocol = "http"\nservers = ["127.0.0.1:${port(good)}", "127.0.0.1:${port(bad)}"]\nhealth_check = { interval = "1s", fails = 1, passes = 1, path = "/ping" }\n\n[[routes]]\nmatch = "/"\nupstream = "app"\n`,
      );
      run = edgepass(["serve", "--config", "health.toml", "--port", "0", "--workers", "2"], dir);
      const [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+) \(config health\.toml, edgepass serve, 2 workers/, 90_000);
      const from = pings.good;
      await new Promise((r) => setTimeout(r, 4000));
      // One probe a second for both workers: about 4 in 4 s (each worker probing on its own
      // made about 8).
      expect(pings.good - from).toBeGreaterThanOrEqual(2);
      expect(pings.good - from).toBeLessThanOrEqual(5);
      // The failing server is out of rotation in both workers, though neither probed it.
      const bodies = new Set<string>();
      for (let i = 0; i < 12; i++) bodies.add((await rawRequest(base!, { path: "/" })).body.toString());
      expect([...bodies]).toEqual(["good"]);
      // Said once, by the one process that checks.
      expect(run.stderr.match(/"event":"upstream_server_down"/g)).toHaveLength(1);
      run.child.kill("SIGTERM");
      expect(await run.exit).toBe(0);
    } finally {
      good.close();
      bad.close();
    }
  }, 60_000);
});
