// The origin is fallible, sometimes hostile (SECURITY.md, "Upstream responses"): every way a
// FastCGI origin can break its side ends in a clear status, a body that says what went wrong,
// a log line with the request id — and never in its bytes reaching the client as if valid.
import { describe, expect, inject, it } from "vitest";
import { harness } from "./gateway-harness.js";

const gw = harness(`
[upstreams.rogue]
protocol = "fastcgi"
servers = ["127.0.0.1:${inject("roguePort")}"]
read_timeout = "1s"

[[routes]]
match = "/"
upstream = "rogue"
`);

async function failure(path: string) {
  const res = await gw.fetch(path);
  return { status: res.status, code: res.headers.get("x-edgepass-error"), body: await res.text() };
}

describe("a hostile FastCGI origin", () => {
  it("the scripted origin works when it behaves (control case)", async () => {
    const res = await gw.fetch("/ok");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("fine\n");
  });

  it("END_REQUEST with OVERLOADED → 503 with Retry-After", async () => {
    const res = await gw.fetch("/overloaded");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).not.toBeNull();
    expect(res.headers.get("x-edgepass-error")).toBe("UPSTREAM_OVERLOADED");
    expect(await res.text()).toMatch(/overloaded.*safe to retry/);
  });

  it("END_REQUEST with CANT_MPX_CONN → 502 naming it", async () => {
    const f = await failure("/cant-mpx");
    expect(f).toMatchObject({ status: 502, code: "UPSTREAM_REJECTED" });
    expect(f.body).toContain("multiplex");
  });

  for (const [path, what] of [
    ["/bad-version", "a record with version 2"],
    ["/unknown-type", "a record of an unknown type"],
    ["/wrong-id", "a record for a request id that is not in flight"],
    ["/no-colon", "a header line without a colon"],
    ["/nul-in-value", "NUL inside a header value"],
    ["/cr-in-value", "a bare CR inside a header value (header injection)"],
    ["/bad-status", "a non-numeric Status"],
    ["/huge-head", "a head larger than response_head_limit"],
    ["/end-without-stdout", "END_REQUEST with no response at all"],
  ]) {
    it(`${what} → 502 "malformed"`, async () => {
      const f = await failure(path);
      expect(f.status).toBe(502);
      expect(f.code).toBe("UPSTREAM_BAD_RESPONSE");
      expect(f.body).toMatch(/origin 127\.0\.0\.1:\d+/);
      expect(f.body).not.toContain("not yours");
      const logged = gw.lines.find((l) => l.includes("request_failed") && l.includes("UPSTREAM_BAD_RESPONSE") && /"request_id":"t\d+"/.test(l));
      expect(logged).toBeDefined();
    });
  }

  it("the origin closes before its head is complete → 502", async () => {
    const f = await failure("/close-before-head");
    expect(f).toMatchObject({ status: 502, code: "UPSTREAM_CLOSED_EARLY" });
  });

  it("the origin closes mid-body without END_REQUEST → the client's body errors, not a clean end", async () => {
    const res = await gw.fetch("/close-mid-body");
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(/closed the connection/);
    expect(gw.lines.some((l) => l.includes("response_cut") && l.includes("UPSTREAM_CLOSED_EARLY"))).toBe(true);
  });

  it("the origin stalls mid-body past read_timeout → the body errors", async () => {
    const res = await gw.fetch("/stall-mid-body");
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(/read_timeout/);
  });

  it("a STDERR flood: body intact, log bounded and escaped", async () => {
    const before = gw.lines.length;
    const res = await gw.fetch("/stderr-flood");
    expect(await res.text()).toBe("body survived\n");
    const stderrLines = gw.lines.slice(before).filter((l) => l.includes("origin_stderr"));
    const logged = stderrLines.reduce((n, l) => n + l.length, 0);
    expect(stderrLines.length).toBeGreaterThan(0);
    // 1.2 MB was sent; the log keeps a bounded amount (64 KiB of text, escaped ≈ a bit more).
    expect(logged).toBeLessThan(200_000);
    // Control bytes are escaped: no line of the log can be forged.
    for (const l of stderrLines) {
      expect(l).not.toMatch(/[\r\n\x1b]/);
    }
  });

  it("a maximal record (65,535 bytes + 255 padding) is read correctly", async () => {
    const res = await gw.fetch("/max-padding");
    const text = await res.text();
    expect(text.length).toBe(65_535);
    expect(/^a+$/.test(text)).toBe(true);
  });
});
