// authorizer on a route: a FastCGI upstream asked first, in the AUTHORIZER role. Written as a
// name (`authorizer = "auth"`) or a table naming the script php-fpm should run for it
// (`authorizer = { upstream = "auth", script = "/srv/auth/check.php" }`). The upstream must
// exist and speak FastCGI: only FastCGI has the role.
import type { AuthorizerConfig, RouteConfig, UpstreamConfig } from "./types.js";
import { Checker, CONTROL_RE, isTable } from "./checker.js";

const EXPECTED = 'the name of a FastCGI upstream ("auth"), or { upstream = "auth", script = "/srv/auth/check.php" }';

export function checkAuthorizerShape(c: Checker, at: Array<string | number>, v: unknown): AuthorizerConfig {
  if (typeof v === "string") return { upstream: v };
  if (!isTable(v)) c.fail(at, EXPECTED, { got: v });
  c.onlyKeys(at, v, ["upstream", "script"], {});
  const upstream = c.string([...at, "upstream"], v.upstream, EXPECTED);
  const out: AuthorizerConfig = { upstream };
  if (v.script !== undefined) {
    const s = c.string([...at, "script"], v.script, "an absolute path to the authorizer script");
    if (!s.startsWith("/") || CONTROL_RE.test(s)) c.fail([...at, "script"], "an absolute path to the authorizer script", { got: s });
    out.script = s;
  }
  return out;
}

/** Every route's authorizer names a defined FastCGI upstream. */
export function checkAuthorizers(c: Checker, routes: RouteConfig[], upstreams: Record<string, UpstreamConfig>): void {
  for (const r of routes) {
    if (!r.authorizer) continue;
    const at = ["routes", r.index_in_file, "authorizer"];
    const u = upstreams[r.authorizer.upstream];
    const fastcgi = Object.values(upstreams).filter((x) => x.protocol === "fastcgi").map((x) => JSON.stringify(x.name));
    const expected = `the name of a FastCGI upstream (${fastcgi.length ? fastcgi.join(", ") : "none are defined"})`;
    if (!u) c.fail(at, expected, { got: r.authorizer.upstream, problem: `no upstream is named ${JSON.stringify(r.authorizer.upstream)}` });
    if (u.protocol !== "fastcgi") {
      c.fail(at, expected, {
        got: r.authorizer.upstream,
        problem: `the upstream "${u.name}" speaks ${u.protocol}; only FastCGI has the AUTHORIZER role`,
      });
    }
    if (r.upstream === undefined) {
      c.fail(at, "a route with an upstream", { problem: "authorizer guards requests forwarded to an upstream; this route serves files or returns" });
    }
  }
}
