// auth_basic, on [gateway] (every route) or a route (its own, or false for none): a realm and
// the users, listed in the config or read from an htpasswd file (serve only: the Worker has no
// files). Every line is checked when the config loads, so a hash that cannot be used is a
// config error with its line, not a user who can never log in.
import type { Checker, Table } from "./checker.js";
import { isTable } from "./checker.js";
import type { ConfigHost, GatewaySettings, RouteConfig } from "./types.js";
import { hashProblem } from "../edge/htpasswd.js";
import { besideConfig } from "./serve-tls.js";

/** A list of users and password hashes a route asks for (the lines of an htpasswd file). */
export interface AuthBasicConfig {
  /** realm, default "Restricted": the name a browser shows when it asks. */
  realm: string;
  /** User → password hash; a user listed twice keeps the first line, as nginx reads it. An
   *  unknown user's password is checked against the first, so it costs what a known one does. */
  users: Map<string, string>;
  /** user_file, resolved against the config file's folder (serve reads it at load and reload). */
  userFile?: string;
}

export interface AuthFiles {
  baseDir?: string;
  host: ConfigHost;
  /** Reads a user_file (the server host's); absent where no file can be read. */
  read?: (path: string) => string;
}

const EXPECTED = '{ realm = "Admin", user_file = "htpasswd" }, { realm = "Admin", users = ["alice:$2y$…"] }, or false';

/** Sets each route's authBasic from its own auth_basic, else [gateway]'s. */
export function applyAuthBasic(c: Checker, doc: Table, gateway: GatewaySettings, routes: RouteConfig[], files: AuthFiles): void {
  const gw = isTable(doc.gateway) ? doc.gateway.auth_basic : undefined;
  const site = gw === undefined ? undefined : checkAuthBasic(c, ["gateway", "auth_basic"], gw, files);
  if (site) gateway.authBasic = site;
  const raw = Array.isArray(doc.routes) ? (doc.routes as unknown[]) : [];
  routes.forEach((route, i) => {
    const own = isTable(raw[i]) ? raw[i].auth_basic : undefined;
    const auth = own === undefined ? site : checkAuthBasic(c, ["routes", i, "auth_basic"], own, files);
    if (auth) route.authBasic = auth;
  });
}

function checkAuthBasic(c: Checker, at: Array<string | number>, raw: unknown, files: AuthFiles): AuthBasicConfig | false {
  if (raw === false) return false;
  const t = c.table(at, raw, EXPECTED);
  c.onlyKeys(at, t, ["realm", "users", "user_file"], { auth_basic_user_file: "user_file", file: "user_file", htpasswd: "user_file" });
  let realm = "Restricted";
  if (t.realm !== undefined) {
    realm = c.string([...at, "realm"], t.realm, "the realm a browser names when it asks, e.g. \"Admin\"");
    if (/[\x00-\x1f\x7f]/.test(realm) || realm === "") c.fail([...at, "realm"], "a realm of printable characters", { got: t.realm });
  }
  if ((t.users === undefined) === (t.user_file === undefined)) {
    c.fail(at, "users or user_file (one of them)", { got: raw, hint: t.users === undefined ? 'users = ["alice:$2y$05$…"] (a line of `htpasswd -nB alice`), or user_file = "htpasswd"' : undefined });
  }
  const auth: AuthBasicConfig = { realm, users: new Map() };
  if (t.users !== undefined) {
    const expected = 'a list of "user:hash" lines, as `htpasswd -nB USER` prints them';
    if (!Array.isArray(t.users) || t.users.length === 0) c.fail([...at, "users"], expected, { got: t.users });
    t.users.forEach((line, i) => {
      if (typeof line !== "string") c.fail([...at, "users", i], expected, { got: line });
      const problem = addLine(auth, line);
      if (problem) c.fail([...at, "users", i], expected, { got: line.replace(/:.*/, ":…"), problem });
    });
  } else {
    const file = c.string([...at, "user_file"], t.user_file, "an htpasswd file's path");
    if (files.host !== "server" || !files.read) {
      c.fail([...at, "user_file"], 'users = ["user:hash", …] on the edge', { problem: "the Worker cannot read files", hint: "copy the file's lines into users, or run edgepass serve, which reads the file" });
    }
    auth.userFile = besideConfig(file, files.baseDir);
    let text: string;
    try {
      text = files.read(auth.userFile);
    } catch (e) {
      c.fail([...at, "user_file"], "an htpasswd file this process can read", { got: file, problem: `${auth.userFile}: ${(e as { code?: string }).code ?? (e as Error).message}` });
    }
    text.split(/\r?\n/).forEach((line, n) => {
      if (line.trim() === "" || line.trimStart().startsWith("#")) return;
      const problem = addLine(auth, line);
      if (problem) c.fail([...at, "user_file"], "lines of user:hash, as htpasswd writes them", { got: file, problem: `${auth.userFile} line ${n + 1}: ${problem}` });
    });
    if (auth.users.size === 0) c.fail([...at, "user_file"], "an htpasswd file with at least one user", { got: file, problem: `${auth.userFile} lists no user` });
  }
  return auth;
}

/** One "user:hash[:comment]" line into the list; a problem with it, or null. */
function addLine(auth: AuthBasicConfig, line: string): string | null {
  const colon = line.indexOf(":");
  if (colon <= 0) return "not user:hash";
  const user = line.slice(0, colon);
  const hash = line.slice(colon + 1).split(":")[0];
  const problem = hashProblem(hash);
  if (problem) return `user ${JSON.stringify(user)}: ${problem}`;
  if (!auth.users.has(user)) auth.users.set(user, hash);
  return null;
}
