// The vector harnesses by kind (see vector-format.ts for the file format). Streaming harnesses
// (fastcgi, cgi-head, http-request, http-response, http-chunked) run each input whole, at every
// chunk split and byte by byte. New kinds register here.

import type { Codec } from "../../../src/codec/types";
import type { VectorCase } from "../vector-format";
import { cgiHeadHarness, cgiParamsHarness, cgiRequestHarness } from "./cgi";
import type { Check, Harness } from "./check";
import { fastcgiHarness } from "./fastcgi";
import { httpChunkedHarness, httpHeadHarness } from "./http";

export type { Check } from "./check";

export const HARNESSES: Record<string, Harness> = {
  fastcgi: fastcgiHarness,
  "cgi-head": cgiHeadHarness,
  "cgi-params": cgiParamsHarness,
  "cgi-request": cgiRequestHarness,
  "http-request": httpHeadHarness("http-request"),
  "http-response": httpHeadHarness("http-response"),
  "http-chunked": httpChunkedHarness,
};

/** Every check of one case; throws when no harness knows its kind. */
export function checkCase(codec: Codec, c: VectorCase): Check[] {
  const harness = HARNESSES[c.kind];
  if (!harness) throw new Error(`${c.file}:${c.line}: no harness for kind "${c.kind}"`);
  return harness(codec, c);
}
