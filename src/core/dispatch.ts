// What to do with a request before any origin is involved: nginx's location phase and the
// static module. Internal paths are refused, the route is picked, access (allow/deny by client
// address), the body limit and the route's limits and return apply,
// try_files and index files may route the request again (nginx's internal redirects, at most
// 10), and a route without an upstream serves the file. What is left is a decision to forward:
// the route and the URI (changed by try_files) the origin should see.
import type { GatewayConfig, RouteConfig } from "../config/types.js";
import type { RequestRecord } from "./access-log.js";
import type { ExcludeMatcher } from "../edge/exclude.js";
import type { FileStore } from "../edge/file-store.js";
import { accessAllows } from "../edge/access.js";
import { matchRoute, serverNameOf } from "../edge/locations.js";
import { directoryExists, fileExists, serveStatic } from "../edge/static.js";
import { expandVariables, type RequestVars } from "../edge/variables.js";
import { Codes, GatewayError } from "./errors.js";
import { listenerRefusal, routeRefusal, type ClientTls } from "./client-tls.js";
import { basicAuthUser } from "../edge/basic-auth.js";
import { rewrite } from "../edge/rewrite.js";
import type { GatewayRequest } from "./gateway.js";
import { ownAnswer, type ClientResponse } from "./respond.js";
import { fieldsOf } from "./response-fields.js";

export interface Site {
  config: GatewayConfig;
  /** Where files come from; null when the host has none (no [assets], or no binding). */
  files: FileStore | null;
  exclude: ExcludeMatcher;
}

export interface Forward {
  route: RouteConfig;
  /** Decoded path the origin should see as its URI ($uri after try_files). */
  path: string;
  /** Query without "?" ($args after try_files). */
  query: string;
  /** try_files or an index changed the URI. */
  rewritten: boolean;
}

export interface DispatchState {
  /** The route that answered (or failed), for error pages and the header policy. */
  route?: RouteConfig;
  vars: RequestVars;
  /** The client's own Accept-Encoding (see StaticRequest). */
  acceptEncoding: string | null;
  /** The client address access rules are checked against (undefined: unknown). */
  clientAddr?: string;
  /** Runs on every route the request is routed to, once access let it in: max_body on the
   *  declared length, and the limits (gateway.ts); a promise only when a limit must wait. */
  guard?: (route: RouteConfig) => Promise<void> | undefined;
  /** The request's log line in the making: a limit that decides sets `limit` on it. */
  record?: RequestRecord;
  /** A rewrite, try_files or an index changed the URI: the origin then gets the new one. */
  rewritten?: boolean;
}

const MAX_INTERNAL_REDIRECTS = 10;
const noExclude: ExcludeMatcher = () => false;

type Dispatched = ClientResponse | Forward;

/** What a front gateway that dispatched a request tells the pool object it hands it to: the
 *  URI to forward, the route it chose (its place in the config, and its match to check that),
 *  and the user its auth_basic accepted. */
export interface HandedOn {
  path: string;
  query: string;
  rewritten: boolean;
  route: number;
  match: string;
  remoteUser?: string;
}

/** Where the request goes. A route that answers or forwards at once (no try_files, no files,
 *  no limit to wait for: most requests) is decided without a promise; the rest with one. */
export function dispatch(site: Site, request: GatewayRequest, state: DispatchState): Dispatched | Promise<Dispatched> {
  const vars = state.vars;
  // The connection's certificate, before any path (nginx answers 400 there).
  const refused = listenerRefusal(vars.tls);
  if (refused) throw refused;
  if (isInternal(site.config, vars.uri)) {
    throw new GatewayError(Codes.FILE_NOT_FOUND, 404, `Nothing is served at ${vars.uri}.`, "internal path requested directly");
  }
  // [gateway] rewrite: nginx's server-level rules, run once before any route is looked for
  // (last and break both go on to routing there).
  const siteRewrites = site.config.gateway.rewrites;
  if (siteRewrites) {
    const r = rewrite(siteRewrites, "[gateway]", vars, () => (state.rewritten = true));
    if (typeof r !== "string") return r;
  }
  const route = routeFor(site, request, state);
  if ("status" in route) return route;
  const guarded = enter(route, request, state);
  if (!guarded && !route.tryFiles) {
    if (route.return) return answerReturn(route, vars);
    if (route.upstream !== undefined) return { route, path: vars.uri, query: vars.args, rewritten: state.rewritten === true };
  }
  return dispatchFrom(site, request, state, route, guarded);
}

/** What admin_path (the pool statistics, answered by the host before any route) asks first:
 *  the connection's certificate where verify_client refuses it, and [gateway] auth_basic. */
