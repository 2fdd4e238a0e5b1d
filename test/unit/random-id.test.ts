// Request ids made by the gateway when the platform gives none: 16 hex digits, never the same
// twice, across the refills of the block they are drawn from.
import { expect, it } from "vitest";
import { randomId } from "../../src/core/random-id.js";

it("16 lower-case hex digits, 5,000 in a row all different, every digit used in every place", () => {
  const ids = Array.from({ length: 5000 }, randomId);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  expect(new Set(ids).size).toBe(ids.length);
  for (let place = 0; place < 16; place++) expect(new Set(ids.map((id) => id[place])).size).toBe(16);
});
