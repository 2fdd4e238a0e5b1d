// max_body (nginx's client_max_body_size): a body declared larger is refused before anything
// is read or forwarded; a body of unknown length (chunked) is counted as it streams, and the
// chunk that would pass the limit is never handed on: the stream fails there with the 413,
// which the gateway answers instead of whatever the origin made of a cut body.
import { formatBytes } from "./body.js";
import { Codes, GatewayError } from "./errors.js";
import { PiecesBody, streamPieces, type StreamBody } from "./pieces.js";

export const bodyTooLarge = (max: number, route: string): GatewayError =>
  new GatewayError(
    Codes.BODY_TOO_LARGE,
    413,
    `The request body is larger than ${formatBytes(max)}, the most this path accepts (max_body).`,
    `max_body=${max} route=${route}`,
  );

/** The limit for a request on `route`: its own max_body, else [gateway]'s; 0 is none. */
export const maxBodyFor = (routeMax: number | undefined, gatewayMax: number): number => routeMax ?? gatewayMax;

/** Throws 413 when the declared length is over `max`. */
export function checkDeclaredLength(declared: string | null, max: number, route: string): void {
  if (max === 0 || declared === null || !/^[0-9]{1,15}$/.test(declared)) return;
  if (Number(declared) > max) throw bodyTooLarge(max, route);
}

export interface BodyCap {
  stream: PiecesBody;
  /** Set once the body passed the limit. */
  tripped: GatewayError | null;
}

/** Counts a body of unknown length against `max`. */
export function capBody(body: StreamBody, max: number, route: string): BodyCap {
  const src = streamPieces(body);
  let seen = 0;
  const cap: BodyCap = { stream: null as unknown as PiecesBody, tripped: null };
  cap.stream = new PiecesBody({
    async next() {
      const got = await src.next();
      if (got === null) return null;
      for (const p of got) seen += p.byteLength;
      if (seen > max) {
        cap.tripped = bodyTooLarge(max, route);
        src.cancel(cap.tripped);
        throw cap.tripped;
      }
      return got;
    },
    cancel(reason) {
      src.cancel(reason);
    },
  });
  return cap;
}
