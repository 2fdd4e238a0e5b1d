// Timeouts at every stage (SECURITY.md, "Reliability promises"): each await on the network
// races a timer, and the loser is cleaned up so no timer outlives the request.
import { Codes, GatewayError } from "./errors.js";

export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => GatewayError): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** One read from an origin, bounded by read_timeout (504), other failures as 502. */
export async function timedRead(
  p: Promise<ReadableStreamReadResult<Uint8Array>>,
  origin: string,
  ms: number,
  closed: () => boolean,
): Promise<Uint8Array | null> {
  try {
    const r = await withTimeout(p, ms, () =>
      new GatewayError(Codes.UPSTREAM_READ_TIMEOUT, 504, `The origin ${origin} did not send anything for ${ms / 1000} s (read_timeout).`),
    );
    return r.done ? null : r.value;
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    if (closed()) return null;
    throw new GatewayError(Codes.UPSTREAM_IO, 502, `Reading from the origin ${origin} failed.`, String(e));
  }
}

/** One write to an origin, bounded by send_timeout (504), other failures as 502. */
export async function timedWrite(p: Promise<void>, origin: string, ms: number): Promise<void> {
  try {
    await withTimeout(p, ms, () =>
      new GatewayError(Codes.UPSTREAM_SEND_TIMEOUT, 504, `The origin ${origin} did not accept the request within ${ms / 1000} s (send_timeout).`),
    );
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    throw new GatewayError(Codes.UPSTREAM_IO, 502, `Writing to the origin ${origin} failed.`, String(e));
  }
}
