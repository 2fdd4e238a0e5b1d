// inspect.html in headless Chromium, opened from disk as a user would: the page loads the Wasm
// module inlined in it, a user pastes hex and presses Decode, and the listing is the one
// `edgepass inspect` prints for the same bytes (the same decoder, src/inspect). The bytes are
// a real php-fpm response recorded by test/helpers/record-fpm.mjs.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec } from "../../src/codec/index";
import { inspectCapture, renderText } from "../../src/inspect/index";
import { ROOT } from "./build";
import { withChromium } from "./launchers";

const recorded = readFileSync(path.join(ROOT, "test/vectors/fixtures/php-fpm-response.bin"));
const asHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ").replace(/(.{48})/g, "$1\n");

async function decodeInPage(hex: string, protocol = ""): Promise<{ text: string; className: string }> {
  return withChromium(async (page) => {
    await page.goto(pathToFileURL(path.join(ROOT, "dist/inspect.html")).href);
    await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
    await page.fill("#input", hex);
    if (protocol) await page.selectOption("#protocol", protocol);
    await page.click("#decode");
    const output = page.locator("#output");
    return { text: (await output.textContent()) ?? "", className: (await output.getAttribute("class")) ?? "" };
  });
}

describe("inspect.html in Chromium", () => {
  it("decodes pasted hex of a real php-fpm response exactly as the CLI does", async () => {
    const hex = asHex(recorded);
    const { text, className } = await decodeInPage(hex);
    const cli = renderText(inspectCapture(createCodec(loadWasmModuleFromDisk()), new TextEncoder().encode(hex), { format: "hex" }));
    expect(text).toBe(cli);
    expect(text).toContain("CGI head: status 200");
    expect(text).toContain('stderr: "PHP message: edgepass stderr one"');
    expect(text).toMatch(/END_REQUEST id=1 content=8 padding=0\n\s+appStatus=0 protocolStatus=REQUEST_COMPLETE/);
    expect(className).toBe("");
  });

  it("explains a framing error (an HTTP answer where FastCGI was expected)", async () => {
    const { text, className } = await decodeInPage(asHex(new TextEncoder().encode("HTTP/1.1 404 Not Found\r\n\r\n")), "fastcgi");
    expect(text).toContain("ERROR FCGI_BAD_VERSION: byte 0 is 72, not FastCGI version 1");
    expect(text).toContain("the server on this port speaks HTTP, not FastCGI");
    expect(className).toBe("bad");
  });
});
