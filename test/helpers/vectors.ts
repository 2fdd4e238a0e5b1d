// Loads the markdown test vectors (format and helpers: vector-format.ts) from disk.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseVectorFile, type VectorCase } from "./vector-format";

export * from "./vector-format";

export function loadVectors(dir: string, pattern = /\.md$/): VectorCase[] {
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .flatMap((f) => parseVectorFile(f, readFileSync(path.join(dir, f), "utf8")));
}
