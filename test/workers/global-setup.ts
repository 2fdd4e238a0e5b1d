// Starts the real origins the workerd tests talk to (Node side), and hands their ports to
// the tests through vitest's provide/inject.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, publicCopy, startPhpFpm } from "../helpers/php-fpm.js";
import { startRogueFastcgi } from "../helpers/rogue-fastcgi.js";
import { startRogueStream } from "../helpers/rogue-stream.js";

const here = dirname(fileURLToPath(import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    phpPort: number;
    phpRoot: string;
    deadPort: number;
    roguePort: number;
    rogueStreamPort: number;
    /** test/fixtures/site, absolute: the ASSETS binding's directory (X-Sendfile paths). */
    siteDir: string;
  }
}

export default async function setup(project: TestProject) {
  const root = publicCopy(join(here, "..", "fixtures", "www"));
  const fpm = await startPhpFpm({ maxChildren: 4 });
  project.provide("phpPort", fpm.port);
  project.provide("phpRoot", root);
  project.provide("siteDir", join(here, "..", "fixtures", "site"));
  // A port nothing listens on, for the "origin not running" case.
  project.provide("deadPort", await freePort());
  const rogue = await startRogueFastcgi();
  project.provide("roguePort", rogue.port);
  const rogueStream = await startRogueStream();
  project.provide("rogueStreamPort", rogueStream.port);
  return async () => {
    await fpm.stop();
    await rogue.close();
    await rogueStream.close();
    rmSync(root, { recursive: true, force: true });
  };
}
