// auth_basic through both hosts, on the wire, with nginx as the reference: the same htpasswd
// lines (written by Apache's htpasswd: bcrypt, apr1 MD5, SHA-1), the same requests, and the
// answer each gives compared (status, the user it names, the realm it asks for). Then what the
// app is told (php-fpm: REMOTE_USER, AUTH_TYPE), the request line, and serve's user_file.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS, edgepass, repoRoot, startServe, waitFor, type Dev } from "../helpers/process.js";
import { linesLike } from "../helpers/log-lines.js";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";

const htpasswd = (flag: string, user: string, password: string) => execFileSync("htpasswd", [`-nb${flag}`, user, password], { encoding: "utf8" }).trim();

/** What a client is told: the status, the user the page names, the realm it is asked in. */
interface Seen {
  status: number;
  user: string | null;
  realm: string | null;
}

async function ask(base: string, pathname: string, authorization?: string): Promise<Seen> {
  const res = await fetch(`${base}${pathname}`, { headers: authorization === undefined ? {} : { authorization } });
  await res.arrayBuffer();
  return { status: res.status, user: res.headers.get("x-user"), realm: /realm="([^"]*)"/.exec(res.headers.get("www-authenticate") ?? "")?.[1] ?? null };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;

/** The requests both gateways answer, named. */
const CASES: Array<[string, string | undefined]> = [
  ["no credentials", undefined],
  ["bcrypt, right password (UTF-8)", basic("alice", "pässwort 1")],
  ["bcrypt, wrong password", basic("alice", "passwort 1")],
  ["apr1, a password with a colon", basic("bob", "b:o:b")],
  ["apr1, wrong password", basic("bob", "b")],
  ["SHA-1", basic("carol", "carol-pw")],
  ["SHA-512 crypt (openssl passwd -6)", basic("dora", "dora-pw")],
  ["SHA-512 crypt, wrong password", basic("dora", "dora")],
  ["an unknown user", basic("mallory", "pässwort 1")],
  ["no colon at all", `Basic ${Buffer.from("alice").toString("base64")}`],
  ["not base64", "Basic !!!"],
  ["another scheme", "Bearer abc"],
  ["an empty user", basic("", "x")],
];

let lines: string[];
let nginx: Server & { dir: string };
let fpm: PhpFpm;
let www: string;

