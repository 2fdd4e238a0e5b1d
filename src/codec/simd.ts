// Which build of the module a host can run. edgepass.wasm uses 128-bit SIMD (v128); hosts
// without it (older Safari, some embedded engines) refuse to compile it, so every loader that
// compiles bytes asks first and takes edgepass-scalar.wasm instead. Cloudflare Workers import
// the SIMD build as a module: workerd (V8) always has SIMD.

import type { WasmBuild } from "./types.js";

// The smallest module using SIMD: one function `() -> v128` returning v128.const 0.
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: () -> v128
  0x03, 0x02, 0x01, 0x00, //                         function section: one of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, //       code: v128.const (0xfd 12) ...
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ... its 16 bytes
  0x0b, //                                           end
]);

let simd: boolean | undefined;

/** True when this host compiles Wasm SIMD, so the SIMD build (edgepass.wasm) can load. */
export function wasmSimdSupported(): boolean {
  if (simd === undefined) {
    try {
      simd = WebAssembly.validate(PROBE);
    } catch {
      simd = false;
    }
  }
  return simd;
}

/** The build this host should load: "simd" where SIMD compiles, else "scalar". */
export function preferredWasmBuild(): WasmBuild {
  return wasmSimdSupported() ? "simd" : "scalar";
}

/** The file name of a build, as `npm run build` writes it to wasm/build/ and the package exports
 *  it (`edgepass/codec/edgepass.wasm`, `edgepass/codec/edgepass-scalar.wasm`). */
export function wasmFileName(build: WasmBuild): string {
  return build === "simd" ? "edgepass.wasm" : "edgepass-scalar.wasm";
}
