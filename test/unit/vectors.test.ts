// Runs every markdown vector in test/vectors through the harness its kind names
// (test/helpers/harness: the same harnesses test/hosts runs in Deno, Bun, Chromium and
// workerd). Streaming harnesses re-run each input whole, at every chunk split and byte by byte
// and require the same result every time; a failure lists each way of feeding that went wrong
// with the log it produced and the log expected.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec } from "../../src/codec/index";
import { checkCase } from "../helpers/harness/index";
import { loadVectors, type VectorCase } from "../helpers/vectors";
import { targetNamed } from "../fuzz/targets";
import { fuzzCodec, type FuzzCodec } from "../fuzz/wasm";

const codec = createCodec(loadWasmModuleFromDisk());
const vectorDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "vectors");

const cases = loadVectors(vectorDir);
const byFile = new Map<string, VectorCase[]>();
for (const c of cases) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);

describe("markdown vectors", () => {
  it("are present in the expected numbers", () => {
    const count = (kind: string) => cases.filter((c) => c.kind === kind).length;
    expect(count("fastcgi")).toBeGreaterThanOrEqual(25);
    expect(count("cgi-head")).toBeGreaterThanOrEqual(25);
    expect(count("cgi-params")).toBeGreaterThanOrEqual(15);
    expect(count("cgi-request")).toBeGreaterThanOrEqual(10);
    // The HTTP/1.1 corpus: request and response classes of SECURITY.md, chunked bodies.
    expect(count("http-request")).toBeGreaterThanOrEqual(140);
    expect(count("http-response")).toBeGreaterThanOrEqual(70);
    expect(count("http-chunked")).toBeGreaterThanOrEqual(60);
    expect(count("http-request") + count("http-response") + count("http-chunked")).toBeGreaterThanOrEqual(150);
  });
  for (const [file, list] of byFile) {
    describe(file, () => {
      for (const c of list) {
        it(c.title, () => {
          if (c.kind === "fuzz") return fuzzCase(c);
          const checks = checkCase(codec, c);
          expect(checks.length).toBeGreaterThan(0);
          expect(checks.filter((k) => !k.ok)).toEqual([]);
        });
      }
    });
  }
});

// Inputs that once broke a fuzz target's property (test/fuzz/targets.ts; the case's options
// name the target). The property is the expectation, checked at every split; it throws when
// broken.
let fuzz: FuzzCodec | undefined;
function fuzzCase(c: VectorCase): void {
  const target = targetNamed(c.options.target ?? "");
  fuzz ??= fuzzCodec();
  target.check(fuzz, target.fromVector(c), true);
}
