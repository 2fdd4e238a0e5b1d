// [serve] proxy_protocol behind a real HAProxy (mode tcp, send-proxy and send-proxy-v2): the
// client the balancer names is $remote_addr, over plain HTTP and through TLS the balancer
// passes on untouched; a header from a peer outside real_ip_from is read and not believed; a
// connection without one is closed unanswered. Clients bind addresses of their own in
// 127.0.0.0/8, so the address the balancer names differs from the balancer's.
import { mkdtempSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/php-fpm.js";
import { startServe, type Dev } from "../helpers/process.js";
import { findProgram, launch, type Server } from "../helpers/servers/launch.js";
import { selfSigned } from "../helpers/tls.js";

/** How long a poll waits: a reload or a log line may lag far behind under a loaded CI run. */
const WAIT = { timeout: 20_000 };

let plain: Dev;
let secure: Dev;
let haproxy: Server;
const ports = { v1: 0, v2: 0, tlsV2: 0, redirect: 0, redirectV1: 0 };
const pair = selfSigned("proxied.test", ["proxied.test"]);

const SITE = (tlsLine = "") => `[serve]
proxy_protocol = true
real_ip_from = ["127.0.0.1"]
${tlsLine}
[[routes]]
match = "/"
return = "200 $remote_addr $server_protocol"
`;

beforeAll(async () => {
  [ports.v1, ports.v2, ports.tlsV2, ports.redirect, ports.redirectV1] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  [plain, secure] = await Promise.all([
    startServe(SITE()),
    startServe(SITE('tls = { cert = "cert.pem", key = "key.pem" }'), { "cert.pem": pair.cert, "key.pem": pair.key }, [], ["--redirect-port", String(ports.redirect)]),
  ]);
  const dir = mkdtempSync(path.join(tmpdir(), "edgepass-haproxy-"));
  const port = (d: Dev) => new URL(d.base).port;
  const front = (name: string, listen: number, to: Dev | number, send: string) =>
    `frontend f_${name}\n  bind 127.0.0.1:${listen}\n  default_backend b_${name}\nbackend b_${name}\n  server s 127.0.0.1:${typeof to === "number" ? to : port(to)} ${send}\n`;
  writeFileSync(
    path.join(dir, "haproxy.cfg"),
    `defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n` +
      front("v1", ports.v1, plain, "send-proxy") +
      front("v2", ports.v2, plain, "send-proxy-v2") +
      front("tls", ports.tlsV2, secure, "send-proxy-v2") +
      front("redirect", ports.redirectV1, ports.redirect, "send-proxy"),
  );
  haproxy = await launch({ name: "haproxy", command: findProgram("haproxy", "haproxy"), args: ["-f", path.join(dir, "haproxy.cfg"), "-db"], port: ports.tlsV2, dir });
}, 60_000);

afterAll(async () => {
  await Promise.all([haproxy?.stop(), plain?.stop(), secure?.stop()]);
});

/** One request from `from` to `port` (plain or TLS); the body, or "closed" when the
 *  connection ended unanswered. `first`: bytes sent before the request. */
function ask(port: number, from: string, o: { tls?: boolean; first?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: "127.0.0.1", port, localAddress: from });
    const sock: net.Socket = o.tls ? tls.connect({ socket: raw, servername: "proxied.test", rejectUnauthorized: false }) : raw;
    let got = "";
    sock.on(o.tls ? "secureConnect" : "connect", () => sock.write(`${o.first ?? ""}GET / HTTP/1.1\r\nHost: proxied.test\r\nConnection: close\r\n\r\n`));
    sock.on("data", (d) => (got += d));
    sock.on("error", () => {});
    sock.on("close", () => resolve(got === "" ? "closed" : got.slice(got.indexOf("\r\n\r\n") + 4).trim()));
    setTimeout(() => reject(new Error(`no end from ${port}: ${got}`)), 10_000).unref();
  });
}

describe("[serve] proxy_protocol", () => {
  it("behind HAProxy (send-proxy, send-proxy-v2): the client the balancer names is the client", async () => {
    expect(await ask(ports.v1, "127.0.0.7")).toBe("127.0.0.7 HTTP/1.1");
    expect(await ask(ports.v2, "127.0.0.8")).toBe("127.0.0.8 HTTP/1.1");
  });

  it("through TLS the balancer passes on: the header comes before the handshake", async () => {
    expect(await ask(ports.tlsV2, "127.0.0.9", { tls: true })).toBe("127.0.0.9 HTTP/1.1");
  });

  it("over HTTP/2 on that TLS connection as well", async () => {
    const session = http2.connect("https://proxied.test", {
      createConnection: () => tls.connect({ socket: net.connect({ host: "127.0.0.1", port: ports.tlsV2, localAddress: "127.0.0.14" }), servername: "proxied.test", ALPNProtocols: ["h2"], rejectUnauthorized: false }),
    });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ":path": "/" });
        let got = "";
        req.setEncoding("utf8");
        req.on("data", (d) => (got += d));
        req.on("end", () => resolve(got.trim()));
        req.on("error", reject);
      });
      expect(body).toBe("127.0.0.14 HTTP/2.0");
    } finally {
      session.close();
    }
  });

  it("on the --redirect-port listener too: the redirect's request line has the named client", async () => {
    await ask(ports.redirectV1, "127.0.0.13");
    await expect.poll(() => secure.run.stdout, WAIT).toMatch(/"remote_addr":"127\.0\.0\.13"[^\n]*"status":301/);
  });

  it("a header from a peer outside real_ip_from is not believed; a connection without one is closed unanswered", async () => {
    const direct = Number(new URL(plain.base).port);
    expect(await ask(direct, "127.0.0.10", { first: "PROXY TCP4 203.0.113.1 127.0.0.1 1234 80\r\n" })).toBe("127.0.0.10 HTTP/1.1");
    expect(await ask(direct, "127.0.0.11")).toBe("closed");
    await expect.poll(() => plain.run.stderr, WAIT).toMatch(/"event":"proxy_header_refused".*did not open with a PROXY protocol header \(from [:f]*127\.0\.0\.11\)/);
  });

  it("is refused without real_ip_from, and cannot be turned off by a reload", async () => {
    const started = startServe(SITE().replace('real_ip_from = ["127.0.0.1"]', ""));
    await expect(started).rejects.toThrow(/proxy_protocol.*real_ip_from/s);
    writeFileSync(path.join(plain.dir, "site.toml"), SITE().replace("proxy_protocol = true", "proxy_protocol = false"));
    plain.run.child.kill("SIGHUP");
    await expect.poll(() => plain.run.stderr, WAIT).toMatch(/proxy_protocol cannot be changed by a reload/);
    expect(await ask(ports.v1, "127.0.0.12")).toBe("127.0.0.12 HTTP/1.1");
  });
});
