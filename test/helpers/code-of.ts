// The stable code of the CodecError a call throws, "no error" when it returns; any other
// exception is a bug and propagates.
import { CodecError } from "../../src/codec/index";

export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  return "no error";
}
