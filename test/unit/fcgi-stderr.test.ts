// Origin STDERR reaches the log one record per run of whole lines, however the origin split
// it over FastCGI records, bounded per request, and an unfinished line is logged when the
// request ends.
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec, FcgiType, type FcgiEvent } from "../../src/codec/index";
import type { Logger } from "../../src/core/log";
import { fcgiAnswer, FcgiResponse } from "../../src/protocol/fastcgi/response";

const codec = createCodec(loadWasmModuleFromDisk());
const enc = new TextEncoder();

function response() {
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = { log: (_level, event, fields) => event === "origin_stderr" && lines.push(fields ?? {}), line: () => {} };
  return { res: new FcgiResponse(codec, null, 1, 8192, log, "php"), lines };
}
const stderr = (text: string): FcgiEvent => ({ kind: "stream", type: FcgiType.STDERR, requestId: 1, data: enc.encode(text) }) as FcgiEvent;
const end = { kind: "end-request", requestId: 1, appStatus: 0, protocolStatus: 0 } as FcgiEvent;

describe("origin stderr in the log", () => {
  it("a line split over records is one log record", () => {
    const { res, lines } = response();
    res.handle(stderr("PHP Warning: stderr-mark"));
    expect(lines).toHaveLength(0);
    res.handle(stderr("er-7f3a in x.php\nPHP Notice: se"));
    expect(lines.map((l) => l.text)).toEqual(["PHP Warning: stderr-marker-7f3a in x.php\n"]);
    res.handle(stderr("cond\n"));
    expect(lines.map((l) => l.text)).toEqual(["PHP Warning: stderr-marker-7f3a in x.php\n", "PHP Notice: second\n"]);
  });

  it("an unfinished line is logged when the request ends", () => {
    const { res, lines } = response();
    res.handle(stderr("no newline at all"));
    expect(lines).toHaveLength(0);
    res.handle(end);
    expect(lines.map((l) => l.text)).toEqual(["no newline at all"]);
    expect(res.ended).toBe(true);
  });

  it("a multi-byte character split between records stays whole", () => {
    const { res, lines } = response();
    const bytes = enc.encode("caf\u00e9\n");
    res.handle({ kind: "stream", type: FcgiType.STDERR, requestId: 1, data: bytes.subarray(0, 4) } as FcgiEvent);
    res.handle({ kind: "stream", type: FcgiType.STDERR, requestId: 1, data: bytes.subarray(4) } as FcgiEvent);
    expect(lines.map((l) => l.text)).toEqual(["caf\u00e9\n"]);
  });

  it("a line that never ends is logged once it is long, and the total is bounded", () => {
    const { res, lines } = response();
    for (let i = 0; i < 100; i++) res.handle(stderr("x".repeat(1024)));
    const logged = lines.reduce((n, l) => n + String(l.text).length, 0);
    expect(lines.length).toBeGreaterThan(1);
    expect(logged).toBe(64 * 1024);
    expect(lines.at(-1)!.truncated).toBe("yes");
    res.handle(stderr("more\n"));
    res.handle(end);
    expect(lines.reduce((n, l) => n + String(l.text).length, 0)).toBe(64 * 1024);
  });

  it("an unfinished line is logged when the origin fails before its head", async () => {
    const { res, lines } = response();
    let steps = 0;
    const src = {
      step: async () => {
        if (steps++ === 0) return res.handle(stderr("PHP Fatal error: out of memory"));
        throw new Error("the origin closed the connection");
      },
      release: () => {},
    };
    await expect(fcgiAnswer(res, src, "GET", { log: () => {}, line: () => {} }, "php")).rejects.toThrow("closed");
    expect(lines.map((l) => l.text)).toEqual(["PHP Fatal error: out of memory"]);
  });
});
