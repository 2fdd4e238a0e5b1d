// request_headers (nginx's proxy_set_header) through both hosts, on the wire, with nginx as the
// reference: the same fields set on the way to the same gunicorn app, which answers with the
// fields it received; what it saw behind nginx and behind edgepass is compared.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS, repoRoot } from "../helpers/process.js";
import { startGunicorn } from "../helpers/servers/gunicorn.js";
import { startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";

const USER = execFileSync("htpasswd", ["-nbm", "ann", "pw"], { encoding: "utf8" }).trim();
let gunicorn: Server;
let nginx: Server & { dir: string };

beforeAll(async () => {
  gunicorn = await startGunicorn({ wsgiFile: path.join(repoRoot, "test/fixtures/apps/wsgi/headers.py"), workers: 1 });
  nginx = await startNginx(
    (dir) => {
      writeFileSync(path.join(dir, "htpasswd"), `${USER}\n`);
      return `    server_name site.test;
    location ~ ^/who/(\\w+)$ {
      auth_basic "who";
      auth_basic_user_file ${path.join(dir, "htpasswd")};
      proxy_pass http://127.0.0.1:${gunicorn.port};
      proxy_set_header X-User $remote_user;
      proxy_set_header X-Server $server_name;
      proxy_set_header X-Cap $1;
    }
    location / {
      proxy_pass http://127.0.0.1:${gunicorn.port};
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Site "$scheme://$host$request_uri";
      proxy_set_header X-Debug "";
      proxy_set_header X-Forwarded-Proto https;
    }`;
    },
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([nginx?.stop(), gunicorn?.stop()]);
});

const SITE = () => `[upstreams.app]
protocol = "http"
servers = ["127.0.0.1:${gunicorn.port}"]

[[routes]]
server_name = "site.test"
match = "~ ^/who/(\\\\w+)$"
upstream = "app"
auth_basic = { realm = "who", users = ["${USER}"] }
request_headers = { "X-User" = "$remote_user", "X-Server" = "$server_name", "X-Cap" = "$1" }

[[routes]]
server_name = "site.test"
match = "/"
upstream = "app"
request_headers = { "X-Real-IP" = "$remote_addr", "X-Site" = "$scheme://$host$request_uri", "X-Debug" = "", "X-Forwarded-Proto" = "https" }
`;

/** The fields the app received, for a request with these fields of the client's own. */
function seen(base: string, headers: Record<string, string>, target = "/p?q=1"): Promise<Record<string, string>> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: u.hostname, port: u.port, path: target, headers: { host: "site.test", ...headers }, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(JSON.parse(body)));
    });
    req.on("error", reject);
  });
}

const FIELDS = ["HTTP_X_REAL_IP", "HTTP_X_SITE", "HTTP_X_DEBUG", "HTTP_X_FORWARDED_PROTO", "HTTP_X_KEEP"];

describe.each(BOTH_HOSTS)("request_headers on %s", (_name, start) => {
  const suite = gatewayForSuite(start, () => SITE());

  it("the app sees the fields nginx's proxy_set_header gives it: set, replaced, removed with \"\", and the client's others kept", async () => {
    const client = { "x-real-ip": "6.6.6.6", "x-debug": "on", "x-forwarded-proto": "http", "x-keep": "yes" };
    const ours = await seen(suite.dev.base, client);
    const theirs = await seen(`http://127.0.0.1:${nginx.port}`, client);
    const pick = (o: Record<string, string>) => Object.fromEntries(FIELDS.map((f) => [f, o[f] ?? null]));
    expect(pick(ours)).toEqual(pick(theirs));
    expect(pick(ours)).toEqual({ HTTP_X_REAL_IP: "127.0.0.1", HTTP_X_SITE: "http://site.test/p?q=1", HTTP_X_DEBUG: null, HTTP_X_FORWARDED_PROTO: "https", HTTP_X_KEEP: "yes" });
  });

  it("values routing decided: the user auth_basic accepted, the site's $server_name, the regex route's $1 (on the edge the pool object builds this request)", async () => {
    const authorization = `Basic ${Buffer.from("ann:pw").toString("base64")}`;
    const ours = await seen(suite.dev.base, { authorization }, "/who/abc");
    const theirs = await seen(`http://127.0.0.1:${nginx.port}`, { authorization }, "/who/abc");
    const pick = (o: Record<string, string>) => ({ user: o.HTTP_X_USER, server: o.HTTP_X_SERVER, cap: o.HTTP_X_CAP });
    expect(pick(ours)).toEqual(pick(theirs));
    expect(pick(ours)).toEqual({ user: "ann", server: "site.test", cap: "abc" });
  });
});
