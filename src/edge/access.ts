// nginx's allow/deny (ngx_http_access_module): the rules are checked in order and the first
// that matches the client address decides; when none matches, the request is allowed. A
// client address that does not parse (none known, or garbage) matches only "all" rules, so a
// list ending in "deny all" refuses it.
import { cidrContains, parseCidr, parseIp, type Cidr } from "./cidr.js";

export interface AccessRule {
  allow: boolean;
  /** null: "all". */
  net: Cidr | null;
}

export type AccessRuleResult = AccessRule | { problem: string; hint?: string };

/** "allow 10.0.0.0/8", "deny 2001:db8::1", "deny all". */
export function parseAccessRule(text: string): AccessRuleResult {
  const m = /^\s*(allow|deny)\s+(\S+)\s*$/.exec(text);
  if (!m) return { problem: `${JSON.stringify(text)} is not "allow ADDRESS", "deny ADDRESS" or "allow all"/"deny all"` };
  const allow = m[1] === "allow";
  if (m[2] === "all") return { allow, net: null };
  const net = parseCidr(m[2]);
  if ("problem" in net) return net;
  return { allow, net };
}

/** Whether the rules let `addr` through. */
export function accessAllows(rules: readonly AccessRule[], addr: string | undefined): boolean {
  // The address is parsed only when a rule has a network to match it against.
  let bytes: Uint8Array | null | undefined;
  for (const r of rules) {
    if (r.net === null) return r.allow;
    if (bytes === undefined) bytes = addr === undefined ? null : parseIp(addr);
    if (bytes !== null && cidrContains(r.net, bytes)) return r.allow;
  }
  return true;
}

/** The rules refuse every client (their first rule is "deny all"): such a route needs
 *  nothing behind it. */
export const deniesAll = (rules: readonly AccessRule[]): boolean => rules.length > 0 && rules[0].net === null && !rules[0].allow;
