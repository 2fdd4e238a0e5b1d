// The error page: the status, one sentence on what went wrong, and the request id to quote
// when asking the operator. Internal detail (codec codes, socket errors) goes to the log only.
import { httpDate } from "../edge/headers.js";
import { Codes, isGatewayError } from "./errors.js";
import type { Logger } from "./log.js";
import { ownAnswer, plainRespond, type ClientResponse } from "./respond.js";
import { fieldsOf } from "./response-fields.js";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The error page as a Response (for a host's answers outside the pipeline). */
export function errorResponse(e: unknown, requestId: string, log: Logger): Response {
  return plainRespond(errorAnswer(e, requestId, log));
}

export function errorAnswer(e: unknown, requestId: string, log: Logger): ClientResponse {
  const status = isGatewayError(e) ? e.status : 500;
  const code = isGatewayError(e) ? e.code : "INTERNAL";
  const message = isGatewayError(e) ? e.message : "The gateway failed unexpectedly; the log has the details.";
  // POOL_WAIT is a step between the Worker and a pool object, not a failure (pool/admission.ts).
  // A 505 answers the client's own version (an HTTP/2 preface sent to an HTTP/1 port, which
  // scanners do all day): the client's mistake, like a 4xx, not a fault of ours to alert on.
  // A browser's first visit to a page behind auth_basic is a 401 by design, not a warning.
  const level = code === Codes.POOL_WAIT || code === Codes.AUTH_REQUIRED ? "debug" : status >= 500 && status !== 505 ? "error" : "warn";
  log.log(level, "request_failed", {
    status,
    code,
    message,
    detail: isGatewayError(e) ? e.detail : e instanceof Error ? (e.stack ?? e.message) : String(e),
  });
  const body = `${status} ${REASONS[status] ?? "Error"}\n\n${message}\n\nerror: ${code}\nrequest id: ${requestId}\n`;
  const headers = fieldsOf([
    ["content-type", "text/plain; charset=utf-8"],
    ["x-edgepass-error", code],
    ["x-request-id", requestId],
    ["date", httpDate(Date.now())],
  ]);
  if (isGatewayError(e) && e.challenge !== undefined) headers.set("www-authenticate", e.challenge);
  if (isGatewayError(e) && e.retryAfter !== undefined) headers.set("retry-after", String(e.retryAfter));
  else if (status === 503) headers.set("retry-after", "1");
  return ownAnswer(status, headers, body);
}
