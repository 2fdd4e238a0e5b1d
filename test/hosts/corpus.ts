// The vector corpus as one runtime-free module, bundled by build.ts (with the markdown files
// inlined) and run by every host under test/hosts/run/: Node, Deno, Bun, Chromium, workerd.
// The codec is handed in: each launcher loads it through the package entry (dist/codec) in the
// way its host allows, so this file never names a host API.

import type { Codec } from "../../src/codec/types";
import { checkCase } from "../helpers/harness/index";
import { parseVectorFile } from "../helpers/vector-format";
// Provided by build.ts: [file name, markdown text] for every test/vectors/*.md, sorted.
import { VECTOR_FILES } from "virtual:vector-files";

export interface CorpusReport {
  host: string;
  cases: number;
  checks: number;
  /** "file > title: label" of every check that did not produce the expected log. */
  failed: string[];
  /** Per case ("file > title"): the whole-input log and the labels of failing checks, the
   *  thing hosts must agree on. */
  outcomes: Record<string, string>;
}

export function runCorpus(host: string, codec: Codec): CorpusReport {
  const report: CorpusReport = { host, cases: 0, checks: 0, failed: [], outcomes: {} };
  for (const [file, text] of VECTOR_FILES) {
    for (const c of parseVectorFile(file, text)) {
      // Fuzz finds are checked against the fuzz targets' properties, which run in Node only
      // (vectors.test.ts); every other kind runs here in every host.
      if (c.kind === "fuzz") continue;
      const id = `${file} > ${c.title}`;
      let outcome: string;
      try {
        const checks = checkCase(codec, c);
        report.checks += checks.length;
        const bad = checks.filter((k) => !k.ok);
        for (const k of bad) report.failed.push(`${id}: ${k.label}: got ${JSON.stringify(k.got)}`);
        outcome = `${JSON.stringify(checks[0]?.got ?? [])} failing=[${bad.map((k) => k.label).join(",")}]`;
      } catch (e) {
        // A harness that throws (a codec bug surfacing as a non-codec error) is a failure too.
        outcome = `threw ${String(e)}`;
        report.failed.push(`${id}: ${outcome}`);
      }
      report.cases++;
      report.outcomes[id] = outcome;
    }
  }
  return report;
}
