// Starts the real origins the workerd tests talk to (Node side), and hands their ports to
// the tests through vitest's provide/inject.
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, startPhpFpm } from "../helpers/php-fpm.js";

const here = dirname(fileURLToPath(import.meta.url));

/** php-fpm's workers run as an unprivileged user: give them a world-readable copy. */
function publicCopy(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), "edgepass-www-"));
  cpSync(src, dir, { recursive: true });
  const walk = (p: string) => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const f of readdirSync(p)) walk(join(p, f));
  };
  walk(dir);
  return dir;
}

declare module "vitest" {
  export interface ProvidedContext {
    phpPort: number;
    phpRoot: string;
    deadPort: number;
  }
}

export default async function setup(project: TestProject) {
  const root = publicCopy(join(here, "..", "fixtures", "www"));
  const fpm = await startPhpFpm({ maxChildren: 4 });
  project.provide("phpPort", fpm.port);
  project.provide("phpRoot", root);
  // A port nothing listens on, for the "origin not running" case.
  project.provide("deadPort", await freePort());
  return async () => {
    await fpm.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
