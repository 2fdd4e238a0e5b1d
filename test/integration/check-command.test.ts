// `edgepass check`: nginx -t for edgepass. The same refusals starting would meet, with nothing
// started, for each host: the config's own errors, what only serve reads at its start (TLS
// files, access_log), and what only the Worker refuses (a Unix socket).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { edgepass } from "../helpers/process.js";

const dir = mkdtempSync(path.join(tmpdir(), "edgepass-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SITE = (upstream: string, serve = "") => `${serve}
[upstreams.php]
protocol = "fastcgi"
servers = ["${upstream}"]

[[routes]]
match = "/"
upstream = "php"
`;

async function check(toml: string, ...args: string[]) {
  const file = `c${Math.random().toString(36).slice(2)}.toml`;
  writeFileSync(path.join(dir, file), toml);
  const run = edgepass(["check", "--config", file, ...args], dir);
  const code = await run.exit;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

describe("edgepass check", () => {
  it("a config serve would take: exit 0 and says so, starting nothing; its access_log is made, as nginx -t makes its logs", async () => {
    const r = await check(SITE("127.0.0.1:9000", `[serve]\naccess_log = "made.log"\n`));
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/the config is valid for edgepass serve/);
    expect(readFileSync(path.join(dir, "made.log"), "utf8")).toBe("");
  });

  it("a config error: exit 2 with the file, line and what was expected, as starting would say", async () => {
    const r = await check(`${SITE("127.0.0.1:9000")}fastcgi_read_timeout = "5s"\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/c\w+\.toml:\d+/);
    expect(r.stdout).toBe("");
  });

  it("what only serve's start reads: a TLS file that is not there, an access_log that cannot be opened", async () => {
    const tls = await check(SITE("127.0.0.1:9000", `[serve]\ntls = { cert = "nope/cert.pem", key = "nope/key.pem" }\n`));
    expect(tls.code).toBe(2);
    expect(tls.stderr).toMatch(/\[serve\] tls: cannot read the cert file .*nope\/cert\.pem: ENOENT/);
    const log = await check(SITE("127.0.0.1:9000", `[serve]\naccess_log = "missing/access.log"\n`));
    expect(log.code).toBe(2);
    expect(log.stderr).toMatch(/\[serve\] access_log: cannot open .*missing\/access\.log/);
  });

  it("--for edge: what the Worker refuses (a Unix socket) is refused, where serve takes it", async () => {
    const unix = SITE("unix:/run/php/php-fpm.sock");
    expect((await check(unix)).code).toBe(0);
    const edge = await check(unix, "--for", "edge");
    expect(edge.code).toBe(2);
    expect(edge.stderr).toMatch(/unix/i);
    expect((await check(SITE("127.0.0.1:9000"), "--for", "edge")).stdout).toMatch(/valid for the Worker/);
    const wrong = await check(unix, "--for", "nginx");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--for takes serve or edge/);
  });
});
