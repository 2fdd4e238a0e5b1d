// A consumer of the published entry, type-checked by hosts.test.ts the way a project outside
// this repository would be (moduleResolution nodenext, no Node types, DOM lib): the import
// resolves through package.json "exports" to dist/codec/types.
import { CodecError, createCodec, FcgiType, loadCodec, type Codec, type FcgiEvent } from "edgepass/codec";

export async function firstStatus(wasm: WebAssembly.Module | Uint8Array, bytes: Uint8Array): Promise<number | null> {
  const codec: Codec = wasm instanceof WebAssembly.Module ? createCodec(wasm) : await loadCodec(wasm);
  try {
    return codec.parseHttpResponseHead(bytes, 8192, "GET")?.status ?? null;
  } catch (e) {
    if (e instanceof CodecError) return -e.num;
    throw e;
  }
}

export function stdout(events: FcgiEvent[]): Uint8Array[] {
  return events.flatMap((e) => (e.kind === "stream" && e.type === FcgiType.STDOUT ? [e.data] : []));
}

export async function fromFetch(url: string): Promise<Codec> {
  return loadCodec(fetch(url));
}

export function misuse(codec: Codec): void {
  // @ts-expect-error: the limit is a number; the declarations must say so.
  codec.parseCgiHead(new Uint8Array(0), "16k");
}
