// What an origin flushed reaches the client before the origin says more: through `edgepass
// dev`, direct and pooled, a page that sends N KiB and then waits for the client to have them
// all. A gateway that held flushed bytes back to fill a read (or a record, or a hop) would
// leave the page waiting until it gives up, and the body would say "never opened".
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { repoRoot, startDev, type Dev } from "../helpers/process.js";

let fpm: PhpFpm;
let www: string;
let gates: string;
const devs: Record<string, Dev> = {};

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 3 });
  // php-fpm's workers may run as nobody: they must see the gate files.
  gates = mkdtempSync(path.join(tmpdir(), "edgepass-gates-"));
  chmodSync(gates, 0o755);
  for (const pool of ["direct", "pooled"]) {
    devs[pool] = await startDev(phpSite(fpm.port, www, `pool = "${pool}"\n`));
  }
});

afterAll(async () => {
  await Promise.all(Object.values(devs).map((d) => d.stop()));
  await fpm?.stop();
  rmSync(gates, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
});

/** GETs gate.php, opens the gate once `kib` KiB have arrived, and returns the whole body. */
function throughGate(base: string, kib: number, gate: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${base}/gate.php?kib=${kib}&gate=${encodeURIComponent(gate)}`, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d: string) => {
        body += d;
        if (body.length >= kib * 1024) writeFileSync(gate, "");
      });
      res.on("end", () => resolve(body));
      res.on("error", reject);
    }).on("error", reject);
  });
}

describe("flushed bytes reach the client before the origin sends more", () => {
  for (const pool of ["direct", "pooled"]) {
    for (const kib of [1, 16, 40, 100]) {
      it(`${pool}: ${kib} KiB flushed, then the page waits for the client to have them`, async () => {
        const gate = path.join(gates, `${pool}-${kib}`);
        const body = await throughGate(devs[pool].base, kib, gate);
        expect(body.slice(kib * 1024)).toBe("opened\n");
        expect(body.length).toBe(kib * 1024 + "opened\n".length);
      }, 40_000);
    }
  }
});
