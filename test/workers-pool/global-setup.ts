// php-fpm behind a pooled upstream of one connection per pool object: every request but one
// waits for it, which is what an object reset must not lose.
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
  // Four children for one connection per pool object: a replaced object and its successor each
  // get one, as separate instances would in production.
  const fpm = await startPhpFpm({ maxChildren: 4 });
  project.provide("poolPhpPort", fpm.port);
  project.provide("poolPhpRoot", root);
  return async () => {
    await fpm.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
