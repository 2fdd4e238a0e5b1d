// The FastCGI AUTHORIZER role (FastCGI spec 6.3): before the responder, the request goes to
// an authorizer app with no body and without CONTENT_LENGTH, PATH_INFO and SCRIPT_NAME. Its
// 200 lets the request through, each `Variable-NAME: value` header of that answer becoming the
// parameter NAME for the responder (never one the gateway owns, never one already set); any
// other answer is the client's, as is.
import { FcgiRole } from "../codec/types.js";
import type { AuthorizerConfig, GatewayConfig } from "../config/types.js";
import { isOwnedParam } from "../edge/owned-params.js";
import type { ExchangeContext, ForwardRequest, ForwardResponse } from "./exchange.js";
import { cancelBody } from "./respond.js";
import { fastcgiExchange } from "../protocol/fastcgi/exchange.js";

/** Not sent to an authorizer (spec 6.3), nor the body's framing headers. */
const WITHHELD_PARAMS = new Set(["CONTENT_LENGTH", "PATH_INFO", "SCRIPT_NAME", "PATH_TRANSLATED"]);
const WITHHELD_HEADERS = new Set(["content-length", "transfer-encoding"]);
const VARIABLE = "variable-";

export type Verdict = { allow: Array<[string, string]> } | { deny: ForwardResponse };

/** Asks the route's authorizer about `req` (the responder's request, before its body). */
export async function authorize(
  auth: AuthorizerConfig,
  req: Omit<ForwardRequest, "body" | "role">,
  ctx: Omit<ExchangeContext, "upstream">,
  config: GatewayConfig,
): Promise<Verdict> {
  const cgi: Array<[string, string]> = [];
  for (const [k, v] of req.cgi) {
    if (WITHHELD_PARAMS.has(k)) continue;
    cgi.push(k === "SCRIPT_FILENAME" && auth.script ? [k, auth.script] : [k, v]);
  }
  if (auth.script && !cgi.some(([k]) => k === "SCRIPT_FILENAME")) cgi.push(["SCRIPT_FILENAME", auth.script]);
  const upstream = config.upstreams[auth.upstream];
  // The authorizer is always asked over its own connection: its answer is small, and the
  // front decides before any pool is involved. Its record stays out of the request's line.
  const res = await fastcgiExchange.forward(
    {
      ...req,
      record: undefined,
      cgi,
      headers: req.headers.filter(([k]) => !WITHHELD_HEADERS.has(k.toLowerCase())),
      body: null,
      role: FcgiRole.AUTHORIZER,
    },
    { ...ctx, upstream },
  );
  if (res.status !== 200) return { deny: res };
  cancelBody(res.body);
  const taken = new Set(req.cgi.map(([k]) => k.toUpperCase()));
  const allow: Array<[string, string]> = [];
  for (const [k, v] of res.headers) {
    if (!k.toLowerCase().startsWith(VARIABLE)) continue;
    const name = k.slice(VARIABLE.length);
    if (!/^[A-Za-z0-9_]+$/.test(name) || isOwnedParam(name) || taken.has(name.toUpperCase())) {
      req.log.log("warn", "authorizer_variable_refused", { upstream: upstream.name, name });
      continue;
    }
    taken.add(name.toUpperCase());
    allow.push([name, v]);
  }
  return { allow };
}