export function adminRefusal(settings: GatewayConfig["gateway"], authorization: string | null, tls: ClientTls | undefined): GatewayError | null {
  const refused = listenerRefusal(tls);
  if (refused || !settings.authBasic) return refused;
  try {
    basicAuthUser(settings.authBasic, authorization, settings.adminPath, () => {});
    return null;
  } catch (e) {
    return e as GatewayError;
  }
}

/** The route `vars.uri` matches (or `named`, a try_files' "@name"), its rewrites run (which
 *  may route again, or answer a redirect), once access let the client in. */
function routeFor(site: Site, request: GatewayRequest, state: DispatchState, named?: RouteConfig): RouteConfig | ClientResponse {
  const vars = state.vars;
  let route: RouteConfig | null = null;
  for (let hops = 0; !route; hops++) {
    if (hops > MAX_INTERNAL_REDIRECTS) {
      throw new GatewayError(Codes.INTERNAL_REDIRECT_CYCLE, 500, "The configuration routes this request in a cycle (rewrite).", vars.uri);
    }
    const found = named ?? matchRoute(site.config.routes, vars.uri, vars.host);
    named = undefined;
    if (!found) throw new GatewayError(Codes.ROUTE_NOT_FOUND, 404, `No route matches ${vars.uri}.`);
    state.route = found;
    const next = found.rewrites ? rewrite(found.rewrites, `route ${found.match}`, vars, () => (state.rewritten = true)) : "stay";
    if (next === "stay") route = found;
    else if (next !== "again") return next;
  }
  routeVars(route, vars, vars.uri);
  if (!accessAllows(route.access, state.clientAddr)) {
    throw new GatewayError(Codes.ACCESS_DENIED, 403, "Access to this path is denied.", `route ${route.match} client ${state.clientAddr ?? "unknown"}`);
  }
  if (route.requireClientCert) {
    const refused = routeRefusal(state.vars.tls, route.match);
    if (refused) throw refused;
  }
  return route;
}

/** The route's limits, then its password (nginx's order: a guess at a password counts against
 *  limit_req like any request, so a limit slows guessing); a promise only when a limit makes
 *  the request wait. */
function enter(route: RouteConfig, request: GatewayRequest, state: DispatchState): Promise<void> | undefined {
  const wait = state.guard?.(route);
  if (!route.authBasic) return wait;
  const auth = route.authBasic;
  const check = () =>
    void basicAuthUser(auth, request.headers.get("authorization"), route.match, (user) => {
      state.vars.remoteUser = user;
      if (state.record) state.record.remote_user = user;
    });
  if (!wait) return check();
  return wait.then(check);
}

/** The values a route's own texts read: its regex's groups in `uri` ($1…$9, nginx's location
 *  captures) and its site's $server_name. */
function routeVars(route: RouteConfig, vars: RequestVars, uri: string): void {
  vars.serverName = serverNameOf(route) ?? vars.serverName;
  vars.captures = route.usesCaptures ? (route.regex!.exec(uri) ?? undefined) : undefined;
}

/** The route a front gateway chose and handed on to a pool object, which does not route again
 *  (a rewrite or a named route may not be the path's own): taken only if this object's config
 *  has the same route in that place (a deploy may be half done), else the path's; the values
 *  routing set (the user, $server_name, $1…) set again from it. */
export function handedOnRoute(config: GatewayConfig, d: HandedOn, vars: RequestVars): RouteConfig {
  const chosen = config.routes[d.route];
  const route = chosen?.match === d.match ? chosen : matchRoute(config.routes, d.path, vars.host);
  if (!route || route.upstream === undefined) throw new GatewayError(Codes.ROUTE_NOT_FOUND, 404, `No route matches ${d.path}.`);
  routeVars(route, vars, d.path);
  vars.remoteUser = d.remoteUser;
  return route;
}

