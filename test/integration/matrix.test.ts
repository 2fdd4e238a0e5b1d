// The deployment matrix: ONE `edgepass dev` process and ONE `edgepass serve` process, with ONE
// config, route /<row>/… to every kind of origin nginx's fastcgi_pass / scgi_pass / uwsgi_pass /
// proxy_pass tier fronts —
// CGI through fcgiwrap (alone and under spawn-fcgi), uWSGI over FastCGI, SCGI and uwsgi,
// PHP-FPM, gevent, gunicorn, Apache with mod_wsgi and with mod_python — and each row passes the
// same checks. The rows and their routes are in ./matrix/rows.ts; the app they all run is
// test/fixtures/apps (wsgi/app.py documents it).
//
// A row whose server cannot start (not installed: `npm run setup:test`) fails its own checks
// with the reason; the other rows still run.
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setCookies } from "../helpers/headers.js";
import { edgepass, waitFor, type Run } from "../helpers/process.js";
import { appsCopy } from "../helpers/servers/apps.js";
import type { Server } from "../helpers/servers/launch.js";
import { matrixConfig, rows, type Action, type Row } from "./matrix/rows.js";

const started = new Map<string, Server | Error>();
let apps: string;
let docroot: string;
let dir: string;
/** Both hosts on the same config and the same origins. */
const HOSTS = ["dev", "serve"] as const;
type Host = (typeof HOSTS)[number];
const gateways = new Map<Host, { run: Run; base: string }>();

/** The documents script-mode rows run: <docroot>/<row>/<file>, world-readable. */
function buildDocroot(): string {
  const root = mkdtempSync(path.join(tmpdir(), "edgepass-docroot-"));
  chmodSync(root, 0o755);
  for (const row of rows) {
    if (!row.script) continue;
    mkdirSync(path.join(root, row.name), { mode: 0o755 });
    for (const [name, source] of Object.entries(row.script.files)) {
      const from = path.join(apps, source);
      const to = path.join(root, row.name, name);
      copyFileSync(from, to);
      chmodSync(to, statSync(from).mode & 0o777);
    }
  }
  return root;
}

