// nginx's auth_basic: a route (or the whole site) answers 401 with a Basic challenge until the
// client sends a user and password its htpasswd lines accept. The user becomes REMOTE_USER for
// the app and remote_user on the request line.
import type { AuthBasicConfig } from "../config/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import { sha1 } from "./digests.js";
import { fromBase64, passwordMatches } from "./htpasswd.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Credentials already accepted, per user list: a bcrypt check costs milliseconds of the one
 *  thread, and a browser sends the same header with every request. Keyed by a digest of the
 *  header (the password itself is not kept), bounded, and gone with the config it belongs to. */
const accepted = new WeakMap<AuthBasicConfig, Map<string, string>>();
const REMEMBERED = 1024;

/** The user the request's Authorization field names and the list accepts; otherwise a 401
 *  (thrown) that asks for credentials in `auth.realm`. `supplied` hears the user named before
 *  the password is checked (nginx's $remote_user is the name sent, accepted or not). */
export function basicAuthUser(auth: AuthBasicConfig, header: string | null, match: string, supplied: (user: string) => void): string {
  const m = header === null ? null : /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) throw challenge(auth, Codes.AUTH_REQUIRED, "This path needs a user name and password.", `route ${match}: ${header === null ? "no credentials sent" : "an Authorization field that is not Basic credentials"}`);
  let known = accepted.get(auth);
  const key = Array.from(sha1(encoder.encode(m[1])), (b) => b.toString(16).padStart(2, "0")).join("");
  const remembered = known?.get(key);
  if (remembered !== undefined) {
    supplied(remembered);
    return remembered;
  }
  let raw: Uint8Array;
  try {
    raw = fromBase64(m[1]);
  } catch {
    throw challenge(auth, Codes.AUTH_REQUIRED, "This path needs a user name and password.", `route ${match}: Basic credentials that are not base64`);
  }
  const colon = raw.indexOf(0x3a);
  const user = decoder.decode(colon < 0 ? raw : raw.subarray(0, colon));
  const password = colon < 0 ? new Uint8Array(0) : raw.subarray(colon + 1);
  if (colon >= 0) supplied(user);
  const hash = auth.users.get(user);
  // An unknown user costs what a known one does, so the time taken does not tell which
  // users exist.
  const ok = passwordMatches(password, hash ?? auth.users.values().next().value!) && hash !== undefined && colon >= 0;
  if (!ok) {
    throw challenge(auth, Codes.AUTH_FAILED, "The user name or password was not accepted.", `route ${match}: ${hash === undefined ? `user ${JSON.stringify(user)} was not found` : `user ${JSON.stringify(user)}: password mismatch`}`);
  }
  if (!known) accepted.set(auth, (known = new Map()));
  if (known.size >= REMEMBERED) known.clear();
  known.set(key, user);
  return user;
}

function challenge(auth: AuthBasicConfig, code: string, message: string, detail: string): GatewayError {
  const e = new GatewayError(code, 401, message, detail);
  e.challenge = `Basic realm="${auth.realm.replace(/["\\]/g, "\\$&")}", charset="UTF-8"`;
  return e;
}
