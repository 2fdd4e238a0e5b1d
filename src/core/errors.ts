// One class for every failure a client can see, each with a stable `code` (logs, tests and
// docs refer to it) and the HTTP status it maps to. The message is written for the person
// reading the error page: what went wrong and, where possible, what to do.

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra detail for the log only (never sent to the client). */
    readonly detail?: string,
  ) {
    // An expected condition with a stable code, logged by its code, message and detail, never
    // its stack: capturing one walks the optimized frames (about 10 µs of an upload that
    // closed an idle connection for its new one), which every refusal would pay.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "GatewayError";
  }

  /** Seconds for Retry-After (a refusal by a limit says when to come back). */
  retryAfter?: number;
  /** WWW-Authenticate for a 401: how to send credentials. */
  challenge?: string;
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;

/** Codes are appended, never renamed: operators grep logs for them. */
export const Codes = {
  CONFIG_INVALID: "CONFIG_INVALID",
  ROUTE_NOT_FOUND: "ROUTE_NOT_FOUND",
  REQUEST_INVALID: "REQUEST_INVALID",
  BODY_TOO_LARGE: "BODY_TOO_LARGE",
  BODY_READ_FAILED: "BODY_READ_FAILED",
  /** The plain server host: a body held to learn its length could not be written to its
   *  temporary file ([serve] body_temp full or not writable; 500, as nginx answers). */
  BODY_SPOOL_FAILED: "BODY_SPOOL_FAILED",
  /** The bodies without a Content-Length held at once filled their budget (a Worker's 32 MiB
   *  in memory, serve's 1 GiB of files; 503, Retry-After: 1). */
  BODY_BUFFER_BUSY: "BODY_BUFFER_BUSY",
  UPSTREAM_CONNECT_FAILED: "UPSTREAM_CONNECT_FAILED",
  UPSTREAM_CONNECT_TIMEOUT: "UPSTREAM_CONNECT_TIMEOUT",
  UPSTREAM_SEND_TIMEOUT: "UPSTREAM_SEND_TIMEOUT",
  UPSTREAM_READ_TIMEOUT: "UPSTREAM_READ_TIMEOUT",
  UPSTREAM_BAD_RESPONSE: "UPSTREAM_BAD_RESPONSE",
  UPSTREAM_CLOSED_EARLY: "UPSTREAM_CLOSED_EARLY",
  UPSTREAM_OVERLOADED: "UPSTREAM_OVERLOADED",
  UPSTREAM_REJECTED: "UPSTREAM_REJECTED",
  UPSTREAM_IO: "UPSTREAM_IO",
  HEADERS_TOO_LARGE: "HEADERS_TOO_LARGE",
  /** Every pooled connection busy and the wait queue full, or the wait too long (503). */
  POOL_SATURATED: "POOL_SATURATED",
  /** A client too slow for a multiplexed connection; its request was aborted. */
  CLIENT_TOO_SLOW: "CLIENT_TOO_SLOW",
  /** Between the Worker and a pool object only, never sent to a client: no place was free
   *  for a request sent without one reserved; the Worker reserves one and sends it again. */
  POOL_WAIT: "POOL_WAIT",
  /** The Worker could not hand the request to the upstream's pool object. */
  UPSTREAM_POOL_FAILED: "UPSTREAM_POOL_FAILED",
  /** The client went away before the answer (499, nginx's number; only the log sees it). */
  CLIENT_GONE: "CLIENT_GONE",
  /** No file at the path (or one the exclude list keeps private, or an internal path). */
  FILE_NOT_FOUND: "FILE_NOT_FOUND",
  /** The route's access rules refused the client address. */
  ACCESS_DENIED: "ACCESS_DENIED",
  /** The connection sent no client certificate where one is needed: 400 with [serve]
   *  verify_client = "on" (nginx's "No required SSL certificate was sent"), 403 on a route
   *  with require_client_cert. */
  CLIENT_CERT_REQUIRED: "CLIENT_CERT_REQUIRED",
  /** The client certificate failed verification (an unknown issuer, expired, revoked): 400,
   *  as nginx answers "The SSL certificate error". */
  CLIENT_CERT_INVALID: "CLIENT_CERT_INVALID",
  /** A rewrite made a path routing cannot take (a "." or ".." segment, "//"): 500, the rule
   *  in the log. */
  REWRITE_INVALID: "REWRITE_INVALID",
  /** auth_basic: no credentials were sent (a browser then asks for them): 401. */
  AUTH_REQUIRED: "AUTH_REQUIRED",
  /** auth_basic: the user is unknown or the password does not match: 401. */
  AUTH_FAILED: "AUTH_FAILED",
  /** A directory URL with no index file (nginx: "directory index … is forbidden"). */
  DIRECTORY_INDEX_FORBIDDEN: "DIRECTORY_INDEX_FORBIDDEN",
  /** try_files or an index routed a request again more than 10 times. */
  INTERNAL_REDIRECT_CYCLE: "INTERNAL_REDIRECT_CYCLE",
  /** [assets] is configured but the host gave the gateway no file store (binding missing). */
  ASSETS_UNAVAILABLE: "ASSETS_UNAVAILABLE",
  /** A route's return = "CODE" answered an error status. */
  RETURNED: "RETURNED",
  /** The origin's X-Accel-Redirect / X-Sendfile named a file that cannot be served. */
  ACCEL_REFUSED: "ACCEL_REFUSED",
  /** The plain server host: a request head not whole within header_timeout (408). */
  CLIENT_HEADER_TIMEOUT: "CLIENT_HEADER_TIMEOUT",
  /** The plain server host: a request body that stopped arriving for body_timeout (408). */
  CLIENT_BODY_TIMEOUT: "CLIENT_BODY_TIMEOUT",
  /** A route's limit_req refused the request (429, or its status). */
  LIMIT_REQ: "LIMIT_REQ",
  /** A route's limit_conn refused the request (429, or its status). */
  LIMIT_CONN: "LIMIT_CONN",
  /** The Worker could not reach the Durable Object holding a limit's count (503). */
  LIMITS_UNAVAILABLE: "LIMITS_UNAVAILABLE",
  /** A GET or HEAD with a body, for an upstream reached through the platform's fetch()
   *  (via = "fetch"), which cannot send one (501). */
  FETCH_CANNOT_SEND_BODY: "FETCH_CANNOT_SEND_BODY",
  /** The plain server host: a plain HTTP request on the HTTPS listener (400; nginx's 497). */
  PLAIN_HTTP_TO_HTTPS_PORT: "PLAIN_HTTP_TO_HTTPS_PORT",
} as const;
