// The request line in nginx's text formats ([gateway] log = "combined", or a template), read
// from each host's stdout and set beside real nginx's access log for the same requests: a log
// reader built for nginx (fail2ban, GoAccess) must find the same line.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BOTH_HOSTS, repoRoot, type Dev } from "../helpers/process.js";
import { startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";
import { rawExchange, rawRequest, type WireRequest } from "../helpers/raw-http.js";

/** How long a poll waits: a reload or a log line may lag far behind under a loaded CI run. */
const WAIT = { timeout: 20_000 };

const site = path.join(repoRoot, "test/fixtures/site");
let nginx: Server & { dir: string };

beforeAll(async () => {
  nginx = await startNginx((dir) => `    access_log ${dir}/access.log combined;\n    root ${site};\n    location / { }`);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
});

/** What each request is: static files, so both answer the same bytes. The Referer and the
 *  User-Agent carry a quote, a backslash and UTF-8, which nginx writes as \xHH. */
const REQUESTS: WireRequest[] = [
  { path: "/range.txt?x=1", headers: { referer: 'https://ref.test/a"b', "user-agent": 'agent "q" \\ back é' } },
  { method: "HEAD", path: "/range.txt" },
  { path: "/range.txt", headers: { range: "bytes=0-9" } },
];

const TIME = /\[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]/;

/** The lines a request left, in order, with the time replaced (the same shape checked). */
function combinedLines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => /^127\.0\.0\.1 - /.test(l))
    .map((l) => {
      expect(l).toMatch(TIME);
      return l.replace(TIME, "[T]");
    });
}

async function ask(base: string): Promise<void> {
  for (const r of REQUESTS) await rawRequest(base, r);
}

describe.each(BOTH_HOSTS)("the request line in nginx's formats on %s", (_name, start) => {
  // Each test's gateway, stopped after it whether it passed or not.
  let dev: Dev | undefined;
  afterEach(async () => {
    await dev?.stop();
    dev = undefined;
  });

  it('log = "combined": the same lines nginx writes for the same requests (escapes, HEAD, a range)', async () => {
    const d = (dev = await start(`[gateway]\nlog = "combined"\n\n[assets]\ndirectory = "${site}"\n\n[[routes]]\nmatch = "/"\ntry_files = ["$uri", "=404"]\n`));
    await Promise.all([ask(d.base), ask(`http://127.0.0.1:${nginx.port}`)]);
    const theirs = () => combinedLines(readFileSync(path.join(nginx.dir, "access.log"), "latin1"));
    await expect.poll(() => combinedLines(d.run.stdout).length, WAIT).toBeGreaterThanOrEqual(REQUESTS.length);
    const ours = combinedLines(d.run.stdout);
    expect(ours).toEqual(theirs().slice(-REQUESTS.length));
    expect(ours[0]).toBe(String.raw`127.0.0.1 - - [T] "GET /range.txt?x=1 HTTP/1.1" 200 ${readFileSync(path.join(site, "range.txt")).length} "https://ref.test/a\x22b" "agent \x22q\x22 \x5C back \xC3\xA9"`);
  });

  it("a template of variables, the line's own ($status, $request_time, $request_id…) and the request's", async () => {
    const d = (dev = await start(`[gateway]\nlog = '$request_id $status $body_bytes_sent $request_time "$request" $http_x_tag "$upstream_addr"'\n\n[assets]\ndirectory = "${site}"\n\n[[routes]]\nmatch = "/"\ntry_files = ["$uri", "=404"]\n`));
    await rawRequest(d.base, { path: "/range.txt?a=b", headers: { "x-request-id": "tpl-1", "x-tag": "one" } });
    await rawRequest(d.base, { path: "/none", headers: { "x-request-id": "tpl-2" } });
    await expect.poll(() => d.run.stdout, WAIT).toMatch(/^tpl-2 /m);
    expect(d.run.stdout).toMatch(/^tpl-1 200 \d+ \d+\.\d{3} "GET \/range\.txt\?a=b HTTP\/1\.1" one "-"$/m);
    expect(d.run.stdout).toMatch(/^tpl-2 404 \d+ \d+\.\d{3} "GET \/none HTTP\/1\.1" - "-"$/m);
    // No JSON request line beside it.
    expect(d.run.stdout).not.toMatch(/"event":"request"/);
  });

  it("a route's own log: \"off\" writes no line for its requests (nginx's access_log off in a location), another format its own", async () => {
    const routes = `[[routes]]\nmatch = "= /range.txt"\nlog = "off"\ntry_files = ["$uri", "=404"]\n\n[[routes]]\nmatch = "^~ /css/"\nlog = "css $status $request_id"\ntry_files = ["$uri", "=404"]\n\n`;
    const d = (dev = await start(`[gateway]\nlog = "combined"\n\n[assets]\ndirectory = "${site}"\n\n${routes}[[routes]]\nmatch = "/"\ntry_files = ["$uri", "=404"]\n`));
    expect((await rawRequest(d.base, { path: "/range.txt?quiet" })).status).toBe(200);
    await rawRequest(d.base, { path: "/css/none.css", headers: { "x-request-id": "css-1" } });
    expect((await rawRequest(d.base, { path: "/index.html?loud" })).status).toBe(200);
    await expect.poll(() => d.run.stdout, WAIT).toMatch(/"GET \/index\.html\?loud HTTP\/1\.1" 200/);
    expect(d.run.stdout).toMatch(/^css 404 css-1$/m);
    expect(d.run.stdout).not.toMatch(/quiet/);
  });
});

describe("on edgepass serve, a head that cannot be read", () => {
  it("is a combined line too, with the status it got", async () => {
    const dev = await BOTH_HOSTS[0][1](`[gateway]\nlog = "combined"\n\n[assets]\ndirectory = "${site}"\n\n[[routes]]\nmatch = "/"\ntry_files = ["$uri", "=404"]\n`);
    try {
      await rawExchange(dev.base, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
      await expect.poll(() => dev.run.stdout, WAIT).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "-" 400 \d+ "-" "-"$/m);
    } finally {
      await dev.stop();
    }
  });
});
