// [assets]: where the files the gateway serves live, which of them it never serves, and which
// paths only the origin may hand out (X-Accel-Redirect).
import type { AssetsConfig, ConfigHost } from "./types.js";
import { DEFAULT_EXCLUDE, isSegmentGlob } from "../edge/exclude.js";
import { Checker, CONTROL_RE } from "./checker.js";

const ASSETS_KEYS = ["directory", "r2", "exclude", "internal"] as const;
const ASSETS_ALIASES: Record<string, string> = { root: "directory", dir: "directory", bucket: "r2", deny: "exclude" };

/** `baseDir`: the config file's folder, to resolve a relative directory against (absent for
 *  config text without a file, such as the Worker's EDGEPASS_CONFIG). */
export function checkAssets(c: Checker, raw: unknown, baseDir?: string, host: ConfigHost = "edge"): AssetsConfig | undefined {
  if (raw === undefined) return undefined;
  const at = ["assets"];
  const t = c.table(at, raw, "a table ([assets])");
  c.onlyKeys(at, t, ASSETS_KEYS, ASSETS_ALIASES);
  const dirExpected = 'the folder of files to serve, e.g. "public" (relative to this config file) or "/srv/www"';
  if (t.directory === undefined) c.fail([...at, "directory"], dirExpected, { problem: "missing required key" });
  const directory = c.string([...at, "directory"], t.directory, dirExpected);
  if (directory === "" || CONTROL_RE.test(directory)) c.fail([...at, "directory"], dirExpected, { got: directory });
  const assets: AssetsConfig = {
    directory,
    exclude: [...DEFAULT_EXCLUDE],
    internal: [],
  };
  const abs = resolveDir(directory, baseDir);
  if (abs) assets.absoluteDirectory = abs;
  if (t.r2 !== undefined) {
    const expected = 'the name of an R2 bucket binding, e.g. "UPLOADS"';
    const name = c.string([...at, "r2"], t.r2, expected);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) c.fail([...at, "r2"], expected, { got: name });
    // A plain server has no R2 binding; files written at run time land in the directory,
    // which is read afresh on every request there.
    if (host === "server") c.fail([...at, "r2"], "no r2 key on edgepass serve (an R2 bucket is a Worker binding)", { got: name, hint: "files added while running are served from the directory itself on this host; remove r2 from this config" });
    assets.r2 = name;
  }
  if (t.exclude !== undefined) {
    assets.exclude = stringList(c, [...at, "exclude"], t.exclude, 'an array of globs for one path segment, e.g. [".*", "*.php"]', (g) =>
      isSegmentGlob(g) ? null : 'a glob for one path segment: no "/", e.g. "*.php" or ".*"',
    );
  }
  if (t.internal !== undefined) {
    assets.internal = stringList(c, [...at, "internal"], t.internal, 'an array of path prefixes, e.g. ["/protected/"]', (p) =>
      p.startsWith("/") && !CONTROL_RE.test(p) && !/\/\.\.?(\/|$)|\/\//.test(p) ? null : 'a path prefix starting with "/", e.g. "/protected/"',
    );
  }
  return assets;
}

export function stringList(
  c: Checker,
  at: Array<string | number>,
  v: unknown,
  expected: string,
  check: (s: string) => string | null,
): string[] {
  if (typeof v === "string") c.fail(at, expected, { got: v, hint: `write [${JSON.stringify(v)}]` });
  if (!Array.isArray(v)) c.fail(at, expected, { got: v });
  return v.map((item, i) => {
    const s = c.string([...at, i], item, expected);
    const problem = check(s);
    if (problem) c.fail([...at, i], problem, { got: s });
    return s;
  });
}

function resolveDir(dir: string, baseDir?: string): string | undefined {
  const trimmed = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  if (trimmed.startsWith("/")) return normalize(trimmed);
  if (baseDir === undefined || !baseDir.startsWith("/")) return undefined;
  return normalize(`${baseDir.replace(/\/+$/, "")}/${trimmed}`);
}

/** POSIX path normalization without node:path (this runs in the Worker too). */
function normalize(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}
