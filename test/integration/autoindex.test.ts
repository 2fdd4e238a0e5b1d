// autoindex through both hosts, on the wire, beside nginx listing the same directories: the
// HTML list (exact sizes and rounded ones), JSON and XML, compared byte for byte. The names are
// chosen to catch each rule: characters a link must escape, HTML's own, UTF-8, a name longer
// than the list shows, one exactly as long, a directory, a hidden file, sizes at each rounding
// edge. Every time is fixed, so nothing in the lists depends on when the test ran.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodTree } from "../helpers/php-fpm.js";
import { BOTH_HOSTS } from "../helpers/process.js";
import { gatewayForSuite } from "../helpers/suite.js";
import { startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";

const FORMATS = ["html", "human", "json", "xml"] as const;
const WHEN = new Date("2026-11-03T04:05:06Z");
let files: string;
let nginx: Server & { dir: string };

/** The same tree under each format's directory: name → size (a directory: its own tree). */
type Tree = { [name: string]: number | Tree };
const TREE: Tree = {
  "a file.txt": 12,
  'b&c<d>"e.txt': 3,
  "$dollar (paren)!*'~.txt": 1,
  "q?#%+,;=@[]^`{|}.txt": 2,
  "é-utf8-ü.txt": 5,
  ["long-" + "n".repeat(60) + ".txt"]: 7,
  ["ü".repeat(55)]: 8,
  small: 9999,
  mid: 10_000,
  "round-k": 10 * 1024 + 512,
  "round-m": 2 * 1024 * 1024 + 600 * 1024,
  empty: 0,
  ".hidden": 4,
  "sub dir": { "inner <1>.txt": 6 },
  ["d".repeat(50)]: {},
  ["e".repeat(49)]: {},
  zdir: {},
  "nothing-in-here": {},
};

function plant(dir: string, tree: Tree): void {
  for (const [name, v] of Object.entries(tree)) {
    const p = path.join(dir, name);
    if (typeof v === "number") writeFileSync(p, Buffer.alloc(v, 120));
    else {
      mkdirSync(p);
      plant(p, v);
    }
    utimesSync(p, WHEN, WHEN);
  }
  utimesSync(dir, WHEN, WHEN);
}

beforeAll(async () => {
  files = mkdtempSync(path.join(tmpdir(), "edgepass-autoindex-"));
  for (const f of FORMATS) {
    mkdirSync(path.join(files, f));
    plant(path.join(files, f), TREE);
  }
  chmodTree(files, false);
  chmodSync(files, 0o755);
  nginx = await startNginx(
    () => `    location ^~ /html/ { root ${files}; autoindex on; charset utf-8; }
    location ^~ /human/ { root ${files}; autoindex on; autoindex_exact_size off; charset utf-8; }
    location ^~ /json/ { root ${files}; autoindex on; autoindex_format json; }
    location ^~ /xml/ { root ${files}; autoindex on; autoindex_format xml; }
    location / { root ${files}; }`,
  );
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

const SITE = () => `[assets]
directory = "${files}"

[[routes]]
match = "^~ /html/"
autoindex = true

[[routes]]
match = "^~ /human/"
autoindex = { exact_size = false }

[[routes]]
match = "^~ /json/"
autoindex = { format = "json" }

[[routes]]
match = "^~ /xml/"
autoindex = { format = "xml" }

[[routes]]
match = "/"
`;

interface Got {
  status: number;
  type: string | undefined;
  body: string;
}

function get(base: string, target: string, method = "GET"): Promise<Got> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .request({ host: u.hostname, port: u.port, path: target, method, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve({ status: res.statusCode!, type: res.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") }));
      })
      .on("error", reject)
      .end();
  });
}

const NGINX = () => `http://127.0.0.1:${nginx.port}`;

describe.each(BOTH_HOSTS)("autoindex on %s, beside nginx", (_name, start) => {
  const suite = gatewayForSuite(start, SITE);

  it.each([
    ["HTML, exact sizes", "/html/"],
    ["HTML, sizes rounded to K and M", "/human/"],
    ["JSON", "/json/"],
    ["XML", "/xml/"],
    ["a directory whose name needs escaping, in HTML", "/html/sub%20dir/"],
    ["an empty directory, in JSON", "/json/nothing-in-here/"],
    ["an empty directory, in XML", "/xml/zdir/"],
  ])("%s: the same list, byte for byte", async (_what, target) => {
    const [theirs, ours] = await Promise.all([get(NGINX(), target), get(suite.dev.base, target)]);
    expect(theirs.status).toBe(200);
    expect(ours).toEqual(theirs);
  });

  it("the list's shape, said without nginx: directories first, hidden files left out, a long name cut", async () => {
    const html = (await get(suite.dev.base, "/html/")).body;
    const names = [...html.matchAll(/<a href="([^"]*)">/g)].map((m) => m[1]);
    expect(names.slice(0, 6)).toEqual(["../", `${"d".repeat(50)}/`, `${"e".repeat(49)}/`, "nothing-in-here/", "sub%20dir/", "zdir/"]);
    expect(html).not.toContain(".hidden");
    expect(html).toContain(`${"n".repeat(42)}..&gt;</a> 03-Nov-2026 04:05`);
  });

  it("a route without autoindex still answers a directory with no index 403; a missing directory is 404; HEAD gets the head only", async () => {
    expect((await get(suite.dev.base, "/html/zdir/", "HEAD")).body).toBe("");
    expect((await get(suite.dev.base, "/html/zdir/", "HEAD")).status).toBe(200);
    expect((await get(suite.dev.base, "/html/no-such-dir/")).status).toBe(404);
    expect((await get(suite.dev.base, "/")).status).toBe(403);
  });
});
