// [gateway] log and server_timing, and a route's authorizer: what loads, and the errors a
// wrong value gets (file:line, key, what was expected).
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const UPSTREAMS = `[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:9000"]

[upstreams.auth]
protocol = "fastcgi"
servers = ["127.0.0.1:9001"]

[upstreams.web]
protocol = "http"
servers = ["127.0.0.1:8080"]
`; // 11 lines

function errorOf(text: string): ConfigError {
  try {
    loadConfig(text, "edgepass.toml");
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected loadConfig to throw");
}

describe("[gateway] log and server_timing", () => {
  it('log = "off" and server_timing = true are read', () => {
    const c = loadConfig(`[gateway]\nlog = "off"\nserver_timing = true\n${UPSTREAMS}[[routes]]\nmatch = "/"\nupstream = "php"\n`, "t.toml");
    expect(c.gateway.log).toBe("off");
    expect(c.gateway.serverTiming).toBe(true);
  });

  it("anything else is refused with the line and the choices", () => {
    const e = errorOf(`[gateway]\nlog = "text"\n${UPSTREAMS}[[routes]]\nmatch = "/"\nupstream = "php"\n`);
    expect(e.message).toMatch(/^edgepass\.toml:2: gateway\.log: .*"json".*"off"/);
    const t = errorOf(`[gateway]\nserver_timing = "yes"\n${UPSTREAMS}[[routes]]\nmatch = "/"\nupstream = "php"\n`);
    expect(t.message).toMatch(/^edgepass\.toml:2: gateway\.server_timing: expected true or false/);
  });
});

describe("authorizer", () => {
  const route = (a: string, upstream = 'upstream = "php"\n') => `${UPSTREAMS}\n[[routes]]\nmatch = "/"\n${upstream}authorizer = ${a}\n`; // authorizer on line 16

  it("a name, or a table with the script php-fpm runs for it", () => {
    expect(loadConfig(route('"auth"'), "t.toml").routes[0].authorizer).toEqual({ upstream: "auth" });
    expect(loadConfig(route('{ upstream = "auth", script = "/srv/auth/check.php" }'), "t.toml").routes[0].authorizer).toEqual({
      upstream: "auth",
      script: "/srv/auth/check.php",
    });
  });

  it("an unknown upstream is refused, naming the FastCGI ones", () => {
    const e = errorOf(route('"nope"'));
    expect(e.message).toMatch(/^edgepass\.toml:16: routes\[0\]\.authorizer: /);
    expect(e.message).toContain('no upstream is named "nope"');
    expect(e.message).toContain('"php", "auth"');
  });

  it("a non-FastCGI upstream is refused: only FastCGI has the AUTHORIZER role", () => {
    const e = errorOf(route('"web"'));
    expect(e.message).toMatch(/^edgepass\.toml:16: routes\[0\]\.authorizer: /);
    expect(e.message).toContain('the upstream "web" speaks http; only FastCGI has the AUTHORIZER role');
  });

  it("a relative script, an unknown key, a number: refused", () => {
    expect(errorOf(route('{ upstream = "auth", script = "check.php" }')).message).toContain("an absolute path to the authorizer script");
    expect(errorOf(route('{ upstream = "auth", scirpt = "/x.php" }')).message).toContain("unknown key");
    expect(errorOf(route("3")).message).toContain("the name of a FastCGI upstream");
  });
});
