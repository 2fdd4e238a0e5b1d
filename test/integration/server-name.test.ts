// Routes per site (server_name) through both hosts, on the wire, with nginx as the reference:
// the same sites as nginx server blocks on one port (a default server, a site with its own
// locations, a www name that redirects, a wildcard), the same requests with different Host
// fields, and each answer compared with nginx's.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS } from "../helpers/process.js";
import { startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";

let nginx: Server & { dir: string };

beforeAll(async () => {
  nginx = await startNginx(
    (_dir, port) => `    location / { return 200 "default $host $uri"; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name example.test;
    location / { return 200 "site $server_name $uri"; }
    location /app/ { return 200 "app $server_name $uri"; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name www.example.test;
    location / { return 301 https://example.test$request_uri; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name *.apps.test apps.example;
    location / { return 200 "apps $host $server_name $uri"; }`,
  );
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
});

const SITE = `[[routes]]
match = "/"
return = "200 default $host $uri"

[[routes]]
server_name = "example.test"
match = "/"
return = "200 site $server_name $uri"

[[routes]]
server_name = "example.test"
match = "/app/"
return = "200 app $server_name $uri"

[[routes]]
server_name = "www.example.test"
match = "/"
return = "301 https://example.test$request_uri"

[[routes]]
server_name = ["*.apps.test", "apps.example"]
match = "/"
return = "200 apps $host $server_name $uri"
`;

/** GET with this Host field: the status, the body, and a redirect's Location. */
function get(base: string, host: string, target: string): Promise<{ status: number; body: string; location: string | null }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: u.hostname, port: u.port, path: target, headers: { host }, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body: res.statusCode === 200 ? body : "", location: (res.headers.location as string | undefined) ?? null }));
    });
    req.on("error", reject);
  });
}

const CASES: Array<[string, string]> = [
  ["example.test", "/"],
  ["example.test", "/app/x"],
  ["EXAMPLE.test:8080", "/app/y"],
  ["www.example.test", "/a?b=1"],
  ["x.apps.test", "/p"],
  ["deep.x.apps.test", "/q"],
  ["apps.test", "/r"],
  ["apps.example", "/s"],
  ["other.test", "/app/z"],
];

describe.each(BOTH_HOSTS)("server_name on %s", (_name, start) => {
  const suite = gatewayForSuite(start, () => SITE);

  it.each(CASES)("Host %s, %s: answered as nginx answers it", async (host, target) => {
    expect(await get(suite.dev.base, host, target)).toEqual(await get(`http://127.0.0.1:${nginx.port}`, host, target));
  });
});
