// ResponseFields carries an origin's answer fields through the pipeline in place of a fetch
// Headers: what it answers must be what a Headers answers after the same changes (get, has,
// getSetCookie, the values refused), and what it yields keeps the origin's order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { headersInit, ResponseFields } from "../../src/core/response-fields";

type Op = ["append" | "set", string, string] | ["delete", string];

function apply(ops: Op[], target: { append(n: string, v: string): void; set(n: string, v: string): void; delete(n: string): void }): string | null {
  for (const op of ops) {
    try {
      if (op[0] === "delete") target.delete(op[1]);
      else target[op[0]](op[1], op[2]);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      return `refused ${op[0]} ${JSON.stringify(op.slice(1))}`;
    }
  }
  return null;
}

describe("ResponseFields", () => {
  const names = fc.constantFrom("Content-Type", "content-type", "Set-Cookie", "set-cookie", "Vary", "X-A", "x-a", "Bad Name", "", "Caché");
  const values = fc.constantFrom("text/html", " padded\t", "a=1; Path=/", "b=2", "", "x\r\ny", "nul\0", "tab\tin", "\n", "é", "€", "\u00ff");
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.tuple(fc.constantFrom("append" as const, "set" as const), names, values),
    fc.tuple(fc.constant("delete" as const), names.filter((n) => /^[A-Za-z-]+$/.test(n))),
  );

  it("answers get, has and getSetCookie as a fetch Headers does after the same changes, and refuses the same fields", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const ours = new ResponseFields();
        const theirs = new Headers();
        expect(apply(ops, ours)).toBe(apply(ops, theirs));
        for (const n of ["content-type", "set-cookie", "vary", "x-a", "X-A"]) {
          expect(ours.get(n), n).toBe(theirs.get(n));
          expect(ours.has(n), n).toBe(theirs.has(n));
        }
        expect(ours.getSetCookie()).toEqual((theirs as unknown as { getSetCookie(): string[] }).getSetCookie());
        // The same fields, whatever the order: Headers sorts them, ours keeps the origin's.
        expect([...ours].sort()).toEqual([...theirs].sort());
      }),
      { numRuns: 500 },
    );
  });

  it("yields fields in the order their names first came, repeats joined, each cookie alone", () => {
    const f = new ResponseFields();
    f.append("X-Powered-By", "PHP");
    f.append("Set-Cookie", "a=1");
    f.append("Content-Type", "text/html");
    f.append("Vary", "Accept");
    f.append("set-cookie", "b=2");
    f.append("vary", "Cookie");
    f.set("x-powered-by", "PHP/8");
    expect([...f]).toEqual([
      ["x-powered-by", "PHP/8"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["content-type", "text/html"],
      ["vary", "Accept, Cookie"],
    ]);
  });

  it("refuses a value that would split the head, and a name that is not a token", () => {
    const f = new ResponseFields();
    expect(() => f.set("X-Evil", "a\r\nSet-Cookie: b=1")).toThrow(TypeError);
    expect(() => f.append("X-Evil", "a\nb")).toThrow(TypeError);
    expect(() => f.append("X Evil", "a")).toThrow(TypeError);
    expect(() => f.append("X:Evil", "a")).toThrow(TypeError);
    expect([...f]).toEqual([]);
  });

  it("hands a platform Response pairs (a Headers as it is)", () => {
    const f = new ResponseFields();
    f.append("A", "1");
    expect(headersInit(f)).toEqual([["a", "1"]]);
    const h = new Headers({ b: "2" });
    expect(headersInit(h)).toBe(h);
    expect(new Response(null, { headers: headersInit(f) }).headers.get("a")).toBe("1");
  });
});
