// Bundles test/hosts/corpus.ts (harnesses, vector parser, and every test/vectors/*.md as text)
// into one ES module for a neutral platform, at .tmp/hosts/corpus.mjs. The codec is not in it:
// launchers load dist/codec/index.js, the package entry `edgepass/codec`.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CORPUS = path.join(ROOT, ".tmp", "hosts", "corpus.mjs");
export const VECTOR_DIR = path.join(ROOT, "test", "vectors");

export async function buildCorpus(): Promise<void> {
  await build({
    entryPoints: [path.join(ROOT, "test", "hosts", "corpus.ts")],
    outfile: CORPUS,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    logLevel: "warning",
    plugins: [
      {
        name: "vector-files",
        setup(b) {
          b.onResolve({ filter: /^virtual:vector-files$/ }, () => ({ path: "vector-files", namespace: "vectors" }));
          b.onLoad({ filter: /.*/, namespace: "vectors" }, () => {
            const files = readdirSync(VECTOR_DIR)
              .filter((f) => f.endsWith(".md"))
              .sort()
              .map((f) => [f, readFileSync(path.join(VECTOR_DIR, f), "utf8")]);
            return { contents: `export const VECTOR_FILES = ${JSON.stringify(files)};`, loader: "js" };
          });
        },
      },
    ],
  });
}
