// The CGI meta-variables the gateway owns: the full set nginx's fastcgi_params and
// fastcgi.conf send (RFC 3875 section 4.1), plus PATH_INFO. They always win over anything
// derived from client headers (the codec drops a derived name equal to one of these).
import type { RouteConfig } from "../config/types.js";
import type { RequestUrl } from "../edge/request-url.js";
import { tlsParams, type ClientTls } from "./client-tls.js";
import type { GatewayRequest } from "./gateway.js";

export interface ScriptSplit {
  scriptName: string;
  pathInfo: string;
  scriptFilename: string;
  documentRoot: string;
}

export interface ClientInfo {
  remoteAddr?: string;
  remotePort?: string;
  serverAddr?: string;
  /** The client's TLS connection, where the host knows it (core/client-tls.ts). */
  tls?: ClientTls;
}

export interface CgiEnvInput {
  method: string;
  url: RequestUrl;
  /** The normalized, decoded path ($uri / $document_uri in nginx). */
  path: string;
  /** The query without "?" ($args; try_files may have changed it). */
  query?: string;
  split: ScriptSplit;
  route: RouteConfig;
  contentType: string | null;
  contentLength: number | null;
  protocol: string;
  serverName: string;
  client: ClientInfo;
  software: string;
  /** The user auth_basic accepted (REMOTE_USER, with AUTH_TYPE "Basic"). */
  remoteUser?: string;
}

export function cgiEnv(i: CgiEnvInput): Array<[string, string]> {
  const https = i.url.protocol === "https:";
  const port = i.url.port || (https ? "443" : "80");
  const env: Array<[string, string]> = [
    ["QUERY_STRING", i.query ?? (i.url.search.length > 1 ? i.url.search.slice(1) : "")],
    ["REQUEST_METHOD", i.method],
    ["CONTENT_TYPE", i.contentType ?? ""],
    ["CONTENT_LENGTH", i.contentLength === null ? "" : String(i.contentLength)],
    ["SCRIPT_NAME", i.split.scriptName],
  ];
  if (i.split.scriptFilename) env.push(["SCRIPT_FILENAME", i.split.scriptFilename]);
  env.push(
    ["PATH_INFO", i.split.pathInfo],
    ["REQUEST_URI", i.url.pathname + i.url.search],
    ["DOCUMENT_URI", i.path],
    ["DOCUMENT_ROOT", i.split.documentRoot],
    ["SERVER_PROTOCOL", i.protocol],
    ["REQUEST_SCHEME", https ? "https" : "http"],
  );
  if (https) env.push(["HTTPS", "on"]);
  if (i.client.tls) env.push(...tlsParams(i.client.tls));
  if (i.remoteUser !== undefined) env.push(["AUTH_TYPE", "Basic"], ["REMOTE_USER", i.remoteUser]);
  env.push(
    ["GATEWAY_INTERFACE", "CGI/1.1"],
    // A route's params may name it (WordPress looks for "nginx" or "Apache" in it).
    ["SERVER_SOFTWARE", i.route.params.SERVER_SOFTWARE ?? i.software],
    ["REMOTE_ADDR", i.client.remoteAddr ?? ""],
    ["REMOTE_PORT", i.client.remotePort ?? ""],
    ["SERVER_ADDR", i.client.serverAddr ?? ""],
    ["SERVER_PORT", port],
    ["SERVER_NAME", i.serverName],
    // PHP built with --enable-force-cgi-redirect refuses to run without it.
    ["REDIRECT_STATUS", "200"],
  );
  for (const [k, v] of Object.entries(i.route.params)) if (k !== "SERVER_SOFTWARE") env.push([k, v]);
  return env;
}

/** The client's protocol as CGI's SERVER_PROTOCOL writes it (RFC 3875 4.1.16: "HTTP/" major
 *  "." minor) and nginx passes it: Cloudflare's "HTTP/2" and "HTTP/3" become "HTTP/2.0" and
 *  "HTTP/3.0". An app that echoes it in its status line (uWSGI does) then writes a version
 *  the response parser reads. */
export function cgiProtocol(p: string | undefined): string {
  if (p === undefined) return "HTTP/1.1";
  return /^HTTP\/\d$/.test(p) ? `${p}.0` : p;
}

/** The client's request fields as the origin gets them (an HTTP origin's head, the CGI
 *  protocols' HTTP_* variables): the Accept-Encoding the client sent, not a platform's rewrite
 *  of it (or the origin sends codings the client cannot read); this request's id; a Host
 *  where the request had none (a Request built in code), since apps need one. `leave`: names
 *  not passed on. */
export function forwardedFields(request: GatewayRequest, acceptEncoding: string | null, requestId: string, host: string, leave?: ReadonlySet<string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  request.headers.forEach((v, k) => {
    if (k !== "accept-encoding" && k !== "x-request-id" && !leave?.has(k)) out.push([k, v]);
  });
  if (acceptEncoding) out.push(["accept-encoding", acceptEncoding]);
  out.push(["x-request-id", requestId]);
  if (!request.headers.has("host")) out.push(["host", host]);
  return out;
}
