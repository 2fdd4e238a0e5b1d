// The test apps (test/fixtures/apps) as the origins read them: a world-readable temporary copy,
// because Apache, php-fpm and spawn-fcgi run their workers as nobody when the tests run as
// root, and a fresh clone or a temp dir may be private.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../process.js";
import { installHint } from "./launch.js";

export const appsSource = join(repoRoot, "test/fixtures/apps");

/** Copies `src` (a directory) into `dest`, readable by everyone; directories and executables
 *  (anything with an x bit, e.g. a CGI script) get 0755, other files 0644. */
export function copyPublic(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  chmodSync(dest, 0o755);
  for (const f of readdirSync(src)) {
    const from = join(src, f);
    const to = join(dest, f);
    const st = statSync(from);
    if (st.isDirectory()) {
      copyPublic(from, to);
    } else {
      copyFileSync(from, to);
      chmodSync(to, st.mode & 0o111 || f.endsWith(".cgi") ? 0o755 : 0o644);
    }
  }
}

/** A world-readable temporary copy of test/fixtures/apps; the caller removes it. */
export function appsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "edgepass-apps-"));
  copyPublic(appsSource, dir);
  return dir;
}

/** The Python that Debian's python3-* packages (gevent, mod_wsgi's, uWSGI's) belong to: not a
 *  pyenv or venv python that may come first on PATH. Fails with the install hint when it
 *  cannot import `module`. */
export function debianPython(module: string, pkg: string): string {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) throw new Error(`Debian's python3 is not installed. ${installHint("python3")}`);
  const r = spawnSync(python, ["-c", `import ${module}`], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`Debian's python3 cannot import ${module}: ${r.stderr.trim()}\n${installHint(pkg)}`);
  }
  return python;
}