beforeAll(async () => {
  apps = appsCopy();
  docroot = buildDocroot();
  // All origins at once; each failure is kept for its own row's checks.
  const results = await Promise.allSettled(rows.map((row) => row.start(apps)));
  results.forEach((r, i) => started.set(rows[i].name, r.status === "fulfilled" ? r.value : (r.reason as Error)));

  const up = rows.flatMap((row) => {
    const s = started.get(row.name);
    return s instanceof Error || s === undefined ? [] : [{ row, port: s.port }];
  });
  dir = mkdtempSync(path.join(tmpdir(), "edgepass-matrix-"));
  writeFileSync(path.join(dir, "matrix.toml"), matrixConfig(up, docroot));
  await Promise.all(
    HOSTS.map(async (host) => {
      const run = edgepass([host, "--config", "matrix.toml", "--port", "0"], dir);
      gateways.set(host, { run, base: "" });
      const [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      gateways.set(host, { run, base: base! });
    }),
  );
});

afterAll(async () => {
  for (const { run } of gateways.values()) {
    run.child.kill("SIGTERM");
    await run.exit;
  }
  await Promise.all([...started.values()].map((s) => (s instanceof Error ? undefined : s.stop())));
  for (const d of [dir, docroot, apps]) if (d) rmSync(d, { recursive: true, force: true });
});

const tail = (s: string, n = 4000) => (s.length > n ? `…${s.slice(-n)}` : s);

/** Runs one check against `row` through `host`; a failure carries the origin's log and
 *  edgepass's stderr. */
async function check(host: Host, row: Row, fn: (url: (a: Action, query?: string) => string) => Promise<void>): Promise<void> {
  const server = started.get(row.name);
  if (server instanceof Error) throw server;
  const gw = gateways.get(host);
  if (!gw?.base) throw new Error(`edgepass ${host} did not start: ${gw?.run.stderr}`);
  const run = gw.run;
  try {
    await fn((a, query = "") => `${gw.base}${row.path(a)}${query}`);
  } catch (e) {
    const err = e as Error;
    err.message +=
      `\n--- ${server?.name} log (tail) ---\n${tail(server?.log() ?? "")}` +
      `\n--- edgepass stdout/stderr (tail) ---\n${tail(run?.stdout ?? "")}\n${tail(run?.stderr ?? "")}`;
    throw err;
  }
}

/** The request body for the round trip: not a multiple of any record or buffer size. */
const upload = Buffer.alloc(300_001);
for (let i = 0; i < upload.length; i++) upload[i] = (i * 31 + (i >> 9)) & 0xff;

/** What .../big streams: 64 pieces of 64 KiB, piece byte i = (i * 7 + 3) & 0xff. */
const piece = Buffer.alloc(65536);
for (let i = 0; i < piece.length; i++) piece[i] = (i * 7 + 3) & 0xff;
const big = Buffer.concat(Array.from({ length: 64 }, () => piece));

/** The first offset where two buffers differ, or -1: a 4 MiB diff is no message. */
function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe.each(HOSTS.flatMap((host) => rows.map((row) => [`edgepass ${host}: ${row.title}`, host, row] as const)))("%s", (_title, host, row) => {
  it("GET with a query: the query string arrives untouched, the path as routed", () =>
    check(host, row, async (url) => {
      const res = await fetch(url("query", "?x=1&y=a%20b&y=c"));
      expect(res.status).toBe(200);
      const seen = (await res.json()) as Record<string, string>;
      expect(seen.method).toBe("GET");
      expect(seen.query).toBe("x=1&y=a%20b&y=c");
      // The origin sees the whole original path: the prefix is the gateway's routing, not a
      // mount point it strips.
      expect(seen.path).toBe(row.path("query"));
      if (row.cgi) {
        expect({ script_name: seen.script_name, path_info: seen.path_info }).toEqual({
          script_name: row.cgi.scriptName,
          path_info: row.cgi.pathInfo,
        });
      }
    }));

  it("POST: a 300,001-byte body makes the round trip byte for byte", () =>
    check(host, row, async (url) => {
      const res = await fetch(url("echo"), {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: upload,
      });
      expect(res.status).toBe(200);
      const got = Buffer.from(await res.arrayBuffer());
      expect(got.length).toBe(upload.length);
      expect(createHash("sha256").update(got).digest("hex")).toBe(createHash("sha256").update(upload).digest("hex"));
    }));

  it("POST of unknown length (chunked from the client) makes the round trip", () =>
    check(host, row, async (url) => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let o = 0; o < upload.length; o += 50_000) c.enqueue(upload.subarray(o, o + 50_000));
          c.close();
        },
      });
      const res = await fetch(url("echo"), { method: "POST", body, duplex: "half" } as RequestInit);
      expect(res.status).toBe(200);
      const got = Buffer.from(await res.arrayBuffer());
      expect(createHash("sha256").update(got).digest("hex")).toBe(createHash("sha256").update(upload).digest("hex"));
    }));

  it("a non-200 status (418) passes through with the app's body", () =>
    check(host, row, async (url) => {
      const res = await fetch(url("status", "?code=418"));
      expect(res.status).toBe(418);
      expect(await res.text()).toBe("status 418\n");
    }));

  it("repeated response headers stay separate: two Set-Cookie, two X-Multi", () =>
    check(host, row, async (url) => {
      const res = await fetch(url("cookies"));
      expect(res.status).toBe(200);
      expect(setCookies(res.headers)).toEqual(["first=one; Path=/", "second=two; Path=/; HttpOnly"]);
      // fetch joins the other repeated fields with ", " — both values have to be there.
      expect(res.headers.get("x-multi")).toBe("a, b");
      expect(await res.text()).toBe("cookies set\n");
    }));

  it("a 4 MiB streamed response arrives whole and in order", () =>
    check(host, row, async (url) => {
      const res = await fetch(url("big"));
      expect(res.status).toBe(200);
      const got = Buffer.from(await res.arrayBuffer());
      expect(got.length).toBe(big.length);
      expect(firstDifference(got, big)).toBe(-1);
    }));
});
