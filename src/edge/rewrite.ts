// nginx's rewrite at request time: each rule's regex tried against $uri in order; a match
// replaces the URI (captures $1…$9 and variables expanded) and, by its flag, routes again
// (last), stays on this route (break) or answers a redirect (redirect 302, permanent 301; a
// replacement that is a URL redirects too). A query in the replacement becomes $args with the
// request's own appended, unless the replacement ends in "?" (nginx's rule).
import type { RewriteRule } from "../config/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import { ownAnswer, type ClientResponse } from "../core/respond.js";
import { fieldsOf } from "../core/response-fields.js";
import { escapeBytes } from "./uri.js";
import { expandVariables, type RequestVars } from "./variables.js";

/** A path a rewrite made that routing must not take: dot segments (which would climb out of a
 *  root in SCRIPT_FILENAME), an empty segment, or a control character. */
const UNSAFE_PATH = /\/\.\.?(?:\/|$)|\/\/|[\x00-\x1f\x7f]/;

/** "again": the URI changed, route it again; "stay": keep this route (with the URI as the
 *  rules left it); or the redirect to answer. `where` names the rules' place for the log
 *  ("route /x", "[gateway]"); `changed` hears of a changed URI. */
export function rewrite(rules: readonly RewriteRule[], where: string, vars: RequestVars, changed: () => void): "again" | "stay" | ClientResponse {
  let moved = false;
  for (const rule of rules) {
    const m = rule.regex.exec(vars.uri);
    if (!m) continue;
    const redirect = rule.flag === "redirect" || rule.flag === "permanent" || /^(https?:\/\/|\$scheme)/.test(rule.replacement);
    // nginx escapes a capture bound for the query or a redirect when the client's own path
    // was escaped ("%", "+"): it was decoded into $uri, and goes out in URL form again.
    const quoted = /[%+]/.test(vars.requestUri.split("?")[0]);
    const q = rule.replacement.indexOf("?");
    const own = { ...vars, captures: m };
    const fill = (part: string, escaped: boolean) => expandVariables(part, own, escaped && quoted ? escapeArg : undefined);
    let out = q < 0 ? fill(rule.replacement, redirect) : `${fill(rule.replacement.slice(0, q), redirect)}?${fill(rule.replacement.slice(q + 1), true)}`;
    const noArgs = out.endsWith("?");
    if (noArgs) out = out.slice(0, -1);
    const at = out.indexOf("?");
    const given = at < 0 ? null : out.slice(at + 1);
    const path = at < 0 ? out : out.slice(0, at);
    const args = noArgs ? (given ?? "") : given === null ? vars.args : vars.args ? `${given}&${vars.args}` : given;
    if (redirect) {
      const location = args ? `${path}?${args}` : path;
      return ownAnswer(rule.flag === "permanent" ? 301 : 302, fieldsOf([["location", location]]));
    }
    if (UNSAFE_PATH.test(path)) {
      throw new GatewayError(Codes.REWRITE_INVALID, 500, "The configuration rewrote this request to a path it cannot serve.", `${where} rewrite ${JSON.stringify(rule.text)} made ${JSON.stringify(path)}`);
    }
    vars.uri = path;
    vars.args = args;
    moved = true;
    changed();
    if (rule.flag === "last") return "again";
    if (rule.flag === "break") return "stay";
  }
  return moved ? "again" : "stay";
}

/** nginx's NGX_ESCAPE_ARGS: space and controls, "#", "%", "&", "+", "?" and every byte past
 *  ASCII, as %XX of their UTF-8 bytes. */
const escapeArg = (s: string) => escapeBytes(s, /[\x00-\x20#%&+?\x7f-\uffff]/, (b) => b <= 0x20 || b >= 0x7f || b === 0x23 || b === 0x25 || b === 0x26 || b === 0x2b || b === 0x3f, "%");
