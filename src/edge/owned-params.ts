// CGI parameter names only the gateway may set. A route's `params` can never name one of
// these (checked at load), so SCRIPT_FILENAME, REMOTE_ADDR, HTTPS… always carry the values
// the gateway computed, and a client header can never be impersonated through HTTP_*.

/** Meta-variables the gateway sets itself (RFC 3875 section 4.1 plus nginx's fastcgi.conf). */
export const OWNED_PARAMS: readonly string[] = Object.freeze([
  "QUERY_STRING",
  "REQUEST_METHOD",
  "CONTENT_TYPE",
  "CONTENT_LENGTH",
  "SCRIPT_NAME",
  "SCRIPT_FILENAME",
  "REQUEST_URI",
  "DOCUMENT_URI",
  "DOCUMENT_ROOT",
  "SERVER_PROTOCOL",
  "REQUEST_SCHEME",
  "HTTPS",
  "GATEWAY_INTERFACE",
  "SERVER_SOFTWARE",
  "REMOTE_ADDR",
  "REMOTE_PORT",
  "SERVER_ADDR",
  "SERVER_PORT",
  "SERVER_NAME",
  "REDIRECT_STATUS",
  "PATH_INFO",
  "PATH_TRANSLATED",
  "AUTH_TYPE",
  "REMOTE_USER",
]);

/** Every client header becomes HTTP_<NAME> (RFC 3875 section 4.1.18); that namespace is the
 *  client's, relayed by the gateway, never the configuration's. SSL_* carries the client's
 *  TLS connection and certificate (core/client-tls.ts): an app trusts SSL_CLIENT_VERIFY, so
 *  no config may write it. */
export const OWNED_PARAM_PREFIXES: readonly string[] = Object.freeze(["HTTP_", "SSL_"]);

const owned = new Set(OWNED_PARAMS);

/** True when `name` is gateway-owned. The comparison ignores ASCII case: CGI names are
 *  case-sensitive, but several runtimes (Windows environments, frameworks that upper-case
 *  $_SERVER keys) are not, so `script_filename` would shadow SCRIPT_FILENAME there. */
export function isOwnedParam(name: string): boolean {
  const upper = name.toUpperCase();
  if (owned.has(upper)) return true;
  for (const p of OWNED_PARAM_PREFIXES) if (upper.startsWith(p)) return true;
  return false;
}
