// The validated, normalized configuration every part of edgepass reads.
// Produced only by loadConfig() (src/config/load.ts); durations are milliseconds, sizes bytes.
import type { AccessRule } from "../edge/access.js";
import type { AutoindexOptions } from "../edge/autoindex.js";
import type { AuthBasicConfig } from "./auth-basic.js";
import type { CacheRule } from "./cache.js";

export type { AuthBasicConfig, CacheRule };

export type Protocol = "fastcgi" | "scgi" | "uwsgi" | "http";

export interface ServerAddress {
  host: string;
  port: number;
  /** A Unix socket ("unix:/run/php/php-fpm.sock"; the plain server host only): host "" and
   *  port 0 then. */
  path?: string;
}

/** Which host the config is loaded for: the Cloudflare Worker ("edge") or `edgepass serve`
 *  ("server"). Unix sockets exist only on a server; the per-object connection cap and shards
 *  are Durable Object ideas and apply only on the edge. */
export type ConfigHost = "edge" | "server";

/** One entry of an upstream's servers, with its options ("b:9000 weight=2", "c:9000 backup"). */
export interface UpstreamServer extends ServerAddress {
  /** weight=N, default 1: its share of requests relative to the others. */
  weight: number;
  /** backup: used only when no primary server is available. */
  backup: boolean;
  /** max_fails=N (default: the upstream's max_fails): failures within fail_timeout that take
   *  it out of rotation for fail_timeout; 0: never. */
  maxFails: number;
  /** fail_timeout= (default: the upstream's fail_timeout). */
  failTimeoutMs: number;
}

export type BalanceMethod = "round_robin" | "least_conn" | "hash" | "random_two";

/** What the hash balancer hashes: the client address, the request URI, a header or a cookie. */
export type HashKey = { kind: "ip" } | { kind: "uri" } | { kind: "header"; name: string } | { kind: "cookie"; name: string };

/** health_check = { interval, fails, passes, path, timeout }: active checks in the upstream's
 *  protocol (src/balance/probe.ts). */
export interface HealthCheckConfig {
  intervalMs: number;
  /** Consecutive failed checks that mark a server down. */
  fails: number;
  /** Consecutive passed checks that mark a down server up again. */
  passes: number;
  /** FastCGI: a request to this script path (php-fpm's ping.path); absent: FCGI_GET_VALUES.
   *  HTTP: GET this path (default "/"). */
  path?: string;
  /** A check that has not answered within this fails (default: the interval). */
  timeoutMs: number;
}

/** How an upstream spreads requests over its servers and steps around failing ones. */
export interface BalanceConfig {
  method: BalanceMethod;
  /** balance = "hash" only. */
  hashKey?: HashKey;
  healthCheck?: HealthCheckConfig;
  /** next_upstream_tries, default 0: servers one request may be tried on, the first included;
   *  0 means each server once. */
  tries: number;
  /** next_upstream_timeout, default 0 (none): no new try starts this long after the first. */
  timeoutMs: number;
}

export interface UpstreamConfig {
  name: string;
  protocol: Protocol;
  servers: UpstreamServer[];
  /** balance, hash_key, health_check, next_upstream_*, max_fails, fail_timeout (balance.ts). */
  balance: BalanceConfig;
  /** connect_timeout, default "5s": TCP connect must finish within this. */
  connectTimeoutMs: number;
  /** send_timeout, default "60s": each write to the origin must finish within this. */
  sendTimeoutMs: number;
  /** read_timeout, default "60s": max wait for the first byte, and between two reads. */
  readTimeoutMs: number;
  /** protocol = "uwsgi": the packet header's modifiers (0/0 = a WSGI request). */
  uwsgi?: { modifier1: number; modifier2: number };
  /** protocol = "http". */
  http?: HttpUpstreamOptions;
  /** request_buffering (nginx's *_request_buffering); absent: the host's default. True: a
   *  request body is read whole before the origin is asked and goes with its length
   *  (`edgepass serve`'s default: a slow upload never holds an app's worker). False: it
   *  streams as it arrives, a body of unknown length chunked to an HTTP origin (the Worker's
   *  default for HTTP; the CGI protocols always get a length). */
  requestBuffering?: boolean;
  /** How connections to the origin are held (src/pool, the UpstreamPool Durable Object). */
  pool: PoolConfig;
}

