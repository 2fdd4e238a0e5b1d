// The gateway a describe block's tests share: started before the first, stopped after the last
// (passed or not), so no test leaves one running.
import { afterAll, beforeAll } from "vitest";
import type { Dev } from "./process.js";

/** `start` (a host of BOTH_HOSTS) with the config `toml()` gives, for the enclosing describe. */
export function gatewayForSuite(start: (toml: string) => Promise<Dev>, toml: () => string): { readonly dev: Dev } {
  let dev: Dev | undefined;
  beforeAll(async () => {
    dev = await start(toml());
  }, 60_000);
  afterAll(async () => {
    await dev?.stop();
  });
  return {
    get dev() {
      if (!dev) throw new Error("the suite's gateway did not start");
      return dev;
    },
  };
}
