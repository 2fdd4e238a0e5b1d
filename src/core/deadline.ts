// Timeouts at every stage (SECURITY.md, "Reliability promises"): each await on the network
// races a timer, and the loser is cleaned up so no timer outlives the request.
import { GatewayError } from "./errors.js";

export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => GatewayError): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