beforeAll(async () => {
  lines = [htpasswd("B", "alice", "pässwort 1"), htpasswd("m", "bob", "b:o:b"), htpasswd("s", "carol", "carol-pw"), `dora:${execFileSync("openssl", ["passwd", "-6", "dora-pw"], { encoding: "utf8" }).trim()}`];
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  writeFileSync(path.join(www, "401.html"), "<p>Please log in.</p>\n");
  [nginx, fpm] = await Promise.all([
    startNginx((dir) => {
      writeFileSync(path.join(dir, "htpasswd"), lines.join("\n") + "\n");
      writeFileSync(path.join(dir, "ok.txt"), "ok\n");
      return `    root ${dir};\n    location = /ok.txt {\n      auth_basic "Admin area";\n      auth_basic_user_file ${path.join(dir, "htpasswd")};\n      add_header X-User $remote_user always;\n    }`;
    }),
    startPhpFpm({ maxChildren: 2 }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([nginx?.stop(), fpm?.stop()]);
});

const site = (users: string) => `[gateway]
admin_path = "/_pools"
auth_basic = { realm = "Site", ${users} }

[assets]
directory = "${www}"

[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[[routes]]
match = "= /ok.txt"
auth_basic = { realm = "Admin area", ${users} }
add_headers = { "X-User" = "$remote_user" }
return = "200 ok"

[[routes]]
match = "= /info.php"
auth_basic = { realm = "Admin area", ${users} }
upstream = "php"
root = "${www}"
error_pages = { 401 = "/401.html" }

[[routes]]
match = "= /guarded"
auth_basic = { realm = "Admin area", ${users} }
limit_req = { key = "route", rate = "1r/m", burst = 2, nodelay = true }
return = "200 in"

[[routes]]
match = "/"
auth_basic = false
return = "200 open"
`;

const inline = () => `users = [${lines.map((l) => JSON.stringify(l)).join(", ")}]`;

describe.each(BOTH_HOSTS)("auth_basic on %s", (_name, start) => {
  const suite = gatewayForSuite(start, () => site(inline()));

  it.each(CASES)("%s: answered as nginx answers it", async (_what, authorization) => {
    const theirs = await ask(`http://127.0.0.1:${nginx.port}`, "/ok.txt", authorization);
    const ours = await ask(suite.dev.base, "/ok.txt", authorization);
    // nginx names no user on a refusal (an empty X-User); edgepass sends no empty field.
    expect({ ...ours, user: ours.user || null }).toEqual({ ...theirs, user: theirs.user || null });
    expect([200, 401]).toContain(ours.status);
  });

  it("the refusal says which it was (AUTH_REQUIRED, AUTH_FAILED) and asks in UTF-8; a route with auth_basic = false is open; admin_path asks with [gateway]'s", async () => {
    const none = await fetch(`${suite.dev.base}/ok.txt`);
    expect([none.status, none.headers.get("x-edgepass-error"), none.headers.get("www-authenticate")]).toEqual([401, "AUTH_REQUIRED", 'Basic realm="Admin area", charset="UTF-8"']);
    expect(await none.text()).toContain("needs a user name and password");
    const wrong = await fetch(`${suite.dev.base}/ok.txt`, { headers: { authorization: basic("alice", "nope") } });
    expect([wrong.status, wrong.headers.get("x-edgepass-error")]).toEqual([401, "AUTH_FAILED"]);
    expect(await wrong.text()).toContain("was not accepted");
    expect((await ask(suite.dev.base, "/elsewhere")).status).toBe(200);
    expect(await ask(suite.dev.base, "/_pools")).toEqual({ status: 401, user: null, realm: "Site" });
    const stats = await fetch(`${suite.dev.base}/_pools`, { headers: { authorization: basic("carol", "carol-pw") } });
    expect([stats.status, Object.keys((await stats.json()) as object)]).toEqual([200, expect.arrayContaining(["upstreams"])]);
  });

  it("limit_req counts every guess before the password is checked: past its burst, wrong passwords get 429, not another try", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await ask(suite.dev.base, "/guarded", basic("alice", `guess ${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it("php-fpm is told REMOTE_USER and AUTH_TYPE (and PHP reads the user from the Authorization field too); the request line has remote_user", async () => {
    const res = await fetch(`${suite.dev.base}/info.php`, { headers: { authorization: basic("alice", "pässwort 1"), "x-request-id": "auth-basic-line" } });
    expect(res.status).toBe(200);
    const server = ((await res.json()) as { server: Record<string, string> }).server;
    expect(server).toMatchObject({ REMOTE_USER: "alice", AUTH_TYPE: "Basic", PHP_AUTH_USER: "alice" });
    // The route's error page for 401 keeps the challenge, or a browser would never ask.
    const refused = await fetch(`${suite.dev.base}/info.php`);
    expect([refused.status, refused.headers.get("www-authenticate"), await refused.text()]).toEqual([401, 'Basic realm="Admin area", charset="UTF-8"', "<p>Please log in.</p>\n"]);
    await expect.poll(() => linesLike(suite.dev.run.stdout, { request_id: "auth-basic-line" }), { timeout: 10_000 }).toEqual([expect.objectContaining({ remote_user: "alice", status: 200 })]);
  });
});

describe("user_file on edgepass serve", () => {
  let serve: Dev;
  beforeAll(async () => {
    serve = await startServe(site('user_file = "htpasswd"'), { htpasswd: `# the site's users\n${lines.join("\n")}\n\n` });
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it("reads the file, comments and blank lines skipped; a mismatch is a warning naming the user, with the request id", async () => {
    expect(await ask(serve.base, "/ok.txt", basic("carol", "carol-pw"))).toEqual({ status: 200, user: "carol", realm: null });
    const res = await fetch(`${serve.base}/ok.txt`, { headers: { authorization: basic("bob", "wrong"), "x-request-id": "auth-basic-mismatch" } });
    expect(res.status).toBe(401);
    await expect.poll(() => linesLike(serve.run.stderr, { request_id: "auth-basic-mismatch", code: "AUTH_FAILED" }), { timeout: 5_000 }).toEqual([expect.objectContaining({ detail: 'route = /ok.txt: user "bob": password mismatch' })]);
  });

  it("a request without credentials is no warning (every browser's first visit is one): its line is written, and the refusal logged at debug, not on stderr", async () => {
    const res = await fetch(`${serve.base}/ok.txt`, { headers: { "x-request-id": "auth-basic-first-visit" } });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
    await expect.poll(() => linesLike(serve.run.stdout, { request_id: "auth-basic-first-visit", event: "request" }), { timeout: 5_000 }).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(serve.run.stderr).not.toContain("auth-basic-first-visit");
    expect(linesLike(serve.run.stdout, { request_id: "auth-basic-first-visit", code: "AUTH_REQUIRED" }).map((l) => l.level)).toEqual(["debug"]);
  });

  it("SIGHUP reads it again (a user added can log in); a file with a line it cannot use is refused, the running list kept", async () => {
    writeFileSync(path.join(serve.dir, "htpasswd"), [...lines, htpasswd("B", "dave", "dave-pw")].join("\n"));
    process.kill(serve.run.child.pid!, "SIGHUP");
    await waitFor(serve.run, /reloaded config/);
    expect((await ask(serve.base, "/ok.txt", basic("dave", "dave-pw"))).status).toBe(200);
    writeFileSync(path.join(serve.dir, "htpasswd"), `${lines[0]}\neve:${htpasswd("d", "eve", "x").slice(4)}\n`);
    process.kill(serve.run.child.pid!, "SIGHUP");
    await expect.poll(() => serve.run.stderr, { timeout: 10_000 }).toMatch(/htpasswd line 2: user "eve": DES crypt keeps only the first 8 characters of a password: write it again with htpasswd -B.*keeping the running config/);
    expect((await ask(serve.base, "/ok.txt", basic("dave", "dave-pw"))).status).toBe(200);
  });

  it.each([
    ["a file that does not exist", 'user_file = "missing"', {}, /auth_basic\.user_file.*missing: ENOENT/],
    ["DES crypt", 'user_file = "htpasswd"', { htpasswd: htpasswd("d", "old", "pw") + "\n" }, /htpasswd line 1: user "old": DES crypt keeps only the first 8 characters/],
  ])("%s stops the command with exit 2, naming the file and line", async (_what, users, files, message) => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const dir = mkdtempSync(path.join((await import("node:os")).tmpdir(), "edgepass-auth-"));
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
      writeFileSync(path.join(dir, "site.toml"), site(users));
      const run = edgepass(["serve", "--config", "site.toml", "--port", "0"], dir);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toMatch(message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("on the edge (edgepass dev) user_file is refused: the Worker reads no files, the lines go in users", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const dir = mkdtempSync(path.join((await import("node:os")).tmpdir(), "edgepass-auth-"));
    try {
      writeFileSync(path.join(dir, "htpasswd"), lines.join("\n"));
      writeFileSync(path.join(dir, "site.toml"), site('user_file = "htpasswd"'));
      const run = edgepass(["dev", "--config", "site.toml", "--port", "0"], dir);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toMatch(/the Worker cannot read files.*copy the file's lines into users/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
