// limit_rate and limit_rate_after, nginx's: an answer's body goes to the client no faster than
// `rate` bytes a second once `after` bytes have gone, counted from when the answer leaves, with
// the first second's worth at once, as nginx counts (rate × (seconds since the start + 1)). An
// origin sets the rate of its own answer with X-Accel-Limit-Rate (bytes a second; 0: none),
// on a cache hit too. That field and nginx's other X-Accel ones never reach the client.
import type { Fields } from "./response-fields.js";
import { streamOf, type Body } from "./respond.js";

export interface RateLimit {
  rate: number;
  after: number;
}

/** The origin's X-Accel fields nginx takes and never passes on (fastcgi_hide_header's and
 *  proxy_hide_header's defaults); X-Accel-Redirect is taken before (finish.ts). */
const ACCEL_FIELDS = ["x-accel-expires", "x-accel-limit-rate", "x-accel-buffering", "x-accel-charset"];

/** The limit this answer goes out under, if any: its X-Accel-Limit-Rate, else the route's.
 *  The X-Accel fields are removed from `headers`. */
export function takeRateLimit(headers: Fields, route: RateLimit | undefined): RateLimit | undefined {
  const asked = headers.get("x-accel-limit-rate");
  for (const name of ACCEL_FIELDS) headers.delete(name);
  // nginx reads the field as digits only, and ignores anything else.
  const rate = asked !== null && /^\d{1,15}$/.test(asked) ? Number(asked) : (route?.rate ?? 0);
  return rate > 0 ? { rate, after: route?.after ?? 0 } : undefined;
}

/** Pieces of about a tenth of a second's worth: the client sees a steady flow, not a burst a
 *  second. */
const PIECES_A_SECOND = 10;
const MIN_PIECE = 1024;

/** `body`, handed on no faster than `limit` allows. */
export function paced(body: Body, limit: RateLimit): ReadableStream<Uint8Array> {
  const source = streamOf(body).getReader();
  const piece = Math.max(MIN_PIECE, Math.ceil(limit.rate / PIECES_A_SECOND));
  const start = performance.now();
  let sent = 0;
  let pending: Uint8Array | null = null;
  let cancelled = false;
  const allowed = () => limit.after + (limit.rate * (performance.now() - start + 1000)) / 1000 - sent;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending === null) {
          const r = await source.read();
          if (r.done) return controller.close();
          if (r.value.byteLength === 0) return;
          pending = r.value;
        }
        const want = Math.min(pending.byteLength, piece);
        let may = allowed();
        if (may < want) {
          await new Promise((resolve) => setTimeout(resolve, Math.ceil(((want - may) * 1000) / limit.rate)));
          // The client left while this waited.
          if (cancelled) return;
          may = allowed();
        }
        const n = Math.min(pending.byteLength, Math.max(want, Math.floor(may)));
        controller.enqueue(n === pending.byteLength ? pending : pending.subarray(0, n));
        pending = n === pending.byteLength ? null : pending.subarray(n);
        sent += n;
      },
      cancel(reason) {
        cancelled = true;
        return source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
