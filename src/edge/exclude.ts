// [assets] exclude: globs matched against each segment of a path ("*" any run of characters,
// "?" one character), so ".*" keeps every dotfile and dot-directory (.git/config, .env,
// .htaccess) from being served and "*.php" keeps the app's source private wherever it sits.
// Matching ignores case: on a case-insensitive filesystem (macOS, Windows) "/CONFIG.PHP" opens
// config.php, and must be refused like it.

export const DEFAULT_EXCLUDE: readonly string[] = Object.freeze([".*", "*.php"]);

export type ExcludeMatcher = (path: string) => boolean;

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (const ch of glob) {
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "i");
}

/** A matcher for decoded paths ("/a/b.php"): true when any segment matches any glob. */
export function excludeMatcher(globs: readonly string[]): ExcludeMatcher {
  const res = globs.map(globToRegExp);
  if (res.length === 0) return () => false;
  return (path) => path.split("/").some((seg) => seg !== "" && res.some((r) => r.test(seg)));
}

/** Is `glob` one segment (no "/")? */
export function isSegmentGlob(glob: string): boolean {
  return glob !== "" && !glob.includes("/") && !/[\u0000-\u001f\u007f]/.test(glob);
}
