// [serve] access_log: the request lines in a file, as nginx's access_log, and logrotate's way
// of moving it (rename, then SIGUSR1: nginx's `kill -USR1`), on one process and under
// --workers 2; no line lost across the rotation or at exit.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { edgepass, repoRoot, startServe, type Dev } from "../helpers/process.js";
import { rawRequest } from "../helpers/raw-http.js";

/** How long a poll waits: a reload or a log line may lag far behind under a loaded CI run. */
const WAIT = { timeout: 20_000 };

const site = path.join(repoRoot, "test/fixtures/site");
const SITE = (extra = "") => `[gateway]
log = "combined"

[serve]
access_log = "logs/access.log"
${extra}
[assets]
directory = "${site}"

[[routes]]
match = "/"
try_files = ["$uri", "=404"]
`;

let dev: Dev | undefined;
afterEach(async () => {
  await dev?.stop();
  dev = undefined;
});

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
const ask = async (base: string, tag: string) => (await rawRequest(base, { path: `/range.txt?${tag}` })).status;

describe("[serve] access_log", () => {
  it("takes the request lines (the config's format), not stdout; a file moved away keeps what came before SIGUSR1, the path opened again takes the rest", async () => {
    const d = (dev = await startServe(SITE(), { "logs/.keep": "" }));
    const file = path.join(d.dir, "logs/access.log");
    expect(await ask(d.base, "one")).toBe(200);
    await expect.poll(() => lines(file).length, WAIT).toBe(1);
    // Made as nginx makes its log: 0644, less what the umask takes.
    expect(statSync(file).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(lines(file)[0]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/range\.txt\?one HTTP\/1\.1" 200 \d+ "-" "-"$/);
    expect(d.run.stdout).not.toMatch(/range\.txt/);
    // logrotate: rename, then the signal; a request in between still goes to the moved file.
    renameSync(file, `${file}.1`);
    expect(await ask(d.base, "two")).toBe(200);
    await expect.poll(() => lines(`${file}.1`).length, WAIT).toBe(2);
    d.run.child.kill("SIGUSR1");
    await expect.poll(async () => (await ask(d.base, "three"), lines(file).length), WAIT).toBeGreaterThan(0);
    expect(lines(`${file}.1`).map((l) => /\?(\w+)/.exec(l)?.[1])).toEqual(["one", "two"]);
    expect(lines(file).every((l) => l.includes("?three"))).toBe(true);
    expect(d.run.child.exitCode).toBeNull();
  });

  it("no line is lost at exit: requests just before SIGTERM are in the file", async () => {
    const d = (dev = await startServe(SITE(), { "logs/.keep": "" }));
    const file = path.join(d.dir, "logs/access.log");
    for (let i = 0; i < 20; i++) await ask(d.base, `n${i}`);
    d.run.child.kill("SIGTERM");
    await d.run.exit;
    expect(lines(file).length).toBe(20);
  });

  it("under --workers 2: both workers append to the file, and SIGUSR1 to the primary reaches both", async () => {
    const d = (dev = await startServe(SITE(), { "logs/.keep": "" }, [], ["--workers", "2"]));
    const file = path.join(d.dir, "logs/access.log");
    for (let i = 0; i < 10; i++) await ask(d.base, `w${i}`);
    await expect.poll(() => lines(file).length, WAIT).toBe(10);
    renameSync(file, `${file}.1`);
    d.run.child.kill("SIGUSR1");
    // Each worker opens the path again; a request that reached a worker that had not yet is
    // in the old file, so the count across both is what is checked.
    await expect.poll(async () => (await ask(d.base, "after"), lines(file).length), WAIT).toBeGreaterThanOrEqual(2);
    const all = [...lines(`${file}.1`), ...lines(file)];
    expect(all.filter((l) => /\?w\d/.test(l)).length).toBe(10);
    expect(all.every((l) => /^127\.0\.0\.1 - - \[/.test(l))).toBe(true);
  });

  it("a reload that changes it is refused and the old one kept; a file that cannot be opened stops the start", async () => {
    const d = (dev = await startServe(SITE(), { "logs/.keep": "" }));
    writeFileSync(path.join(d.dir, "site.toml"), SITE().replace("logs/access.log", "logs/other.log"));
    d.run.child.kill("SIGHUP");
    await expect.poll(() => d.run.stderr, WAIT).toMatch(/access_log cannot be changed by a reload/);
    expect(await ask(d.base, "kept")).toBe(200);
    await expect.poll(() => lines(path.join(d.dir, "logs/access.log")).some((l) => l.includes("?kept")), WAIT).toBe(true);

    writeFileSync(path.join(d.dir, "bad.toml"), SITE().replace("logs/access.log", "missing/dir/access.log"));
    const r = edgepass(["serve", "--config", "bad.toml", "--port", "0"], d.dir);
    expect(await r.exit).toBe(2);
    expect(r.stderr).toMatch(/\[serve\] access_log: cannot open .*missing\/dir\/access\.log/);
  });
});
