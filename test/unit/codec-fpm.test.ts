// A real PHP-FPM response (test/vectors/fixtures/php-fpm-response.bin, recorded from
// php-fpm 8.2 by test/helpers/record-fpm.mjs running fixtures/php-fpm-script.php) fed to the
// decoder at every chunk split and byte by byte. The reassembled STDOUT, STDERR and
// END_REQUEST must be identical for all splits, and match what the script was written to
// output. The recording has real-world quirks: garbage in padding and reserved bytes, STDERR
// interleaved with STDOUT, and no empty STDOUT record before END_REQUEST.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec, FcgiType, type FcgiEvent } from "../../src/codec/index";

const codec = createCodec(loadWasmModuleFromDisk());
const fixture = new Uint8Array(readFileSync(new URL("../vectors/fixtures/php-fpm-response.bin", import.meta.url)));
const latin1 = (b: number[]) => String.fromCharCode(...b);

// What php-fpm-script.php writes, from its source.
const expectedBody = "hello from php-fpm\n" + "0123456789abcdef".repeat(256) + "\n" + "bye\n";

interface Outcome {
  stdout: number[];
  stderr: number[];
  ends: Array<Extract<FcgiEvent, { kind: "end-request" }>>;
  other: FcgiEvent[];
  atBoundary: boolean;
}

function decode(chunks: Uint8Array[]): Outcome {
  const d = codec.fcgiDecoder("client");
  d.track(1);
  const out: Outcome = { stdout: [], stderr: [], ends: [], other: [], atBoundary: false };
  for (const chunk of chunks) {
    for (const e of d.push(chunk)) {
      if (e.kind === "stream" && e.type === FcgiType.STDOUT) for (const b of e.data) out.stdout.push(b);
      else if (e.kind === "stream" && e.type === FcgiType.STDERR) for (const b of e.data) out.stderr.push(b);
      else if (e.kind === "end-request") out.ends.push(e);
      else out.other.push(e);
    }
  }
  out.atBoundary = d.atBoundary;
  d.free();
  return out;
}

describe("recorded PHP-FPM response", () => {
  const whole = decode([fixture]);

  it("decodes to what the PHP script wrote", () => {
    expect(whole.ends).toEqual([{ kind: "end-request", requestId: 1, appStatus: 0, protocolStatus: 0 }]);
    expect(whole.other).toEqual([]);
    expect(whole.atBoundary).toBe(true);

    const head = codec.parseCgiHead(Uint8Array.from(whole.stdout), 16384);
    expect(head).not.toBeNull();
    expect(head!.status).toBe(200);
    expect(head!.headers).toEqual([
      ["X-Edgepass", "recorded"],
      ["Set-Cookie", "first=one"],
      ["Set-Cookie", "second=two"],
      ["Content-type", "text/html; charset=UTF-8"], // PHP's default_mimetype and default_charset
    ]);
    expect(latin1(whole.stdout.slice(head!.bodyOffset))).toBe(expectedBody);

    // error_log() goes to the web server as FCGI_STDERR, "PHP message: " + the text.
    const stderr = latin1(whole.stderr);
    expect(stderr).toContain("PHP message: edgepass stderr one");
    expect(stderr).toContain("PHP message: edgepass stderr two");
    expect(stderr.indexOf("one")).toBeLessThan(stderr.indexOf("two"));
    expect(latin1(whole.stdout)).not.toContain("PHP message");
  });

  it("gives the same result at every two-way chunk split", () => {
    for (let k = 0; k <= fixture.length; k++) {
      const got = decode([fixture.subarray(0, k), fixture.subarray(k)]);
      expect(got, `split at ${k}`).toEqual(whole);
    }
  });

  it("gives the same result byte by byte", () => {
    expect(decode(Array.from(fixture, (_, i) => fixture.subarray(i, i + 1)))).toEqual(whole);
  });

  it("gives the same result in uneven chunks of 1 to 97 bytes", () => {
    for (let size = 1; size <= 97; size += 8) {
      const chunks: Uint8Array[] = [];
      for (let i = 0, n = 1; i < fixture.length; i += n, n = (n % size) + 1) chunks.push(fixture.subarray(i, i + n));
      expect(decode(chunks), `chunk sizes cycling 1..${size}`).toEqual(whole);
    }
  });

  it("is not at a boundary when the recording is cut short", () => {
    expect(decode([fixture.subarray(0, fixture.length - 1)]).atBoundary).toBe(false);
    expect(decode([fixture.subarray(0, fixture.length - 1)]).ends).toEqual([]);
  });
});
