// A route's cache through both hosts, on the wire, with nginx's fastcgi_cache as the reference:
// the same php-fpm script (test/fixtures/apps/php/cache.php answers every run with a body no
// other run gives, and the caching fields its query asks for) behind nginx and behind edgepass
// with the same rules, the same requests sent to each, and the answers compared: status,
// $upstream_cache_status (X-Cache), and which bodies were the same run.
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS, repoRoot } from "../helpers/process.js";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { phpLocation, startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";
import { linesLike } from "../helpers/log-lines.js";

let fpm: PhpFpm;
/** A second php-fpm, stopped by the use_stale test to play an origin that went away. */
let gone: PhpFpm;
let www: string;
let nginx: Server & { dir: string };

/** The locations beside the .php one: cache.php under a prefix, with the same rules written
 *  as nginx's directives and as edgepass's cache table. */
const PREFIXED: Array<{ prefix: string; upstream: "php" | "gone"; nginx: string; cache: string }> = [
  { prefix: "/cookie/", upstream: "php", nginx: "fastcgi_cache_valid 200 1m; fastcgi_ignore_headers Set-Cookie;", cache: '{ valid = "1m", ignore_headers = ["Set-Cookie"] }' },
  { prefix: "/bg/", upstream: "php", nginx: "fastcgi_cache_valid 200 1m; fastcgi_cache_use_stale updating; fastcgi_cache_background_update on;", cache: '{ valid = "1m", use_stale = ["updating"], background_update = true, max_entry = "8m" }' },
  { prefix: "/swr/", upstream: "php", nginx: "fastcgi_cache_valid 200 1m; fastcgi_cache_background_update on;", cache: '{ valid = "1m", background_update = true }' },
  { prefix: "/reval/", upstream: "php", nginx: "fastcgi_cache_valid 200 1m; fastcgi_cache_revalidate on;", cache: '{ valid = "1m", revalidate = true }' },
  { prefix: "/gone/", upstream: "gone", nginx: "fastcgi_cache_use_stale error timeout;", cache: '{ use_stale = ["error", "timeout"] }' },
  { prefix: "/gone-sie/", upstream: "gone", nginx: "", cache: "true" },
  // PURGE (stock nginx has no purge: edgepass alone is asked).
  { prefix: "/purge/", upstream: "php", nginx: "", cache: '{ valid = "1m", purge_from = ["127.0.0.1", "::1"] }' },
  { prefix: "/no-purge/", upstream: "php", nginx: "", cache: '{ valid = "1m", purge_from = ["10.0.0.0/8"] }' },
];

const nginxLocation = (p: (typeof PREFIXED)[number]) => `    location ^~ ${p.prefix} {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME ${www}/cache.php;
      fastcgi_pass 127.0.0.1:${(p.upstream === "php" ? fpm : gone).port};
      fastcgi_cache app;
      fastcgi_cache_key "$scheme$request_method$host$request_uri";
      ${p.nginx}
      add_header X-Cache $upstream_cache_status always;
    }`;

beforeAll(async () => {
  [fpm, gone] = await Promise.all([startPhpFpm({ maxChildren: 12 }), startPhpFpm({ maxChildren: 2 })]);
  www = publicCopy(path.join(repoRoot, "test/fixtures/apps/php"));
  nginx = await startNginx(
    () => `${phpLocation(www, `127.0.0.1:${fpm.port}`, `      fastcgi_cache app;
      fastcgi_cache_key "$scheme$request_method$host$request_uri";
      fastcgi_cache_valid 200 301 302 1m;
      fastcgi_cache_bypass $cookie_session $arg_nocache;
      fastcgi_no_cache $cookie_session $arg_nocache;
      fastcgi_cache_lock on;
      fastcgi_cache_use_stale http_500 updating;
      add_header X-Cache $upstream_cache_status always;
`)}
${PREFIXED.map(nginxLocation).join("\n")}`,
    (dir) => `  fastcgi_cache_path ${dir}/cache levels=1:2 keys_zone=app:1m inactive=10m;`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([nginx?.stop(), fpm?.stop(), gone?.stop()]);
});

const SITE = () => `[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[upstreams.gone]
protocol = "fastcgi"
servers = ["127.0.0.1:${gone.port}"]

[[routes]]
match = "~ \\\\.php$"
upstream = "php"
root = "${www}"
cache = { valid = "1m", bypass = ["$cookie_session", "$arg_nocache"], use_stale = ["http_500", "updating"] }
add_headers = { "X-Cache" = "$upstream_cache_status" }
${PREFIXED.map(
  (p) => `
[[routes]]
match = "^~ ${p.prefix}"
upstream = "${p.upstream}"
root = "${www}"
script = "/cache.php"
cache = ${p.cache}
add_headers = { "X-Cache" = "$upstream_cache_status" }
`,
).join("")}`;

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** With `leave`, the client goes once the head is there: the body is "(left)". */
function get(base: string, target: string, headers: Record<string, string> = {}, method = "GET", leave = false): Promise<Got> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: target, method, headers: { host: "cache.test", ...headers }, agent: false }, (res) => {
      if (leave) {
        res.socket.destroy();
        return resolve({ status: res.statusCode!, headers: res.headers, body: "(left)" });
      }
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

type Step = { target: string; headers?: Record<string, string>; method?: string; waitMs?: number; leave?: boolean };

/** Each answer as "status X-Cache body", the body named by the order its run first appeared
 *  (A, B…), so two gateways' sequences compare although their runs differ. `tag` goes on every
 *  target: nginx is asked once per host, each time with keys of its own. */
async function sequence(base: string, steps: Step[], tag: string): Promise<string[]> {
  const names = new Map<string, string>();
  const out: string[] = [];
  for (const s of steps) {
    if (s.waitMs) await new Promise((r) => setTimeout(r, s.waitMs));
    const r = await get(base, `${s.target}&on=${tag}`, s.headers, s.method, s.leave);
    let name = s.leave ? "(left)" : "(head)";
    if (s.method !== "HEAD" && !s.leave) {
      const run = /run [0-9a-f]+/.exec(r.body)?.[0] ?? r.body.trim();
      if (!names.has(run)) names.set(run, String.fromCharCode(65 + names.size));
      name = names.get(run)!;
    }
    out.push(`${r.status} ${r.headers["x-cache"] ?? "-"} ${name}`);
  }
  return out;
}

const NGINX = () => `http://127.0.0.1:${nginx.port}`;
const twice = (target: string): Step[] => [{ target }, { target }];

/** Kept for 1 s; asked for once it expired, again while its update (a 500 ms run) is under
 *  way, and once that is done. */
const updatedMeanwhile = (target: string): Step[] => [{ target }, { target, waitMs: 2100 }, { target }, { target, waitMs: 900 }];

/** What nginx answers, then each host; every scenario names the answer it expects as well. */
const SCENARIOS: Array<[string, Step[], string[]]> = [
  ["valid: a 200 with no caching fields is kept for `valid`", twice("/cache.php?t=valid"), ["200 MISS A", "200 HIT A"]],
  ["Cache-Control: no-store is not kept", twice("/cache.php?cc=no-store"), ["200 MISS A", "200 MISS B"]],
  ["Cache-Control: private is not kept, whatever its max-age", twice("/cache.php?cc=private,max-age=60"), ["200 MISS A", "200 MISS B"]],
  ["Set-Cookie is not kept", twice("/cache.php?cookie=1"), ["200 MISS A", "200 MISS B"]],
  ["X-Accel-Expires: 0 is not kept", twice("/cache.php?xae=0"), ["200 MISS A", "200 MISS B"]],
  ["X-Accel-Expires wins over Cache-Control: no-store", twice("/cache.php?xae=60&cc=no-store"), ["200 MISS A", "200 HIT A"]],
  ["a 404 is not among valid's statuses", twice("/cache.php?status=404"), ["404 MISS A", "404 MISS B"]],
  ["a 404 with max-age is kept", twice("/cache.php?status=404&cc=max-age=60"), ["404 MISS A", "404 HIT A"]],
  ["Expires in the future is kept", twice("/cache.php?expires=60&t=exp"), ["200 MISS A", "200 HIT A"]],
  ["Vary: each variant is kept apart", [
    { target: "/cache.php?vary=X-Lang", headers: { "x-lang": "en" } },
    { target: "/cache.php?vary=X-Lang", headers: { "x-lang": "fr" } },
    { target: "/cache.php?vary=X-Lang", headers: { "x-lang": "en" } },
  ], ["200 MISS A", "200 MISS B", "200 HIT A"]],
  ["a bypass cookie goes to the origin and keeps its answer out", [
    { target: "/cache.php?t=bypass", headers: { cookie: "session=1" } },
    { target: "/cache.php?t=bypass" },
    { target: "/cache.php?t=bypass", headers: { cookie: "session=1" } },
    { target: "/cache.php?t=bypass" },
  ], ["200 BYPASS A", "200 MISS B", "200 BYPASS C", "200 HIT B"]],
  ["HEAD and GET are kept apart by the key's $request_method", [
    { target: "/cache.php?t=head", method: "HEAD" },
    { target: "/cache.php?t=head" },
    { target: "/cache.php?t=head", method: "HEAD" },
    { target: "/cache.php?t=head" },
  ], ["200 MISS (head)", "200 MISS A", "200 HIT (head)", "200 HIT A"]],
  ["a POST is never cached, and $upstream_cache_status is empty: add_header adds no X-Cache", [
    { target: "/cache.php?t=post", method: "POST" },
    { target: "/cache.php?t=post", method: "POST" },
  ], ["200 - A", "200 - B"]],
  ["an expired answer stands in for the origin's 500 (use_stale http_500), then the next run replaces it", [
    { target: "/cache.php?cc=max-age=1" },
    { target: "/cache.php?cc=max-age=1", headers: { cookie: "fail=1" }, waitMs: 2100 },
    { target: "/cache.php?cc=max-age=1" },
    { target: "/cache.php?cc=max-age=1" },
  ], ["200 MISS A", "200 STALE A", "200 EXPIRED B", "200 HIT B"]],
  ["background_update: the request that finds the answer expired gets it at once (STALE), the next one while it is updated too (UPDATING), then the new one", [
  ...updatedMeanwhile("/bg/x?cc=max-age=1&sleep=500")], ["200 MISS A", "200 STALE A", "200 UPDATING A", "200 HIT B"]],
  ["the origin's stale-while-revalidate lets an expired answer stand in while it is updated, without use_stale", [
  ...updatedMeanwhile("/swr/x?cc=max-age=1,stale-while-revalidate=30&sleep=500")], ["200 MISS A", "200 STALE A", "200 UPDATING A", "200 HIT B"]],
  ["past its stale-while-revalidate an expired answer waits for the origin", [
    { target: "/swr/x?cc=max-age=1,stale-while-revalidate=1&t=past" },
    { target: "/swr/x?cc=max-age=1,stale-while-revalidate=1&t=past", waitMs: 3100 },
  ], ["200 MISS A", "200 EXPIRED B"]],
  ["revalidate: the origin's 304 to the entry's validators renews it for as long as the 304 says", [
    { target: "/reval/x?cc=max-age=1&reval=1" },
    { target: "/reval/x?cc=max-age=1&reval=1", waitMs: 2100 },
    { target: "/reval/x?cc=max-age=1&reval=1" },
  ], ["200 MISS A", "200 REVALIDATED A", "200 HIT A"]],
  ["revalidate: a 304 that says nothing renews the entry for its status's `valid`", [
    { target: "/reval/x?cc=max-age=1&reval=2" },
    { target: "/reval/x?cc=max-age=1&reval=2", waitMs: 2100 },
    { target: "/reval/x?cc=max-age=1&reval=2" },
  ], ["200 MISS A", "200 REVALIDATED A", "200 HIT A"]],
  ["revalidate: a client's own If-Modified-Since is answered from the renewed entry", [
    { target: "/reval/x?cc=max-age=1&reval=1&t=ims" },
    { target: "/reval/x?cc=max-age=1&reval=1&t=ims", headers: { "if-modified-since": "Mon, 02 Nov 2026 10:00:00 GMT" }, waitMs: 2100 },
    { target: "/reval/x?cc=max-age=1&reval=1&t=ims" },
  ], ["200 MISS A", "304 REVALIDATED B", "200 HIT A"]],
  ["revalidate: an entry without validators is asked for anew", [
    { target: "/reval/x?cc=max-age=1&t=none" },
    { target: "/reval/x?cc=max-age=1&t=none", waitMs: 2100 },
  ], ["200 MISS A", "200 EXPIRED B"]],
  ["a client's validators never reach the origin: its 304 would be no answer to keep", [
    { target: "/reval/x?cc=max-age=60&reval=1&t=client", headers: { "if-none-match": '"r1"' } },
    // nginx sends the 304 before it has stored the answer it read: a moment for it to land.
    { target: "/reval/x?cc=max-age=60&reval=1&t=client", waitMs: 300 },
  ], ["304 MISS A", "200 HIT B"]],
  ["stale-if-error is not taken for the origin's 500: that is its answer", [
    { target: "/reval/x?cc=max-age=1,stale-if-error=60&t=sie" },
    { target: "/reval/x?cc=max-age=1,stale-if-error=60&t=sie", headers: { cookie: "fail=1" }, waitMs: 2100 },
  ], ["200 MISS A", "500 EXPIRED B"]],
];

describe.each(BOTH_HOSTS)("a route's cache on %s", (name, start) => {
  const tag = name.split(" ")[1];
  const suite = gatewayForSuite(start, () => SITE());

  it.each(SCENARIOS)("as nginx: %s", async (_name, steps, expected) => {
    const [theirs, ours] = await Promise.all([sequence(NGINX(), steps, tag), sequence(suite.dev.base, steps, tag)]);
    expect(ours).toEqual(theirs);
    expect(ours).toEqual(expected);
  });

  it("background_update: the client given the expired answer leaves mid-body (4 MiB), and the update goes on; nginx's ends with that client", async () => {
    const target = "/bg/x?cc=max-age=1&sleep=500&pad=4096&t=leave";
    const steps: Step[] = [{ target }, { target, waitMs: 2100, leave: true }, { target, waitMs: 900 }];
    const [theirs, ours] = await Promise.all([sequence(NGINX(), steps, tag), sequence(suite.dev.base, steps, tag)]);
    expect(ours).toEqual(["200 MISS A", "200 STALE (left)", "200 HIT B"]);
    // nginx runs the update as a subrequest of the request that found the entry expired, and
    // it is finalized with it: the next client gets the old answer again (and starts another).
    expect(theirs).toEqual(["200 MISS A", "200 STALE (left)", "200 STALE A"]);
  });

  it("a hit answers If-None-Match with 304 and a byte range with 206 itself (where the origin said Accept-Ranges), as nginx does (the origin is asked without them)", async () => {
    for (const base of [NGINX(), suite.dev.base]) {
      const t = `/cache.php?etag=1&ranges=1&on=${tag}`;
      // On the miss too: the origin's answer (asked without the validators) is matched here.
      const first = await get(base, t, { "if-none-match": '"v1"' });
      expect([first.status, first.headers["x-cache"], first.body, first.headers.etag]).toEqual([304, "MISS", "", '"v1"']);
      const whole = await get(base, t);
      expect([whole.status, whole.headers["x-cache"], whole.body.startsWith("run ")]).toEqual([200, "HIT", true]);
      const notModified = await get(base, t, { "if-modified-since": "Mon, 02 Nov 2026 10:00:00 GMT" });
      expect([notModified.status, notModified.headers["x-cache"], notModified.body]).toEqual([304, "HIT", ""]);
      const failed = await get(base, t, { "if-match": '"other"' });
      expect([failed.status, failed.headers["x-cache"]]).toEqual([412, "HIT"]);
      const part = await get(base, t, { range: "bytes=4-7" });
      expect([part.status, part.headers["x-cache"], part.body, part.headers["content-range"]]).toEqual([206, "HIT", whole.body.slice(4, 8), `bytes 4-7/${whole.body.length}`]);
      const missPart = await get(base, `${t}&miss`, { range: "bytes=0-2" });
      expect([missPart.status, missPart.headers["x-cache"], missPart.body]).toEqual([206, "MISS", "run"]);
      // Without Accept-Ranges from the origin, a range is answered with the whole page.
      const plain = `/cache.php?t=noranges&on=${tag}`;
      await get(base, plain);
      const full = await get(base, plain, { range: "bytes=0-2" });
      expect([full.status, full.headers["x-cache"], full.body.length > 3]).toEqual([200, "HIT", true]);
    }
  });

  it("past nginx: with Set-Cookie in ignore_headers the answer is kept but its cookie is not, where nginx hands the first visitor's cookie to the next", async () => {
    const t = `/cookie/x?cookie=1&on=${tag}`;
    const [miss, hit] = [await get(suite.dev.base, t), await get(suite.dev.base, t)];
    expect([miss.headers["x-cache"], Boolean(miss.headers["set-cookie"]), hit.headers["x-cache"], hit.headers["set-cookie"], hit.body === miss.body]).toEqual(["MISS", true, "HIT", undefined, true]);
    const [theirMiss, theirHit] = [await get(NGINX(), t), await get(NGINX(), t)];
    expect([theirMiss.headers["x-cache"], theirHit.headers["x-cache"], theirHit.headers["set-cookie"]]).toEqual(["MISS", "HIT", theirMiss.headers["set-cookie"]]);
  });

  it("X-Accel-Expires is for the cache: the client never sees it, on a miss or a hit, as behind nginx", async () => {
    for (const base of [NGINX(), suite.dev.base]) {
      const t = `/cache.php?xae=60&t=hidden&on=${tag}`;
      const [miss, hit] = [await get(base, t), await get(base, t)];
      expect([miss.headers["x-cache"], miss.headers["x-accel-expires"], hit.headers["x-cache"], hit.headers["x-accel-expires"]]).toEqual(["MISS", undefined, "HIT", undefined]);
    }
  });

  it("twelve requests at once for a cold page: the origin runs once and the rest wait for its answer (lock), as behind nginx", async () => {
    for (const base of [NGINX(), suite.dev.base]) {
      const all = await Promise.all(Array.from({ length: 12 }, () => get(base, `/cache.php?sleep=300&on=${tag}`)));
      expect(new Set(all.map((r) => r.body)).size).toBe(1);
      expect(all.map((r) => r.headers["x-cache"]).sort()).toEqual([...Array(11).fill("HIT"), "MISS"]);
    }
  });

  it("past nginx: a request with credentials is neither answered from the cache nor kept (BYPASS), where nginx would answer it with another user's page", async () => {
    const authorization = `Basic ${Buffer.from("a:b").toString("base64")}`;
    const a = await get(suite.dev.base, "/cache.php?t=auth");
    const b = await get(suite.dev.base, "/cache.php?t=auth", { authorization });
    const c = await get(suite.dev.base, "/cache.php?t=auth");
    expect([a.headers["x-cache"], b.headers["x-cache"], c.headers["x-cache"]]).toEqual(["MISS", "BYPASS", "HIT"]);
    expect(b.body).not.toBe(a.body);
    expect(c.body).toBe(a.body);
    const n = await get(NGINX(), `/cache.php?t=auth&on=${tag}`);
    const m = await get(NGINX(), `/cache.php?t=auth&on=${tag}`, { authorization });
    expect([n.headers["x-cache"], m.headers["x-cache"], m.body]).toEqual(["MISS", "HIT", n.body]);
  });

  it("PURGE from a purge_from address removes the URL's entries (200, then 404); from another, 403 and the entry stays", async () => {
    const t = `/purge/x?t=purge&on=${tag}`;
    const first = await get(suite.dev.base, t);
    expect((await get(suite.dev.base, t)).headers["x-cache"]).toBe("HIT");
    const purged = await get(suite.dev.base, t, {}, "PURGE");
    expect([purged.status, purged.body]).toEqual([200, `Purged ${t} (1 entry).\n`]);
    const after = await get(suite.dev.base, t);
    expect([after.headers["x-cache"], after.body === first.body]).toEqual(["MISS", false]);
    expect((await get(suite.dev.base, `/purge/never?on=${tag}`, {}, "PURGE")).status).toBe(404);
    const kept = `/no-purge/x?on=${tag}`;
    await get(suite.dev.base, kept);
    const refused = await get(suite.dev.base, kept, {}, "PURGE");
    expect([refused.status, refused.headers["x-edgepass-error"]]).toEqual([403, "ACCESS_DENIED"]);
    expect((await get(suite.dev.base, kept)).headers["x-cache"]).toBe("HIT");
  });

  it("a hit carries Age, and the request line says cache HIT with from \"cache\"", async () => {
    await get(suite.dev.base, "/cache.php?t=age");
    await new Promise((r) => setTimeout(r, 1100));
    const hit = await get(suite.dev.base, "/cache.php?t=age");
    expect(hit.headers["x-cache"]).toBe("HIT");
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(1);
    await expect.poll(() => linesLike(suite.dev.run.stdout, { path: "/cache.php", cache: "HIT", from: "cache", status: 200 }).length).toBeGreaterThan(0);
  });
});

describe("use_stale error: the origin went away", () => {
  it("an expired answer stands in when php-fpm cannot be reached (use_stale error, or within the origin's stale-if-error), on nginx and on both hosts alike (pooled on the edge: the pool object's 502)", async () => {
    const [serve, dev] = await Promise.all(BOTH_HOSTS.map(([, start]) => start(SITE())));
    try {
      const bases = [NGINX(), serve.base, dev.base];
      // use_stale error; the origin's stale-if-error of 60 s; and of 1 s, which has passed.
      const targets = ["/gone/x?cc=max-age=1", "/gone-sie/x?cc=max-age=1,stale-if-error=60", "/gone-sie/y?cc=max-age=1,stale-if-error=1"];
      const ask = () => Promise.all(bases.flatMap((b) => targets.map((t) => get(b, t))));
      const first = await ask();
      expect(first.map((r) => `${r.status} ${r.headers["x-cache"]}`)).toEqual(Array(9).fill("200 MISS"));
      await gone.stop();
      // nginx counts whole seconds: 3.1 s is past a 1 s max-age and 1 s of stale-if-error.
      await new Promise((r) => setTimeout(r, 3100));
      const later = await ask();
      expect(later.map((r) => `${r.status} ${r.headers["x-cache"]}`)).toEqual(Array(3).fill(["200 STALE", "200 STALE", "502 EXPIRED"]).flat());
      expect(later.filter((r) => r.status === 200).map((r) => r.body)).toEqual(first.filter((_, i) => i % 3 !== 2).map((r) => r.body));
      // Past its answer the failure is logged, with the request's id, as a warning.
      await expect.poll(() => /cache_stale_served/.test(serve.run.stderr)).toBe(true);
    } finally {
      await Promise.all([serve.stop(), dev.stop()]);
    }
  });
});
