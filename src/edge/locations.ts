// nginx `location` semantics (http://nginx.org/en/docs/http/ngx_http_core_module.html#location):
//   1. an exact ("= /x") location equal to the path wins at once;
//   2. otherwise the longest matching prefix ("/x" or "^~ /x") is remembered;
//   3. if that longest prefix is "^~", it is used and no regex is tried;
//   4. otherwise regexes ("~", "~*") are tried in file order and the first match wins;
//   5. otherwise the remembered prefix is used (or nothing matches).
// Paths are the normalized, decoded form from normalizePath() (nginx's $uri). Prefix
// comparison is case-sensitive, as nginx does on every system but macOS, Windows and Cygwin.
import type { MatchKind, RouteConfig } from "../config/types.js";

export interface LocationMatcher {
  match(path: string): RouteConfig | null;
}

export type ParsedMatch = { kind: MatchKind; pattern: string } | { problem: string };

const MODIFIERS: ReadonlyArray<[string, MatchKind]> = [
  // Longest first, so "~*" is not read as "~" followed by a pattern starting with "*".
  ["^~", "prefix-stop"],
  ["~*", "regex-i"],
  ["=", "exact"],
  ["~", "regex"],
];

/** Parses a `match` string the way nginx parses a location's arguments: a modifier and the
 *  pattern separated by whitespace ("~* \.jpg$"), or glued together ("=/x", "~*\.jpg$"), or
 *  a bare prefix ("/docs/"). Only the syntax is checked here; regexes are compiled by the
 *  config loader. */
export function parseLocationMatch(match: string): ParsedMatch {
  const s = match.trim();
  if (s === "") return { problem: "the match is empty" };
  if (s.startsWith("@")) {
    // A named route: reached only from the end of a try_files, never by a request's path.
    if (!/^@[A-Za-z0-9_-]+$/.test(s)) return { problem: "a named route is @ and a name of letters, digits, _ and -" };
    return { kind: "named", pattern: s };
  }
  for (const [mod, kind] of MODIFIERS) {
    if (!s.startsWith(mod)) continue;
    const pattern = s.slice(mod.length).trim();
    if (pattern === "") return { problem: `the "${mod}" modifier needs a ${isRegex(kind) ? "regex" : "path"} after it` };
    return { kind, pattern };
  }
  return { kind: "prefix", pattern: s };
}

function isRegex(kind: MatchKind): boolean {
  return kind === "regex" || kind === "regex-i";
}

/** Precomputes the lookup structures for one route list: exact paths in a map, prefixes
 *  sorted longest first (the first hit is the longest match), regexes in file order. */
export function compileLocations(routes: readonly RouteConfig[]): LocationMatcher {
  const exact = new Map<string, RouteConfig>();
  const prefixes: RouteConfig[] = [];
  const regexes: Array<{ route: RouteConfig; re: RegExp }> = [];
  for (const route of routes) {
    switch (route.kind) {
      case "exact":
        if (!exact.has(route.pattern)) exact.set(route.pattern, route);
        break;
      case "prefix":
      case "prefix-stop":
        prefixes.push(route);
        break;
      case "regex":
      case "regex-i":
        regexes.push({ route, re: statelessRegex(route) });
        break;
    }
  }
  // Array.prototype.sort is stable: equal prefixes keep file order, so the first one wins.
  prefixes.sort((a, b) => b.pattern.length - a.pattern.length);

  return {
    match(path: string): RouteConfig | null {
      const hit = exact.get(path);
      if (hit) return hit;
      let longest: RouteConfig | null = null;
      for (const p of prefixes) {
        if (path.startsWith(p.pattern)) {
          longest = p;
          break;
        }
      }
      if (longest?.kind === "prefix-stop") return longest;
      for (const { route, re } of regexes) if (re.test(path)) return route;
      return longest;
    },
  };
}

/** A "g" or "y" regex keeps state in lastIndex between test() calls; routing must not. */
function statelessRegex(route: RouteConfig): RegExp {
  const flags = route.kind === "regex-i" ? "i" : "";
  const re = route.regex;
  if (re && !re.global && !re.sticky && re.ignoreCase === (route.kind === "regex-i")) return re;
  return new RegExp(re ? re.source : route.pattern, flags);
}

/** The routes as nginx's server blocks: those a route's `server_name` lists (an exact name,
 *  or "*.example.com" for any name under it), and the rest, the default server for any other
 *  Host. Each block has its own locations. */
interface Servers {
  fallback: LocationMatcher;
  exact: Map<string, LocationMatcher>;
  /** ".example.com" suffixes, longest first (nginx prefers the longest wildcard). */
  wild: Array<[string, LocationMatcher]>;
}

function compileServers(routes: readonly RouteConfig[]): Servers {
  const named = new Map<string, RouteConfig[]>();
  for (const r of routes) for (const n of r.serverNames ?? []) named.set(n, [...(named.get(n) ?? []), r]);
  const servers: Servers = { fallback: compileLocations(routes.filter((r) => !r.serverNames)), exact: new Map(), wild: [] };
  for (const [name, list] of named) {
    if (name.startsWith("*.")) servers.wild.push([name.slice(1), compileLocations(list)]);
    else servers.exact.set(name, compileLocations(list));
  }
  servers.wild.sort((a, b) => b[0].length - a[0].length);
  return servers;
}

/** nginx's $server_name on a route of a named server: the server's first name as written
 *  (a wildcard too, as nginx gives it: put the real name first); undefined on the default
 *  server. */
export function serverNameOf(route: RouteConfig): string | undefined {
  return route.serverNames?.[0];
}

// One matcher per route array. Routes come from loadConfig() and are never mutated, so the
// array itself is a sound cache key; a WeakMap lets a replaced config be collected.
const cache = new WeakMap<readonly RouteConfig[], Servers>();

/** The route nginx would pick for `path` (normalized and decoded) on the server `host` names
 *  ($host: lower-case, no port), or null. */
export function matchRoute(routes: RouteConfig[], path: string, host = ""): RouteConfig | null {
  let s = cache.get(routes);
  if (!s) {
    s = compileServers(routes);
    cache.set(routes, s);
  }
  if (s.exact.size === 0 && s.wild.length === 0) return s.fallback.match(path);
  const server = s.exact.get(host) ?? s.wild.find(([suffix]) => host.endsWith(suffix) && host.length > suffix.length)?.[1] ?? s.fallback;
  return server.match(path);
}
