// The `edgepass` command as a user runs it (node bin/edgepass.mjs …): a bad config stops it
// before anything starts, with exit code 2 and a message naming the file and the key; a good
// one runs the real gateway under workerd until a signal stops it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { edgepass, repoRoot, waitFor } from "../helpers/process.js";

const dir = mkdtempSync(path.join(tmpdir(), "edgepass-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = (args: string[]) => edgepass(args, dir);
const finished = async (args: string[]) => {
  const run = start(args);
  const code = await run.exit;
  return { code, stdout: run.stdout, stderr: run.stderr };
};

function writeConfig(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const goodConfig = (port: number) => `[upstreams.app]
protocol = "fastcgi"
servers = ["127.0.0.1:${port}"]
connect_timeout = "1s"

[[routes]]
match = "/"
upstream = "app"
`;

describe("edgepass CLI", () => {
  it("--help prints the usage and exits 0", async () => {
    const { code, stdout } = await finished(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("edgepass dev --config FILE [--port N] [--host H]");
    expect(stdout).toContain("edgepass demo");
    expect(stdout).toContain("edgepass serve --config FILE [--port N] [--host H]");
    const sub = await finished(["dev", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("edgepass dev --config FILE");
  });

  it("rejects an unknown flag, a missing --config and an unknown command with usage and exit 2", async () => {
    for (const args of [["dev", "--config", "x.toml", "--verbose"], ["dev"], ["serve"], ["dev", "--config", "x.toml", "--port", "http"]]) {
      const { code, stderr } = await finished(args);
      expect(code, args.join(" ")).toBe(2);
      expect(stderr, args.join(" ")).toContain("usage:");
    }
    const { stderr } = await finished(["dev", "--config", "x.toml", "--verbose"]);
    expect(stderr).toContain("--verbose");
    const inspector = await finished(["dev", "--config", "x.toml", "--inspector-port", "devtools"]);
    expect(inspector.code).toBe(2);
    expect(inspector.stderr).toContain('--inspector-port expects a number from 0 to 65535, got "devtools"');
  });

  it.each(["0", "two"])("serve --workers %s is a usage error", async (n) => {
    const w = await finished(["serve", "--config", "x.toml", "--workers", n]);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain(`--workers expects a number of processes (1 or more) or "auto", got "${n}"`);
  });

  it("refuses an invalid config before starting anything: exit 2, file and key named", async () => {
    const file = writeConfig("bad.toml", goodConfig(9000).replace('protocol = "fastcgi"', 'protocol = "gopher"'));
    const { code, stdout, stderr } = await finished(["dev", "--config", file]);
    expect(code).toBe(2);
    expect(stderr).toContain("bad.toml");
    expect(stderr).toContain("protocol");
    expect(stdout).not.toContain("listening");
  });

  it("serve refuses an invalid config the same way, and names a Unix socket path it cannot use", async () => {
    const file = writeConfig("bad-serve.toml", goodConfig(9000).replace('"127.0.0.1:9000"', '"/run/php/php-fpm.sock"'));
    const { code, stdout, stderr } = await finished(["serve", "--config", file]);
    expect(code).toBe(2);
    expect(stderr).toContain("bad-serve.toml");
    expect(stderr).toContain('write "unix:/run/php/php-fpm.sock"');
    expect(stdout).not.toContain("listening");
  });

  it("refuses --files other than disk or assets, and an [assets] directory that is not there", async () => {
    const files = await finished(["dev", "--config", writeConfig("ok.toml", goodConfig(9000)), "--files", "r2"]);
    expect(files.code).toBe(2);
    expect(files.stderr).toContain('--files takes "disk" or "assets", got "r2"');
    const file = writeConfig("site.toml", `[assets]\ndirectory = "no-such-dir"\n[[routes]]\nmatch = "/"\n`);
    const missing = await finished(["dev", "--config", file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`assets.directory: ${path.join(dir, "no-such-dir")} is not a directory`);
    expect(missing.stdout).not.toContain("listening");
  });

  it("a port already taken stops dev, serve and serve's metrics_listen with exit 1 and says which setting to change", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const file = writeConfig("taken.toml", goodConfig(9000));
      for (const command of ["dev", "serve"]) {
        const r = await finished([command, "--config", file, "--port", String(port)]);
        expect(r.code, command).toBe(1);
        expect(r.stderr, command).toContain(`edgepass: [EADDRINUSE] cannot listen on 127.0.0.1:${port}: the port is in use; pick another with --port`);
      }
      const metrics = writeConfig("taken-metrics.toml", `[serve]\nmetrics_listen = "127.0.0.1:${port}"\n\n${goodConfig(9000)}`);
      const m = await finished(["serve", "--config", metrics, "--port", "0"]);
      expect(m.code).not.toBe(0);
      expect(m.stderr).toContain(`metrics_listen 127.0.0.1:${port}: cannot listen (the port is in use; pick another with metrics_listen)`);
    } finally {
      taken.close();
    }
  });

  it("exits 2 when the config file cannot be read", async () => {
    const { code, stderr } = await finished(["dev", "--config", "missing.toml"]);
    expect(code).toBe(2);
    expect(stderr).toContain("cannot read config missing.toml");
  });

  it("runs the gateway with the given config (and its inspector when asked) and stops cleanly on SIGTERM", async () => {
    const file = writeConfig("good.toml", goodConfig(await closedPort()));
    const inspectorPort = await closedPort();
    const run = start(["dev", "--config", file, "--port", "0", "--inspector-port", String(inspectorPort)]);
    try {
      const [, url] = await waitFor(run, /edgepass: listening on (http:\/\/127\.0\.0\.1:\d+) \(config good\.toml\)/);
      // The route's origin is not running: the gateway itself answers, with a 502 page.
      const res = await fetch(`${url}/index.php`);
      expect(res.status).toBe(502);
      expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_CONNECT_FAILED");
      // --inspector-port: workerd's inspector lists the gateway's isolate.
      const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ id: string }>;
      expect(targets.map((t) => t.id)).toContain("core:user:edgepass");
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exit).toBe(0);
    expect(run.stderr).toContain("SIGTERM, stopping");
  });

  it("serve starts without loading the Worker's tools: Miniflare, esbuild, the AssemblyScript compiler", async () => {
    // Made fresh first: a stale bundle is rebuilt by the command itself, with esbuild.
    expect(spawnSync(process.execPath, [path.join(repoRoot, "scripts/build-cli.mjs"), "--if-stale"]).status).toBe(0);
    const log = path.join(dir, "imports.log");
    writeFileSync(log, "");
    process.env.EDGEPASS_IMPORT_LOG = log;
    const run = edgepass(["serve", "--config", writeConfig("serve.toml", goodConfig(await closedPort())), "--port", "0"], dir, {
      nodeArgs: ["--import", path.join(repoRoot, "test/helpers/import-log.mjs")],
    });
    try {
      const [, url] = await waitFor(run, /edgepass: listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect((await fetch(`${url}/index.php`)).headers.get("x-edgepass-error")).toBe("UPSTREAM_CONNECT_FAILED");
    } finally {
      run.child.kill("SIGTERM");
      delete process.env.EDGEPASS_IMPORT_LOG;
    }
    expect(await run.exit).toBe(0);
    const packages = new Set(readFileSync(log, "utf8").split("\n").filter(Boolean));
    // The hook sees the config parser's import: it is working.
    expect(packages).toContain("smol-toml");
    expect([...packages].filter((p) => /miniflare|esbuild|assemblyscript|undici|wrangler/.test(p))).toEqual([]);
  });

  it("every command's check for stale builds loads no compiler when nothing changed", () => {
    const log = path.join(dir, "imports-build.log");
    for (const script of ["scripts/build-wasm.mjs", "scripts/build-cli.mjs"]) {
      const file = path.join(repoRoot, script);
      // The first run makes the output fresh (and may load its compiler); the second only checks.
      expect(spawnSync(process.execPath, [file, "--if-stale"]).status).toBe(0);
      writeFileSync(log, "");
      const checked = spawnSync(process.execPath, ["--import", path.join(repoRoot, "test/helpers/import-log.mjs"), file, "--if-stale"], {
        env: { ...process.env, EDGEPASS_IMPORT_LOG: log },
        encoding: "utf8",
      });
      expect(checked.status, checked.stderr).toBe(0);
      expect(readFileSync(log, "utf8")).toBe("");
    }
  });

  it("demo serves the built-in FastCGI app through the gateway and stops on SIGINT", async () => {
    const run = start(["demo", "--port", "0"]);
    try {
      const [, url] = await waitFor(run, /edgepass: open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/);
      const res = await fetch(`${url}hello?who=%3Cyou%3E`, { headers: { "X-Demo": "<b>" } });
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain("<th>REQUEST_URI</th><td>/hello?who=%3Cyou%3E</td>");
      expect(page).toContain("<th>HTTP_X_DEMO</th><td>&lt;b&gt;</td>");
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exit).toBe(0);
  });
});
