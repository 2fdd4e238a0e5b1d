// An origin's body as a route's cache keeps it: a copy of its bytes taken as it is read (the
// writer may give an origin's read memory back for reuse once written, read-slabs.ts), up to
// the route's max_entry, whole only if it ended at its declared length.
import { concatBytes } from "./bytes.js";
import { piecesOf, PiecesBody } from "./pieces.js";
import type { ClientResponse } from "./respond.js";

/** The copy, made as pieces come: into one buffer of the declared length when there is one
 *  (one copy), else piece by piece and joined at the end. */
class Kept {
  size = 0;
  over = false;
  private parts: Uint8Array[] = [];
  private buf: Uint8Array | null;

  constructor(
    private readonly max: number,
    private readonly length: number | null,
  ) {
    this.buf = length !== null && length <= max ? new Uint8Array(length) : null;
  }

  add(p: Uint8Array): void {
    if (this.over) return;
    const end = this.size + p.byteLength;
    if (end > this.max || (this.length !== null && end > this.length)) {
      this.over = true;
      this.parts = [];
      this.buf = null;
      return;
    }
    if (this.buf) this.buf.set(p, this.size);
    else this.parts.push(p.slice());
    this.size = end;
  }

  /** The body, if it ended whole within the bounds. */
  whole(): Uint8Array | null {
    if (this.over || (this.length !== null && this.size !== this.length)) return null;
    return this.buf ?? concatBytes(this.parts);
  }
}

/** `res`'s whole body if it is at most `max` bytes, read now; else null, and `res` keeps a body
 *  that gives what was read and then the rest. A body that ends short of its length fails. */
export async function readWhole(res: ClientResponse, max: number): Promise<Uint8Array | null> {
  const body = res.body;
  if (body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body.byteLength <= max ? body.slice() : null;
  res.relayed = undefined;
  const src = piecesOf(body);
  const kept = new Kept(max, res.length);
  const read: Uint8Array[] = [];
  for (;;) {
    const got = await src.next();
    if (got === null) {
      if (res.length !== null && kept.size !== res.length) throw new Error(`the body ended after ${kept.size} of ${res.length} declared bytes`);
      return kept.whole();
    }
    for (const p of got) {
      read.push(p);
      kept.add(p);
    }
    if (kept.over) break;
  }
  let first: Uint8Array[] | null = read;
  res.body = new PiecesBody({
    own: src.own,
    async next() {
      const out = first;
      first = null;
      return out ?? src.next();
    },
    cancel: (reason) => src.cancel(reason),
  });
  return null;
}

/** `res`'s body as it is read, a copy kept aside; `done` is told the whole body once it ended
 *  complete, else (failed, cancelled, past `max`) null. */
export function keepWhenRead(res: ClientResponse, max: number, done: (body: Uint8Array | null) => void): void {
  const body = res.body;
  if (body === null) return done(new Uint8Array(0));
  if (body instanceof Uint8Array) return done(body.byteLength <= max ? body.slice() : null);
  const src = piecesOf(body);
  const kept = new Kept(max, res.length);
  let told = false;
  const tell = (b: Uint8Array | null) => {
    if (!told) {
      told = true;
      done(b);
    }
  };
  // The Worker's relay of a pool object's body is read here now, not piped past JavaScript.
  res.relayed = undefined;
  res.body = new PiecesBody({
    own: src.own,
    async next() {
      let got: Uint8Array[] | null;
      try {
        got = await src.next();
      } catch (e) {
        tell(null);
        throw e;
      }
      if (got === null) tell(kept.whole());
      else for (const p of got) kept.add(p);
      return got;
    },
    cancel(reason) {
      tell(null);
      src.cancel(reason);
    },
  });
}
