// `edgepass inspect` on a real capture: tcpdump records the loopback traffic between
// `edgepass dev` and a real php-fpm while a client asks for a script that exists and for one
// that does not (php-fpm's "Primary script unknown"); then the command, run as a user runs it,
// must list the conversation record by record and explain the failure.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm.js";
import { createCodec } from "../../src/codec/index.js";
import { inspectCapture } from "../../src/inspect/index.js";
import { phpSite, publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor, type Run } from "../helpers/process.js";
import { captureLoopback } from "../helpers/tcpdump.js";

let fpm: PhpFpm;
let www: string;
let dir: string;
let pcap: string;
const codec = createCodec(loadWasmModuleFromDisk());
const statuses: number[] = [];

beforeAll(async () => {
  www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  fpm = await startPhpFpm({ maxChildren: 2 });
  dir = mkdtempSync(path.join(tmpdir(), "edgepass-inspect-"));
  pcap = path.join(dir, "fpm.pcap");
  writeFileSync(
    path.join(dir, "site.toml"),
    phpSite(fpm.port, www),
  );
  const capture = await captureLoopback(pcap, fpm.port);
  let run: Run | undefined;
  try {
    run = edgepass(["dev", "--config", "site.toml", "--port", "0"], dir);
    const [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    for (const p of ["/stderr.php", "/missing.php"]) {
      const res = await fetch(`${base}${p}`);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    // tcpdump writes each packet as it sees it; wait until both END_REQUESTs are on disk.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const ended = (() => {
        try {
          return (JSON.stringify(inspectCapture(codec, readFileSync(pcap))).match(/END_REQUEST id=/g) ?? []).length;
        } catch {
          return 0; // no packet on disk yet
        }
      })();
      if (ended >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await capture.stop();
    run?.child.kill("SIGTERM");
    await run?.exit;
  }
}, 90_000);

afterAll(async () => {
  await fpm?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(www, { recursive: true, force: true });
});

describe("edgepass inspect on a tcpdump capture of edgepass dev -> php-fpm", () => {
  it("the client saw php-fpm's answers (200, then 404 for the missing script)", () => {
    expect(statuses).toEqual([200, 404]);
  });

  it("lists the FastCGI conversation record by record and explains Primary script unknown", async () => {
    const run = edgepass(["inspect", pcap], dir);
    const code = await run.exit;
    const out = run.stdout;
    expect(run.stderr).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/^source: pcap \(Ethernet\), \d+ TCP packets in \d+ connections?/);
    expect(out).toMatch(new RegExp(`== 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${fpm.port} \\(FastCGI, as detected\\)`));
    // The pool's discovery and its answer (php-fpm 8.2 answers FCGI_MPXS_CONNS only).
    expect(out).toMatch(/-> request\s+@0\s+GET_VALUES id=0/);
    expect(out).toMatch(/<- response\s+@0\s+GET_VALUES_RESULT id=0[^\n]*\n\s+FCGI_MPXS_CONNS = 0/);
    expect(out).toMatch(/BEGIN_REQUEST id=1 content=8 padding=0\n\s+role=RESPONDER flags=KEEP_CONN/);
    expect(out).toContain(`SCRIPT_FILENAME = ${www}/stderr.php`);
    expect(out).toContain(`SCRIPT_FILENAME = ${www}/missing.php`);
    expect(out).toContain('stderr: "PHP message: stderr-marker-7f3a from php');
    expect(out).toContain('stderr: "Primary script unknown"');
    expect(out).toContain(`hint: php-fpm found no file at SCRIPT_FILENAME = "${www}/missing.php"`);
    expect(out).toMatch(/CGI head: status 404 Not Found\n/);
    expect(out).toContain('body: "File not found.\\n"');
    expect(out).toContain('body: "body without stderr\\n"');
    expect((out.match(/END_REQUEST id=1 content=8 padding=0\n\s+appStatus=0 protocolStatus=REQUEST_COMPLETE/g) ?? []).length).toBe(2);
    expect(out).toMatch(/\nno framing errors\n$/);
  });

  it("reads the same capture from standard input as hex, app side only", async () => {
    const listing = inspectCapture(codec, readFileSync(pcap));
    const section = listing.sections.find((s) => s.entries.some((e) => /STDERR/.test(e.title)))!;
    expect(section).toBeDefined();
    expect(listing.problems).toBe(0);
  });
});
