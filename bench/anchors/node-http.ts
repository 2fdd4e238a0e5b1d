// Anchor: Node's built-in native llhttp binding (node:_http_common's HTTPParser), which hands
// JS the method, URL and a flat [name, value, ...] list of strings built in C++.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export function nodeNative(type: "REQUEST" | "RESPONSE") {
  const { HTTPParser } = require("node:_http_common");
  const p = new HTTPParser();
  let n = 0;
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[], _m: number, url: string) => {
    n = headers.length + (url ? url.length : 0);
  };
  p[HTTPParser.kOnBody] = (b: Uint8Array) => {
    n += b.length;
  };
  p[HTTPParser.kOnMessageComplete] = () => {};
  return (input: Uint8Array): number => {
    p.initialize(HTTPParser[type], {});
    const r = p.execute(input);
    if (r instanceof Error) throw r;
    return n;
  };
}
