// Errors as listing problems: the codec's (a stable code and its message) and the inspector's
// own, for framing the Wasm module does not decode (SCGI and uwsgi requests, the capture file).
import type { Problem } from "./listing.js";

/** A framing error the inspector found itself; `code` is stable like the codec's. */
export class FramingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "FramingError";
  }
}

export function problemOf(e: unknown): Problem {
  if (e instanceof FramingError) return { code: e.code, message: e.message };
  if (e instanceof Error && e.name === "CodecError") {
    const code = (e as Error & { code: string }).code;
    // The codec prefixes its messages with the operation ("FcgiDecoder.push: …").
    return { code, message: e.message.replace(/^[\w. ()/-]+: /, "") };
  }
  throw e;
}
