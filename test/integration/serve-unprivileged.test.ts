// `edgepass serve` the way examples/edgepass.service runs it: as an unprivileged user that may
// bind a port below 1024 and nothing else (systemd's AmbientCapabilities; setpriv gives the
// same here), in front of php-fpm's Unix socket. Without the capability the port is refused
// with a message that says what to do; a socket the user may not use, or one that is not
// there, is a 502 that says which. Changing user needs root (or sudo without a password).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor } from "../helpers/process.js";
import { rawRequest } from "../helpers/raw-http.js";

const unit = path.join(repoRoot, "examples/edgepass.service");

/** The command that runs the rest as nobody (with `caps` in its ambient set), as root does it
 *  or through sudo; an error that says so when neither can. */
function asNobody(caps: string[]): string[] {
  const setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];
  if (caps.length) setpriv.push(`--inh-caps=${caps.map((c) => `+${c}`).join(",")}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(",")}`);
  if (process.getuid?.() === 0) return setpriv;
  if (spawnSync("sudo", ["-n", "true"]).status === 0) return ["sudo", "-n", ...setpriv];
  throw new Error("Starting edgepass as another user with a capability needs root or sudo without a password: run the tests as root, or allow sudo for this user.");
}

/** Every 127/8 address is the loopback interface's: one of its own, so the port is free. */
const HOST = `127.${20 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
const PORT = 443;

let fpm: PhpFpm;
let locked: net.Server;
let www: string;
let dir: string;
beforeAll(async () => {
  fpm = await startPhpFpm({ unixSocket: true });
  // The socket's folder is open to every user, as Debian's /run/php is (the socket's own mode
  // decides who may connect).
  chmodSync(path.dirname(fpm.socket!), 0o755);
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  // A folder the unprivileged user can read, as /etc/edgepass is.
  dir = mkdtempSync(path.join(tmpdir(), "edgepass-unprivileged-"));
  chmodSync(dir, 0o755);
  // A socket only its owner (root) may use, and a path with no socket at all.
  locked = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => locked.listen(path.join(dir, "locked.sock"), r));
  chmodSync(path.join(dir, "locked.sock"), 0o600);
  writeFileSync(
    path.join(dir, "site.toml"),
    `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["unix:${fpm.socket}"]\n\n` +
      `[upstreams.locked]\nprotocol = "fastcgi"\nservers = ["unix:${path.join(dir, "locked.sock")}"]\n\n` +
      `[upstreams.missing]\nprotocol = "fastcgi"\nservers = ["unix:${path.join(dir, "missing.sock")}"]\n\n` +
      `[[routes]]\nmatch = "^~ /locked/"\nupstream = "locked"\nroot = "${www}"\n\n` +
      `[[routes]]\nmatch = "^~ /missing/"\nupstream = "missing"\nroot = "${www}"\n\n` +
      `[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n`,
  );
  chmodSync(path.join(dir, "site.toml"), 0o644);
});
afterAll(async () => {
  await fpm?.stop();
  locked?.close();
  rmSync(www, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe("edgepass serve as an unprivileged user on a port below 1024", () => {
  it("examples/edgepass.service is a unit systemd reads without a warning", () => {
    const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    if (r.error) throw new Error(`systemd-analyze is not installed (Debian's systemd package; npm run setup:test installs it): ${r.error.message}`);
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("with CAP_NET_BIND_SERVICE only: listens on port 443 as nobody and serves PHP through the socket", async () => {
    const run = edgepass(["serve", "--config", "site.toml", "--host", HOST, "--port", String(PORT)], dir, { prefix: asNobody(["net_bind_service"]) });
    try {
      const [, base] = await waitFor(run, /listening on (http:\/\/[\d.]+:\d+)/);
      expect(base).toBe(`http://${HOST}:${PORT}`);
      // The process is nobody's, holding that one capability and no other.
      const status = readFileSync(`/proc/${run.child.pid}/status`, "utf8");
      const uid = spawnSync("id", ["-u", "nobody"], { encoding: "utf8" }).stdout.trim();
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(uid);
      // CAP_NET_BIND_SERVICE is capability 10: the effective set is that bit alone.
      expect(/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1]).toBe((1n << 10n).toString(16).padStart(16, "0"));
      const r = await rawRequest(base!, { path: "/status.php?code=201" });
      expect(r.status).toBe(201);
      expect(r.body.toString()).toBe("status 201 from php\n");
      // A socket this user may not use, and one that is not there: 502, each saying which.
      const denied = await rawRequest(base!, { path: "/locked/status.php" });
      expect([denied.status, denied.get("x-edgepass-error")]).toEqual([502, "UPSTREAM_CONNECT_FAILED"]);
      expect(denied.body.toString()).toContain("permission denied: this process's user may not use that socket");
      const missing = await rawRequest(base!, { path: "/missing/status.php" });
      expect([missing.status, missing.get("x-edgepass-error")]).toEqual([502, "UPSTREAM_CONNECT_FAILED"]);
      expect(missing.body.toString()).toContain("there is no socket at that path");
    } finally {
      run.child.kill("SIGTERM");
      await run.exit;
    }
  });

  it("without it: exit 1, and the message names the port and the way out", async () => {
    const run = edgepass(["serve", "--config", "site.toml", "--host", HOST, "--port", String(PORT)], dir, { prefix: asNobody([]) });
    expect(await run.exit).toBe(1);
    expect(run.stderr).toContain(`edgepass: [EACCES] cannot listen on ${HOST}:${PORT}: permission denied: a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability (examples/edgepass.service`);
  });
});
