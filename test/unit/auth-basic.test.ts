// auth_basic's parts: the htpasswd formats checked against the tools that write them (Apache's
// htpasswd, openssl passwd), the config's shapes and refusals, and the check itself.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";
import { basicAuthUser } from "../../src/edge/basic-auth.js";
import { hashProblem, md5Crypt, passwordMatches, shaCrypt } from "../../src/edge/htpasswd.js";
import { md5, sha1, sha256, sha512 } from "../../src/edge/digests.js";
import { createHash } from "node:crypto";
import type { AuthBasicConfig } from "../../src/config/types.js";

const enc = new TextEncoder();
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" }).trim();

describe("htpasswd formats", () => {
  // (bcrypt reads 72 bytes of a password, here as in every bcrypt: the longest is shorter.)
  it.each(["", "pw", "pässwort", "with: colon", "x".repeat(70)])("%j: each format htpasswd writes matches it, and only it", (pw) => {
    for (const flag of ["B", "m", "s"]) {
      const hash = run("htpasswd", [`-nb${flag}`, "u", pw]).slice(2);
      expect(hashProblem(hash), flag).toBeNull();
      expect(passwordMatches(enc.encode(pw), hash), flag).toBe(true);
      expect(passwordMatches(enc.encode(`${pw}.`), hash), flag).toBe(false);
    }
  });

  it("MD5-crypt is openssl's, for both magics and every salt length", () => {
    for (const salt of ["", "a", "abcdefgh", "./Zz09"]) {
      expect(md5Crypt(enc.encode("secret"), salt, "$apr1$")).toBe(run("openssl", ["passwd", "-apr1", "-salt", salt, "secret"]));
      expect(md5Crypt(enc.encode("secret"), salt, "$1$")).toBe(run("openssl", ["passwd", "-1", "-salt", salt, "secret"]));
    }
  });

  it("{SSHA} and {PLAIN}", () => {
    const salt = Buffer.from("salt");
    const digest = execFileSync("openssl", ["dgst", "-sha1", "-binary"], { input: Buffer.concat([Buffer.from("pw"), salt]) });
    const ssha = `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
    expect(hashProblem(ssha)).toBeNull();
    expect(passwordMatches(enc.encode("pw"), ssha)).toBe(true);
    expect(passwordMatches(enc.encode("pW"), ssha)).toBe(false);
    expect(passwordMatches(enc.encode("pw"), "{PLAIN}pw")).toBe(true);
  });

  it("SHA-crypt ($5$, $6$) is openssl's and glibc's, the default rounds and others", () => {
    for (const alg of ["-5", "-6"]) {
      for (const [pw, salt] of [["pw", "saltstring"], ["a password of more than sixty-four bytes, with ü, to cross a block", "1234567890123456"], ["x", "s"]]) {
        const ref = run("openssl", ["passwd", alg, "-salt", salt, pw]);
        expect(hashProblem(ref)).toBeNull();
        expect(shaCrypt(enc.encode(pw), ref)).toBe(ref);
        expect(passwordMatches(enc.encode(`${pw}!`), ref)).toBe(false);
      }
    }
    // Debian's Python still has crypt (glibc's), which writes a rounds= setting.
    const glibc = run("/usr/bin/python3", ["-W", "ignore", "-c", "import crypt; print(crypt.crypt('pw', '$6$rounds=2000$salty'))"]);
    expect(glibc.startsWith("$6$rounds=2000$salty$")).toBe(true);
    expect(passwordMatches(enc.encode("pw"), glibc)).toBe(true);
  });

  it("SHA-256 and SHA-512 are node:crypto's at every length across the block edges", () => {
    for (let n = 0; n < 300; n += 7) {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
      expect(Buffer.from(sha256(data)).toString("hex")).toBe(createHash("sha256").update(data).digest("hex"));
      expect(Buffer.from(sha512(data)).toString("hex")).toBe(createHash("sha512").update(data).digest("hex"));
      expect(Buffer.from(md5(data)).toString("hex")).toBe(createHash("md5").update(data).digest("hex"));
      expect(Buffer.from(sha1(data)).toString("hex")).toBe(createHash("sha1").update(data).digest("hex"));
    }
  });

  it.each([
    ["$6$salt$short", "a SHA-crypt hash of the wrong length"],
    [run("htpasswd", ["-nbd", "u", "pw"]).slice(2), "DES crypt keeps only the first 8 characters"],
    ["pw", "not a password hash htpasswd or openssl passwd writes"],
    ["", "not a password hash htpasswd or openssl passwd writes"],
  ])("%s is refused: %s", (hash, says) => {
    expect(hashProblem(hash)).toContain(says);
  });
});

const UP = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
const alice = run("htpasswd", ["-nbm", "alice", "pw"]);
const load = (text: string, read?: (p: string) => string) => loadConfig(UP + text, "s.toml", "/srv", read ? "server" : "edge", read);

describe("auth_basic in the config", () => {
  it("[gateway]'s applies to every route but one with its own, or with false", () => {
    const cfg = load(`[gateway]\nauth_basic = { users = ["${alice}"] }\n[[routes]]\nmatch = "/a"\nupstream = "php"\n[[routes]]\nmatch = "/b"\nupstream = "php"\nauth_basic = false\n[[routes]]\nmatch = "/c"\nupstream = "php"\nauth_basic = { realm = "C", users = ["${alice}"] }\n`);
    expect(cfg.routes.map((r) => r.authBasic?.realm ?? null)).toEqual(["Restricted", null, "C"]);
    expect([...cfg.routes[0].authBasic!.users.keys()]).toEqual(["alice"]);
  });

  it("user_file: read on the server host, beside the config, comments and blank lines skipped, the first line of a user kept", () => {
    const files: Record<string, string> = { "/srv/htpasswd": `# users\n\n${alice}\n${run("htpasswd", ["-nbs", "alice", "other"])}\n${run("htpasswd", ["-nbB", "bob", "pw"])}:a comment\n` };
    const cfg = load(`[[routes]]\nmatch = "/"\nupstream = "php"\nauth_basic = { realm = "Site", user_file = "htpasswd" }\n`, (p) => files[p] ?? (() => { throw Object.assign(new Error("no"), { code: "ENOENT" }); })());
    const auth = cfg.routes[0].authBasic!;
    expect([...auth.users.keys()]).toEqual(["alice", "bob"]);
    expect(auth.users.get("alice")).toBe(alice.slice(6));
    expect(auth.userFile).toBe("/srv/htpasswd");
  });

  it.each([
    ['auth_basic = { realm = "x" }', "users or user_file (one of them)"],
    [`auth_basic = { users = ["${alice}"], user_file = "f" }`, "users or user_file (one of them)"],
    ["auth_basic = { users = [] }", 'a list of "user:hash" lines'],
    ['auth_basic = { users = ["alice"] }', "not user:hash"],
    ['auth_basic = { users = ["alice:pw"] }', 'user "alice": not a password hash htpasswd or openssl passwd writes'],
    [`auth_basic = { realm = "a\\nb", users = ["${alice}"] }`, "a realm of printable characters"],
    ['auth_basic = { user_file = "htpasswd" }', "the Worker cannot read files"],
    ['auth_basic = "on"', "or false"],
    ['auth_basic_user_file = "htpasswd"', 'edgepass calls this "auth_basic"'],
  ])("%s is refused, saying %s", (line, says) => {
    expect(messageOf(() => load(`[[routes]]\nmatch = "/"\nupstream = "php"\n${line}\n`))).toContain(says);
  });

  it("a user_file that cannot be read, has a bad line or no user: the file and line named", () => {
    const route = `[[routes]]\nmatch = "/"\nupstream = "php"\nauth_basic = { user_file = "htpasswd" }\n`;
    const failing = () => {
      throw Object.assign(new Error("denied"), { code: "EACCES" });
    };
    expect(messageOf(() => load(route, failing))).toContain("/srv/htpasswd: EACCES");
    expect(messageOf(() => load(route, () => `${alice}\nbob:plain\n`))).toContain('/srv/htpasswd line 2: user "bob": not a password hash');
    expect(messageOf(() => load(route, () => "# nobody\n"))).toContain("/srv/htpasswd lists no user");
  });
});

