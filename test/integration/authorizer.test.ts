// The FastCGI AUTHORIZER role (FastCGI spec 6.3) against a real authorizer: php-fpm running
// test/fixtures/auth/check.php in that role (php-fpm accepts it and says so in FCGI_ROLE).
// Allowed: its Variable-* headers reach the responder (php-fpm too) as params, never over one
// the gateway owns; refused: its answer reaches the client as is, and the responder is never
// called (counted in the file the responder appends to). Through `edgepass dev` (the front
// asks, the pool object forwards) and `edgepass serve`.
import { readFileSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodTree, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, startServe, type Dev } from "../helpers/process.js";
import { rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
let www: string;
let auth: string;

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  chmodTree(www, true); // the responder counts its calls in a file there
  auth = publicCopy(path.join(repoRoot, "test/fixtures/auth"));
  fpm = await startPhpFpm({ maxChildren: 4 });
});

afterAll(async () => {
  await fpm?.stop();
  rmSync(www, { recursive: true, force: true });
  rmSync(auth, { recursive: true, force: true });
});

const hits = () => {
  const f = path.join(www, "hits.txt");
  return existsSync(f) ? readFileSync(f, "utf8").length : 0;
};

const toml = () => `[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[upstreams.auth]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[[routes]]
match = "/"
upstream = "php"
root = "${www}"
script = "/authz.php"
authorizer = { upstream = "auth", script = "${auth}/check.php" }
`;

for (const host of ["dev", "serve"] as const) {
  describe(`edgepass ${host}: authorizer = "auth"`, () => {
    let dev: Dev;
    beforeAll(async () => {
      dev = await (host === "dev" ? startDev : startServe)(toml());
    });
    afterAll(async () => {
      await dev?.stop();
    });

    it("200 lets the request through; Variable-* become params, the gateway's own stay", async () => {
      const before = hits();
      const res = await rawRequest(dev.base, {
        method: "POST",
        path: "/account/x?y=1",
        headers: { "x-token": "good", "x-request-id": `auth-ok-${host}`, "content-type": "text/plain" },
        body: "twelve bytes",
      });
      expect(res.status).toBe(200);
      const text = res.body.toString();
      expect(text).toContain("user=alice\n");
      // What the authorizer was given: its role, no body, no CONTENT_LENGTH / PATH_INFO /
      // SCRIPT_NAME, and the request id.
      expect(text).toContain(`saw=role=AUTHORIZER cl=absent pi=absent sn=absent body=0 id=auth-ok-${host}\n`);
      // Variable-SCRIPT_FILENAME and Variable-HTTP_X_TOKEN were refused.
      expect(text).toContain(`script=${www}/authz.php\n`);
      expect(text).toContain("token=good\n");
      // The responder got the body the authorizer never saw.
      expect(text).toContain("body=12\n");
      expect(hits()).toBe(before + 1);
    });

    it("a refusal reaches the client as is (status, headers, body); the responder is never called", async () => {
      const before = hits();
      for (const token of ["bad", ""]) {
        const res = await rawRequest(dev.base, {
          method: "POST",
          path: "/account/x",
          headers: token ? { "x-token": token, "x-request-id": `auth-no-${host}` } : { "x-request-id": `auth-no-${host}` },
          body: "a body that must not reach anyone",
        });
        expect(res.status).toBe(401);
        expect(res.get("www-authenticate")).toBe('Bearer realm="edgepass-test"');
        expect(res.get("x-authorizer")).toBe("refused");
        expect(res.get("x-request-id")).toBe(`auth-no-${host}`);
        expect(res.body.toString()).toBe(`refused by the authorizer (role=AUTHORIZER cl=absent pi=absent sn=absent body=0 id=auth-no-${host})\n`);
      }
      expect(hits()).toBe(before);
    });
  });
}