/** pool = "pooled" keeps a few long-lived connections per upstream in UpstreamPool Durable
 *  Objects (FastCGI: FCGI_KEEP_CONN, multiplexing when the app offers it; HTTP over sockets:
 *  HTTP/1.1 keep-alive); "direct" opens one connection per request. FastCGI is pooled by
 *  default, HTTP only when asked; SCGI, uwsgi and HTTP via fetch() are always direct. */
export interface PoolConfig {
  mode: "pooled" | "direct";
  /** shards: pool objects per upstream, each with an equal share of the limits; by default as
   *  few as keep every object within 6 connections (Cloudflare's limit per object). */
  shards: number;
  /** max_connections, default 8: connections per server of the upstream (all shards together),
   *  lowered further to the FCGI_MAX_CONNS the server reports. */
  maxConnections: number;
  /** idle_timeout, default "4s": an idle kept connection is closed after this, so it does not
   *  pin an app worker (php-fpm serves one connection per child). */
  idleTimeoutMs: number;
  /** queue, default 5000: requests one pool object lets wait for a connection; past it, 503. */
  queue: number;
  /** queue_timeout, default "30s": the longest a request waits for a connection; then 503. */
  queueTimeoutMs: number;
}

export interface HttpUpstreamOptions {
  /** host: the Host header sent to the origin; undefined passes the client's Host through. */
  host?: string;
  /** via = "socket" (default): our HTTP/1.1 client over connect(); "fetch": the platform's
   *  fetch() to `url` (origins reachable by URL, TLS included). */
  via: "socket" | "fetch";
  /** url, with via = "fetch": the origin's base URL, e.g. "https://app.example.com". */
  url?: string;
}

/** nginx location modifiers: "= /x" exact, "^~ /x" prefix that stops the regex search,
 *  "~ re" regex, "~* re" case-insensitive regex, "/x" plain prefix. */
export type MatchKind = "exact" | "prefix" | "prefix-stop" | "regex" | "regex-i" | "named";

/** One rewrite rule: the regex tried against $uri, the replacement ($1…$9 and variables),
 *  and nginx's flag: last (route again), break (stay on this route), redirect (302),
 *  permanent (301); none: go on with the next rule, then route again. */
export interface RewriteRule {
  text: string;
  regex: RegExp;
  replacement: string;
  flag?: "last" | "break" | "redirect" | "permanent";
}