describe("the check", () => {
  const hash = run("htpasswd", ["-nbB", "alice", "pw"]).slice(6);
  const auth = (): AuthBasicConfig => ({ realm: 'My "site"', users: new Map([["alice", hash]]) });
  const header = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;
  const refusal = (a: AuthBasicConfig, h: string | null) => {
    try {
      basicAuthUser(a, h, "/", () => {});
    } catch (e) {
      const g = e as { code: string; status: number; challenge: string; detail: string };
      return [g.status, g.code, g.challenge, g.detail];
    }
    return null;
  };

  it("accepts the user, tells who was named, and asks again in the realm (quotes escaped) otherwise", () => {
    const a = auth();
    const named: string[] = [];
    expect(basicAuthUser(a, header("alice:pw"), "/", (u) => named.push(u))).toBe("alice");
    expect(basicAuthUser(a, `basic   ${Buffer.from("alice:pw").toString("base64")}`, "/", (u) => named.push(u))).toBe("alice");
    expect(named).toEqual(["alice", "alice"]);
    expect(refusal(a, null)).toEqual([401, "AUTH_REQUIRED", 'Basic realm="My \\"site\\"", charset="UTF-8"', "route /: no credentials sent"]);
    expect(refusal(a, "Digest x")?.slice(0, 2)).toEqual([401, "AUTH_REQUIRED"]);
    expect(refusal(a, header("alice:PW"))?.[3]).toBe('route /: user "alice": password mismatch');
    expect(refusal(a, header("bob:pw"))?.[3]).toBe('route /: user "bob" was not found');
    expect(refusal(a, header("alice"))?.[1]).toBe("AUTH_FAILED");
  });

  it("remembers accepted credentials per list (a list read again asks again), never refused ones", () => {
    const a = auth();
    expect(basicAuthUser(a, header("alice:pw"), "/", () => {})).toBe("alice");
    a.users.set("alice", run("htpasswd", ["-nbB", "alice", "new"]).slice(6));
    // The same list object: the accepted header is remembered.
    expect(basicAuthUser(a, header("alice:pw"), "/", () => {})).toBe("alice");
    // A reload builds a new list, which checks again.
    const b = { ...a, users: new Map(a.users) };
    expect(refusal(b, header("alice:pw"))?.[1]).toBe("AUTH_FAILED");
    expect(basicAuthUser(b, header("alice:new"), "/", () => {})).toBe("alice");
  });
});
