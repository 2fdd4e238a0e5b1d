// What a config test reads of a refusal: the message loadConfig's ConfigError carries.
import { ConfigError } from "../../src/config/load.js";

/** The ConfigError message `f` throws; fails the test when it throws nothing (or another error). */
export function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("expected a ConfigError");
}
