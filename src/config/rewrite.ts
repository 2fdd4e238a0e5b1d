// nginx's rewrite, per route: "REGEX REPLACEMENT [FLAG]" entries checked in order against the
// request's URI ($uri), and named routes ("@name") that try_files can end in. Together they are
// how nginx sites spell pretty URLs (DokuWiki's `location @dokuwiki { rewrite ^/(.*)
// /doku.php?id=$1&$args last; }`). Each entry is compiled once at load.
import type { Checker } from "./checker.js";
import { CONTROL_RE } from "./checker.js";
import { stringList } from "./assets.js";
import { pcreOnlySyntax } from "./pcre.js";
import { checkVariables } from "./route-rules.js";
import type { RewriteRule, RouteConfig } from "./types.js";

type At = Array<string | number>;

const FLAGS = ["last", "break", "redirect", "permanent"] as const;
const EXPECTED = 'a list of "REGEX REPLACEMENT [FLAG]" rules, e.g. ["^/_media/(.*) /lib/exe/fetch.php?media=$1 last"] (flags: last, break, redirect, permanent)';

export function checkRewrites(c: Checker, at: At, raw: unknown): RewriteRule[] {
  const texts = stringList(c, at, raw, EXPECTED, (s) => (CONTROL_RE.test(s) ? "a rule without control characters" : null));
  return texts.map((text, i) => {
    const here = [...at, i];
    const parts = text.trim().split(/\s+/);
    if (parts.length < 2 || parts.length > 3) c.fail(here, EXPECTED, { got: text, problem: "a rule is a regex, a replacement and an optional flag, separated by spaces" });
    const [source, replacement, flag] = parts;
    if (flag !== undefined && !(FLAGS as readonly string[]).includes(flag)) c.fail(here, EXPECTED, { got: text, problem: `unknown flag ${JSON.stringify(flag)}` });
    const pcre = pcreOnlySyntax(source);
    if (pcre) c.fail(here, "a regex JavaScript reads the way PCRE does", { problem: pcre.problem, hint: pcre.hint, got: text });
    let regex: RegExp;
    try {
      regex = new RegExp(source);
    } catch (e) {
      c.fail(here, "a valid regular expression", { problem: (e as Error).message, got: text });
    }
    checkVariables(c, here, replacement);
    // More groups named than the regex has would always be empty: a typo, said at load.
    const groups = new RegExp(`${source}|`).exec("")!.length - 1;
    for (const m of replacement.matchAll(/\$\{?(\d)\}?/g)) {
      if (Number(m[1]) > groups) c.fail(here, `captures $1 to $${groups || 1} of this regex`, { got: text, problem: `$${m[1]}: the regex has ${groups} capture group${groups === 1 ? "" : "s"}` });
    }
    const external = /^(https?:\/\/|\$scheme)/.test(replacement);
    if (!external && !replacement.startsWith("/")) c.fail(here, 'a replacement starting with "/", "http://", "https://" or "$scheme"', { got: text });
    const rule: RewriteRule = { text, regex, replacement };
    if (flag) rule.flag = flag as RewriteRule["flag"];
    return rule;
  });
}

/** Every "@name" a try_files ends in names a route with that match. */
export function checkNamedTargets(c: Checker, routes: RouteConfig[]): void {
  const named = new Set(routes.filter((r) => r.kind === "named").map((r) => r.pattern));
  routes.forEach((r, i) => {
    const last = r.tryFiles?.[r.tryFiles.length - 1];
    if (last?.startsWith("@") && !named.has(last)) {
      c.fail(["routes", i, "try_files", r.tryFiles!.length - 1], "a named route defined in this file", { got: last, hint: `add [[routes]] with match = "${last}"` });
    }
  });
}