export interface RouteConfig {
  /** The `match` string as written, for messages. */
  match: string;
  kind: MatchKind;
  /** The path for exact/prefix kinds, the regex source for regex kinds. */
  pattern: string;
  /** Compiled once at load for regex kinds. */
  regex?: RegExp;
  /** server_name: the Hosts this route serves (nginx's server block for them), lower-case;
   *  "*.example.com" for any name under it. Absent: the default server, for every other Host. */
  serverNames?: string[];
  /** The route's try_files, return, add_headers or request_headers name its regex's groups. */
  usesCaptures?: boolean;
  /** Absent: the route serves files from [assets] (or only returns / denies). */
  upstream?: string;
  /** DOCUMENT_ROOT; absent means "app mode": SCRIPT_NAME "", PATH_INFO = decoded path. */
  root?: string;
  /** Appended to paths ending in "/" before splitting (default "index.php" when root is set). */
  index?: string;
  /** index, as a list: tried in order for a directory URL on a files route (default
   *  ["index.html"]); an excluded name ("index.php") is routed again as <dir>/<name>. */
  indexFiles: string[];
  /** Script extensions (default [".php"] when root is set). */
  split: string[];
  /** Front controller (needs root): every request on the route runs this script, e.g.
   *  "/index.php" — nginx's `try_files $uri /index.php`. SCRIPT_NAME = script, PATH_INFO "". */
  script?: string;
  /** Extra CGI params; can never override a gateway-owned name (checked at load). */
  params: Record<string, string>;
  /** 0-based position in the file, for logs. */
  index_in_file: number;
  /** try_files, nginx's: every entry but the last is a file (or, ending in "/", a directory)
   *  to look for; the last is a URI routed again, or "=CODE". Variables are expanded. */
  tryFiles?: string[];
  /** access, nginx's allow/deny in order (first match wins; none matching allows): 403. */
  access: AccessRule[];
  /** limit_req: the leaky bucket this route's requests go through. */
  limitReq?: LimitReqConfig;
  /** limit_conn: how many of this route's requests one key may have in flight. */
  limitConn?: LimitConnConfig;
  /** max_body (client_max_body_size) for this route; absent: [gateway] max_body; 0: none. */
  maxBody?: number;
  /** strip_prefix: removed from the path the origin sees (SCRIPT_NAME, PATH_INFO,
   *  DOCUMENT_URI, an HTTP origin's request-target); REQUEST_URI stays the client's. */
  stripPrefix?: string;
  /** return, nginx's: a status with an optional text or (3xx) URL, variables expanded. */
  return?: ReturnRule;
  /** error_pages on this route; replaces [gateway]'s entirely when set (nginx's inheritance). */
  errorPages?: ErrorPages;
  /** intercept_errors, default false: the origin's 4xx/5xx answers get the error pages too. */
  interceptErrors: boolean;
  /** expires: seconds for max-age / Expires; "epoch" = -1 (no-cache); "max" = 10 years. */
  expires?: number | "epoch" | "max";
  /** limit_rate and limit_rate_after (bytes; rate a second, 0 none): core/limit-rate.ts. */
  limitRate?: { rate: number; after: number };
  /** buffering, default true (nginx's proxy_buffering): on `edgepass serve`, an origin's answer
   *  is read ahead of a slow client, in memory and then a file of up to max_temp_file_size
   *  (default 1 GiB; 0: memory only), so the origin is free once it is done (core/read-ahead.ts). */
  buffering?: { on: boolean; maxTempFile: number };
  /** add_headers, set on every response of the route (nginx's add_header … always). */
  addHeaders: Array<[string, string]>;
  /** request_headers (nginx's proxy_set_header): fields set on the request to an HTTP origin,
   *  variables expanded, replacing the client's; an empty value sends none. */
  requestHeaders?: Array<[string, string]>;
  /** hide_headers, lower-case: removed from the route's responses. */
  hideHeaders: string[];
  /** gzip_static, default true: a .br or .gz sibling is served to a client that accepts it. */
  gzipStatic: boolean;
  /** autoindex (files routes): a directory without an index file is listed, as nginx lists it. */
  autoindex?: AutoindexOptions;
  /** authorizer: a FastCGI upstream asked first, in the AUTHORIZER role (FastCGI spec 6.3). */
  authorizer?: AuthorizerConfig;
  /** auth_basic (nginx's auth_basic and auth_basic_user_file): the route's own, else
   *  [gateway] auth_basic; absent: no credentials asked for. */
  authBasic?: AuthBasicConfig;
  /** rewrite, nginx's: tried in order when the route is reached, before access and try_files. */
  rewrites?: RewriteRule[];
  /** require_client_cert, default false: a request without a verified client certificate
   *  ([serve] client_ca, or Cloudflare's mTLS on the edge) is answered 403. */
  requireClientCert?: boolean;
  /** cache (nginx's fastcgi_cache / proxy_cache): the origin's cacheable answers kept and
   *  served again (core/cache.ts); absent: none. */
  cache?: CacheRule;
  /** log: this route's request line, as [gateway] log ("off": nginx's `access_log off`). */
  log?: string;
}

export interface AuthorizerConfig {
  upstream: string;
  /** script: SCRIPT_FILENAME for the authorizer (php-fpm runs that file); absent: the
   *  responder's own SCRIPT_FILENAME, as the spec's authorizer sees the request. */
  script?: string;
}

/** What a limit counts by: the client address, a request header's value, or the route
 *  itself (one count for everyone). */
export type LimitKey = { kind: "ip" } | { kind: "route" } | { kind: "header"; name: string };