/** dispatch from its first route on, already matched and guarded (`guarded`: the guard's wait). */
async function dispatchFrom(site: Site, request: GatewayRequest, state: DispatchState, first: RouteConfig, guarded: Promise<void> | undefined): Promise<Dispatched> {
  const vars = state.vars;
  let named: RouteConfig | undefined;
  for (let hops = 0; ; hops++) {
    if (hops > MAX_INTERNAL_REDIRECTS) {
      throw new GatewayError(Codes.INTERNAL_REDIRECT_CYCLE, 500, "The configuration routes this request in a cycle (try_files or index).", vars.uri);
    }
    const next = hops === 0 ? first : routeFor(site, request, state, named);
    if ("status" in next) return next;
    const route = next;
    named = undefined;
    const wait = hops === 0 ? guarded : enter(route, request, state);
    if (wait) await wait;
    if (route.return) return answerReturn(route, vars);

    let path = vars.uri;
    if (route.tryFiles) {
      const t = await tryFiles(site, route, vars);
      if ("status" in t) throw new GatewayError(t.status === 404 ? Codes.FILE_NOT_FOUND : Codes.RETURNED, t.status, `Nothing is served at ${vars.uri}.`, "try_files");
      if ("named" in t) {
        named = t.named;
        continue;
      }
      if ("uri" in t) {
        [vars.uri, vars.args] = [t.uri, t.args];
        state.rewritten = true;
        continue;
      }
      path = t.found;
    }
    if (route.upstream !== undefined) return { route, path, query: vars.args, rewritten: state.rewritten === true || path !== vars.uri };

    const files = needFiles(site);
    const search = vars.args ? `?${vars.args}` : "";
    const out = await serveStatic(files, { method: request.method, headers: request.headers, path, search, acceptEncoding: state.acceptEncoding }, {
      exclude: site.exclude,
      indexFiles: route.indexFiles,
      gzipStatic: route.gzipStatic,
      autoindex: route.autoindex,
    });
    switch (out.kind) {
      case "response":
        return out.response;
      case "reroute":
        vars.uri = out.path;
        state.rewritten = true;
        continue;
      case "missing":
        throw new GatewayError(Codes.FILE_NOT_FOUND, 404, `Nothing is served at ${vars.uri}.`);
      case "forbidden":
        throw new GatewayError(Codes.DIRECTORY_INDEX_FORBIDDEN, 403, "This directory has no index file.", path);
    }
  }
}

export function needFiles(site: Site): FileStore {
  if (site.files) return site.files;
  throw new GatewayError(
    Codes.ASSETS_UNAVAILABLE,
    500,
    "This route serves files, but the gateway has no file store.",
    "no ASSETS binding (wrangler.toml [assets] binding = \"ASSETS\") or no [assets] in the config",
  );
}

export function isInternal(config: GatewayConfig, path: string): boolean {
  return config.assets?.internal.some((p) => path.startsWith(p)) ?? false;
}

type TryResult = { found: string } | { uri: string; args: string } | { named: RouteConfig } | { status: number };

/** nginx's try_files: the first entry that names a file (or, ending in "/", a directory)
 *  wins; otherwise the last entry is a URI routed again (its query replaces the request's
 *  only when it has "?"), or "=CODE". A route with an upstream counts any file, the app's
 *  own scripts included (try_files $uri =404 before PHP); a files route only what it may serve. */
async function tryFiles(site: Site, route: RouteConfig, vars: RequestVars): Promise<TryResult> {
  const files = needFiles(site);
  const entries = route.tryFiles!;
  const exclude = route.upstream !== undefined ? noExclude : site.exclude;
  for (const entry of entries.slice(0, -1)) {
    const p = expandVariables(entry, vars);
    if (!p.startsWith("/")) continue;
    if (p.endsWith("/")) {
      if (!exclude(p) && (await directoryExists(files, p, route.indexFiles))) return { found: p };
    } else if (await fileExists(files, p, exclude)) {
      return { found: p };
    }
  }
  const last = entries[entries.length - 1];
  if (last.startsWith("=")) return { status: Number(last.slice(1)) };
  // The named route keeps the URI as it is (the config check made sure it exists).
  if (last.startsWith("@")) return { named: site.config.routes.find((r) => r.kind === "named" && r.pattern === last)! };
  const target = expandVariables(last, vars);
  const q = target.indexOf("?");
  return q < 0 ? { uri: target, args: vars.args } : { uri: target.slice(0, q), args: target.slice(q + 1) };
}

const TEXT_FIELDS: ReadonlyArray<readonly [string, string]> = [["content-type", "text/plain; charset=utf-8"]];

/** nginx's return: a redirect with Location, a text body, or an error status (which gets the
 *  error pages like any other). */
function answerReturn(route: RouteConfig, vars: RequestVars): ClientResponse {
  const { status, text } = route.return!;
  const value = text === undefined ? undefined : expandVariables(text, vars);
  if ([301, 302, 303, 307, 308].includes(status)) {
    return ownAnswer(status, fieldsOf([["location", value!]]));
  }
  if (value === undefined && status >= 400) {
    throw new GatewayError(status === 404 ? Codes.FILE_NOT_FOUND : Codes.RETURNED, status, `The configuration answers ${status} here.`, `route ${route.match}`);
  }
  return ownAnswer(status, fieldsOf(value === undefined ? [] : TEXT_FIELDS), value);
}
