// The vector corpus (test/vectors) against the same edgepass.wasm in five hosts: Node, Deno,
// Bun (npm packages), Chromium (Debian's, headless, via playwright-core) and workerd
// (Miniflare). Each must pass every check, and all must produce the same outcome for every
// case. `npm run test:hosts` runs this project alone; `npm test` includes it.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { loadVectors } from "../helpers/vectors";
import { buildCorpus, ROOT, VECTOR_DIR } from "./build";
import type { CorpusReport } from "./corpus";
import { runBun, runChromium, runDeno, runNode, runWorkerd } from "./launchers";

// Fuzz finds replay in Node only (corpus.ts).
const expectedCases = loadVectors(VECTOR_DIR).filter((c) => c.kind !== "fuzz").length;
const reports = new Map<string, CorpusReport>();

beforeAll(buildCorpus);

const HOSTS: Array<[string, () => Promise<CorpusReport>]> = [
  ["node", runNode],
  ["deno", runDeno],
  ["bun", runBun],
  ["chromium", runChromium],
  ["workerd", runWorkerd],
];

describe("the vector corpus in every host", () => {
  for (const [name, runHost] of HOSTS) {
    it(`passes in ${name}`, async () => {
      const report = await runHost();
      reports.set(name, report);
      expect(report.host).toBeTruthy();
      expect(report.cases).toBe(expectedCases);
      expect(report.checks).toBeGreaterThan(expectedCases);
      expect(report.failed).toEqual([]);
    });
  }

  it("gives the same outcome for every case in every host", () => {
    expect([...reports.keys()].sort()).toEqual(HOSTS.map(([n]) => n).sort());
    const node = reports.get("node")!;
    for (const [name, report] of reports) {
      const differ = Object.keys({ ...node.outcomes, ...report.outcomes }).filter((id) => node.outcomes[id] !== report.outcomes[id]);
      expect(differ.map((id) => `${name} differs from node on ${id}: ${report.outcomes[id]} vs ${node.outcomes[id]}`)).toEqual([]);
    }
  });
});

describe("the package entry edgepass/codec", () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

  it("points at the built module, its types and the .wasm", () => {
    expect(pkg.exports["./codec"]).toEqual({ types: "./dist/codec/types/src/codec/index.d.ts", default: "./dist/codec/index.js" });
    expect(pkg.exports["./codec/edgepass.wasm"]).toBe("./wasm/build/edgepass.wasm");
  });

  it("ships in the package npm pack makes (built output is git-ignored, not npm-ignored)", async () => {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const { stdout } = await promisify(execFile)(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
    for (const f of ["dist/codec/index.js", "dist/codec/types/src/codec/index.d.ts", "wasm/build/edgepass.wasm", "dist/inspect.html"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("node_modules/") || f.startsWith(".tmp/"))).toEqual([]);
    expect(pkg.scripts.prepack).toBe("npm run build");
  });

  it("names no Node built-in and no host API", () => {
    const js = readFileSync(path.join(ROOT, "dist/codec/index.js"), "utf8");
    expect(js.match(/\b(from\s*["']node:|require\(|process\.|Deno\.|Bun\.)/g)).toBeNull();
  });

  it("type-checks a consumer that imports it by name (nodenext resolution, no Node types)", async () => {
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    const r = await promisify(execFile)(process.execPath, [tsc, "-p", "test/hosts/consumer/tsconfig.json"], { cwd: ROOT }).catch((e) => e);
    expect(`${r.stdout ?? ""}${r.stderr ?? ""}`).toBe("");
    expect(r.code ?? 0).toBe(0);
  });
});
