// SCGI (python.ca/scgi/protocol.txt): the variables as one netstring "<len>:<block>," with
// CONTENT_LENGTH first and SCGI=1, then the body; the server closes after its response.
import type { Exchange } from "../../core/exchange.js";
import { forwardCgiStream } from "../cgi-stream.js";
import { concatBytes } from "../../core/bytes.js";

const ascii = new TextEncoder();

/** The request head: the NUL-separated variable block as a netstring. */
export const scgiFrame = (vars: Uint8Array): Uint8Array =>
  concatBytes([ascii.encode(`${vars.byteLength}:`), vars, ascii.encode(",")]);

export const scgiExchange: Exchange = {
  cgi: true,
  needsLength: () => true,
  forward: (req, ctx) => forwardCgiStream({ format: "scgi", frame: scgiFrame }, req, ctx),
};
