// `edgepass inspect` as a user runs it: a file or standard input, exit 0 for a clean capture,
// 1 when it has framing errors, 2 for a bad command line or a file that is not a capture.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/process.js";

const dir = mkdtempSync(path.join(tmpdir(), "edgepass-inspect-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inspect = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, "bin/edgepass.mjs"), "inspect", ...args], { cwd: dir, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe("edgepass inspect", () => {
  it("reads hex from standard input; exit 0 when it frames cleanly", () => {
    const r = inspect(["-"], "01 06 00 01 00 00 00 00  01 03 00 01 00 08 00 00  00 00 00 00 00 00 00 00\n");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^source: hex, 24 bytes from the app \(response side\), as detected\n/);
    expect(r.stdout).toMatch(/END_REQUEST id=1 content=8 padding=0\n\s+appStatus=0 protocolStatus=REQUEST_COMPLETE/);
  });

  it("exit 1 when the capture has a framing error, with the error in the listing", () => {
    writeFileSync(path.join(dir, "bad.bin"), "HTTP/1.1 502 Bad Gateway\r\n\r\n");
    const r = inspect(["bad.bin", "--protocol", "fastcgi", "--as", "response"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("ERROR FCGI_BAD_VERSION: byte 0 is 72, not FastCGI version 1");
    expect(r.stdout).toMatch(/\n1 framing error\n$/);
  });

  it("exit 2 for a bad flag, a missing file or a file that is not what --format says", () => {
    expect(inspect(["x", "--protocol", "ajp"])).toMatchObject({ code: 2, stderr: expect.stringContaining('--protocol expects one of fastcgi, scgi, uwsgi, http, got "ajp"') });
    expect(inspect([])).toMatchObject({ code: 2, stderr: expect.stringContaining("inspect takes one FILE") });
    expect(inspect(["nope.pcap"])).toMatchObject({ code: 2, stderr: expect.stringContaining("cannot read nope.pcap") });
    writeFileSync(path.join(dir, "text.txt"), "hello");
    expect(inspect(["text.txt", "--format", "pcap"])).toMatchObject({ code: 2, stderr: expect.stringContaining("[PCAP_BAD_MAGIC] this is not a pcap file") });
  });
});
