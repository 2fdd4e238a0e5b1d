// The script of inspect.html: the same inspector as `edgepass inspect`, with the Wasm module
// inlined by scripts/build-codec.mjs (WASM_BASE64; the scalar build, which every browser runs), so
// the page works from a file:// URL.
import { loadCodec } from "../../codec/index.ts";
import { inspectCapture, renderText } from "../index.ts";

const $ = (id) => document.getElementById(id);
const output = $("output");

function show(bytes, format) {
  try {
    const listing = inspectCapture(codec, bytes, {
      protocol: $("protocol").value || undefined,
      as: $("as").value || undefined,
      format,
    });
    output.textContent = renderText(listing);
    output.className = listing.problems ? "bad" : "";
  } catch (e) {
    output.textContent = `${e.code ? `[${e.code}] ` : ""}${e.message}`;
    output.className = "bad";
  }
}

const codec = await loadCodec(Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0)));
output.textContent = "Ready: paste hex and press Decode.";
$("decode").disabled = false;
$("decode").addEventListener("click", () => show(new TextEncoder().encode($("input").value), "hex"));
$("file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (file) show(new Uint8Array(await file.arrayBuffer()));
});
document.body.dataset.ready = "true";
