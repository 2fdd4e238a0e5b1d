// GatewayError is an expected condition (a refusal, an origin that failed) with a stable code:
// logs carry its code, message and detail, never a stack. Capturing one walks every frame, the
// optimized ones at a cost, which each 404 or 429 of a flood would pay.
import { describe, expect, it } from "vitest";
import { Codes, GatewayError } from "../../src/core/errors.js";

describe("GatewayError", () => {
  it("captures no stack frames, and leaves the stack trace limit as it was", () => {
    const before = Error.stackTraceLimit;
    const e = new GatewayError(Codes.ROUTE_NOT_FOUND, 404, "No route matches /x.", "detail");
    expect(e.stack).not.toMatch(/\n\s+at /);
    expect(e).toMatchObject({ name: "GatewayError", code: "ROUTE_NOT_FOUND", status: 404, message: "No route matches /x.", detail: "detail" });
    expect(e).toBeInstanceOf(Error);
    expect(Error.stackTraceLimit).toBe(before);
    // Other errors still have theirs.
    expect(new Error("x").stack).toMatch(/\n\s+at /);
  });
});
