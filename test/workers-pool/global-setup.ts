// One php-fpm child behind a pooled upstream of one connection: every request but one waits
// in the pool object's queue, which is what an object restart must not lose.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { publicCopy, startPhpFpm } from "../helpers/php-fpm.js";

const here = dirname(fileURLToPath(import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    poolPhpPort: number;
    poolPhpRoot: string;
  }
}

export default async function setup(project: TestProject) {
  const root = publicCopy(join(here, "..", "fixtures", "www"));
  const fpm = await startPhpFpm({ maxChildren: 1 });
  project.provide("poolPhpPort", fpm.port);
  project.provide("poolPhpRoot", root);
  return async () => {
    await fpm.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
