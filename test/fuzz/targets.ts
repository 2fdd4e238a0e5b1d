// Every fuzz target, by name: the bounded run in `npm test`, `npm run fuzz` and the vector
// replay all take them from here.

import { cgiHeadRoundTrip, cgiHeadTarget, paramsTarget } from "./props-cgi";
import { fcgiDecoderRoundTrip, fcgiDecoderTarget, fcgiEncodeTarget, fcgiPairsTarget } from "./props-fastcgi";
import {
  chunkedRoundTrip, chunkedTarget, httpRequestRoundTrip, httpRequestTarget, httpResponseRoundTrip, httpResponseTarget,
} from "./props-http";
import type { Target } from "./target";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const TARGETS: Array<Target<any>> = [
  fcgiDecoderTarget,
  fcgiDecoderRoundTrip,
  fcgiPairsTarget,
  fcgiEncodeTarget,
  paramsTarget,
  cgiHeadTarget,
  cgiHeadRoundTrip,
  httpRequestTarget,
  httpRequestRoundTrip,
  httpResponseTarget,
  httpResponseRoundTrip,
  chunkedTarget,
  chunkedRoundTrip,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function targetNamed(name: string): Target<any> {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}" (known: ${TARGETS.map((x) => x.name).join(", ")})`);
  return t;
}
