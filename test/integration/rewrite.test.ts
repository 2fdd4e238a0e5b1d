// rewrite and named routes through both hosts, on the wire, with nginx as the reference: the
// same rules in a named location that try_files ends in, the same requests, and what each
// answers compared (the URI and arguments the final location sees, or the redirect).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS } from "../helpers/process.js";
import { startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";

const RULES = [
  "^/a/(.*)$ /out/a/$1 last",
  "^/keep/(.*)$ /out/keep?x=$1 last",
  "^/drop/(.*)$ /out/drop?x=$1? last",
  "^/chain/(.*)$ /c2/$1",
  "^/c2/(.*)$ /out/chained/$1 last",
  "^/perm/(.*)$ /new/$1 permanent",
  "^/red/(.*)$ /new/$1?q=1 redirect",
  "^/ext/(.*)$ https://example.com/$1",
  "^/two/([^/]+)/(.*)$ /out/two?first=$2&second=$1&u=$uri last",
];

/** Server-level rules (nginx's server block; edgepass's [gateway]), before any location. */
const SITE_RULES = ["^/legacy/(.*)$ /out/legacy/$1", "^/gone$ /out/new?from=gone permanent", "^/site/(.*)$ /a/$1 last"];

/** Requests both answer (fetch sends each target as written, escapes kept). */
const TARGETS = [
  "/a/b/c",
  "/a/b?y=1",
  "/keep/1?a=b",
  "/keep/1",
  "/keep/a%20b%26c?z=1",
  "/keep/a&b",
  "/drop/1?a=b",
  "/chain/x?z=9",
  "/perm/p?a=b",
  "/red/r?a=b",
  "/ext/e?a=b",
  "/two/one/two/three?k=v",
  "/a/sp%20ace",
  "/red/sp%20ace",
  "/perm/%C3%A9t%C3%A9",
  "/out/direct?d=1",
  "/nothing/matches",
  // [gateway] rules first; "/site/x" is then rewritten again by the route's own rules.
  "/legacy/x?y=1",
  "/gone?q=1",
  "/site/b/c",
  // A regex route's own groups in its return and try_files (nginx's location captures).
  "/cap/word/42",
  "/cap/word/4x2",
  "/tf/some/thing?y=1",
  "/tf/sp%20ace",
  "/tf/%24host",
];

let nginx: Server & { dir: string };
let empty: string;

beforeAll(async () => {
  empty = mkdtempSync(path.join(tmpdir(), "edgepass-rewrite-"));
  mkdirSync(path.join(empty, "site"));
  nginx = await startNginx(
    () => `    absolute_redirect off;
    root ${path.join(empty, "site")};
${SITE_RULES.map((r) => `    rewrite ${r};`).join("\n")}
    location / { try_files $uri @rw; }
    location @rw {
${RULES.map((r) => `      rewrite ${r};`).join("\n")}
      return 404;
    }
    location /out/ { return 200 "uri=$uri args=$args"; }
    location ~ ^/cap/(\\w+)/(\\d+)$ { return 200 "first=$1 second=$2"; }
    location ~ ^/tf/(.*)$ { try_files /nope/$1 /out/tf/$1?x=$1; }`,
  );
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  rmSync(empty, { recursive: true, force: true });
});

const site = () => `[gateway]
rewrite = [${SITE_RULES.map((r) => JSON.stringify(r)).join(", ")}]

[assets]
directory = "${path.join(empty, "site")}"

[[routes]]
match = "/"
try_files = ["$uri", "@rw"]

[[routes]]
match = "@rw"
rewrite = [${RULES.map((r) => JSON.stringify(r)).join(", ")}]
return = "404"

[[routes]]
match = "/out/"
return = "200 uri=$uri args=$args"

[[routes]]
match = "~ ^/cap/(\\\\w+)/(\\\\d+)$"
return = "200 first=$1 second=$2"

[[routes]]
match = "/loop/"
rewrite = ["^/loop/(.*)$ /loop/x$1 last"]
return = "200 never"

[[routes]]
match = "/climb/"
rewrite = ["^/climb/(.*)$ /$args/$1 break"]
return = "200 never"

[[routes]]
match = "~ ^/tf/(.*)$"
try_files = ["/nope/$1", "/out/tf/$1?x=$1"]
`;

/** The status, the body when 200, and the Location of a redirect. */
async function answer(base: string, target: string): Promise<{ status: number; body: string | null; location: string | null }> {
  const res = await fetch(`${base}${target}`, { redirect: "manual" });
  const body = await res.text();
  return { status: res.status, body: res.status === 200 ? body : null, location: res.headers.get("location") };
}

describe.each(BOTH_HOSTS)("rewrite on %s", (_name, start) => {
  const suite = gatewayForSuite(start, () => site());

  it("a rewrite that loops is 500 INTERNAL_REDIRECT_CYCLE, one that makes a \"..\" segment 500 REWRITE_INVALID, never routed", async () => {
    for (const [target, code] of [["/loop/a", "INTERNAL_REDIRECT_CYCLE"], ["/climb/a?..", "REWRITE_INVALID"]]) {
      const res = await fetch(`${suite.dev.base}${target}`);
      expect([res.status, res.headers.get("x-edgepass-error")], target).toEqual([500, code]);
      expect(await res.text()).not.toContain("never");
    }
  });

  it.each(TARGETS)("%s: answered as nginx answers it", async (target) => {
    const theirs = await answer(`http://127.0.0.1:${nginx.port}`, target);
    expect(await answer(suite.dev.base, target)).toEqual(theirs);
  });
});