interface LimitCommon {
  key: LimitKey;
  /** The key as written ("ip", "header:X-Api-Key", "route"), for messages. */
  keyText: string;
  /** status, default 429: the answer to a refused request (429 or 503). */
  status: number;
  /** dry_run, default false: refusals are only logged. */
  dryRun: boolean;
  /** zone: counts shared by every route naming it; absent: the route's own. */
  zone?: string;
}

export interface LimitReqConfig extends LimitCommon {
  /** nginx's unit: requests per second × 1000 ("10r/s" = 10000, "30r/m" = 500). */
  rate: number;
  /** The rate as written, for messages. */
  rateText: string;
  /** burst, default 0: requests past the rate held (or, with nodelay, passed) before refusing. */
  burst: number;
  nodelay: boolean;
}

export interface LimitConnConfig extends LimitCommon {
  max: number;
}

export interface ReturnRule {
  status: number;
  /** The body text (for non-redirects) or the Location (for 301, 302, 303, 307, 308). */
  text?: string;
}

/** Status → a path in the assets (an error page keeps the original status). */
export type ErrorPages = Record<number, string>;

/** [assets]: the files the gateway serves (Workers Static Assets on the edge, a directory in
 *  `edgepass dev` and on the Node host). */
export interface AssetsConfig {
  /** directory as written in the config. */
  directory: string;
  /** The directory resolved against the config file's folder, when that is known; X-Sendfile
   *  paths must lie inside it. */
  absoluteDirectory?: string;
  /** r2: the name of an R2 bucket binding that holds files added at run time (uploads). */
  r2?: string;
  /** exclude, default [".*", "*.php"]: globs matched against each path segment; a match is
   *  never served as a file. */
  exclude: string[];
  /** internal: path prefixes served only through X-Accel-Redirect / X-Sendfile (404 when
   *  requested directly). */
  internal: string[];
}

export interface GatewaySettings {
  /** max_body, default "100m" (nginx's client_max_body_size): the largest request body; past
   *  it, 413 before the origin sees a byte. 0: unlimited. A route's max_body replaces it. */
  maxBody: number;
  /** max_body_buffer, default "8m": cap for buffering a request body of unknown length. */
  maxBodyBuffer: number;
  /** response_head_limit, default "16k": largest CGI response head accepted from an origin. */
  responseHeadLimit: number;
  /** underscores_in_headers, default false: like nginx, drop client headers with "_" in the name. */
  underscoresInHeaders: boolean;
  /** server_name, default "": SERVER_NAME when set, else the request's Host name. */
  serverName: string;
  /** admin_path, default "" (off): a path such as "/_edgepass/pools" where GET answers the
   *  pools' statistics as JSON. */
  adminPath: string;
  /** rewrite on [gateway]: nginx's server-level rules, before any route is looked for. */
  rewrites?: RewriteRule[];
  /** auth_basic on [gateway]: every route's unless it has its own, and admin_path's. */
  authBasic?: AuthBasicConfig;
  /** error_pages, default {}: status → a page in the assets, for the gateway's own errors and
   *  (with intercept_errors) the origin's. */
  errorPages: ErrorPages;
  /** log, default "json": one JSON line per request on stdout; "off" none (warnings and errors
   *  stay); "combined" or a template of variables: nginx's text lines (core/log-format.ts). */
  log: string;
  /** server_timing, default false: a Server-Timing header with what is known at head time. */
  serverTiming: boolean;
  /** cache_size, default 64 MiB: what the routes' cached answers may hold in memory, per
   *  process (`edgepass serve`; the Worker keeps them in Cloudflare's cache). */
  cacheSize: number;
}

export type { ServeSettings, TlsVersion } from "./serve-types.js";
import type { ServeSettings } from "./serve-types.js";


export interface GatewayConfig {
  /** Where it came from (a file path or "EDGEPASS_CONFIG"), for messages. */
  source: string;
  gateway: GatewaySettings;
  serve: ServeSettings;
  upstreams: Record<string, UpstreamConfig>;
  routes: RouteConfig[];
  /** [assets]; absent: no files are served. */
  assets?: AssetsConfig;
}
