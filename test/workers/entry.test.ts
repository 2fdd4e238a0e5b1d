// The Worker entry's own duties: the config comes from EDGEPASS_CONFIG when set (else the
// bundled default), and a config that does not validate answers 500 with the validation
// message rather than failing silently.
import { describe, expect, inject, it } from "vitest";
import wasm from "../../wasm/build/edgepass.wasm";
import { handle } from "../../src/adapter/cloudflare/handler.js";

const rogue = inject("roguePort");
const php = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${inject("phpPort")}"]\n[[routes]]\nmatch = "/"\nupstream = "php"\nroot = "${inject("phpRoot")}"\n`;
const good = `[upstreams.app]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${rogue}"]\n[[routes]]\nmatch = "/"\nupstream = "app"\n`;

describe("Worker entry", () => {
  it("serves with EDGEPASS_CONFIG, and REMOTE_ADDR comes from CF-Connecting-IP", async () => {
    const res = await handle(new Request("https://site.test/info.php", { headers: { "cf-connecting-ip": "198.51.100.9" } }), { EDGEPASS_CONFIG: php }, wasm, "");
    expect(res.status).toBe(200);
    const j: any = await res.json();
    expect(j.server).toMatchObject({ REMOTE_ADDR: "198.51.100.9", HTTPS: "on", REQUEST_SCHEME: "https", SERVER_PORT: "443" });
  });

  it("an invalid config answers 500 with the file, key and expectation", async () => {
    const res = await handle(new Request("https://site.test/"), { EDGEPASS_CONFIG: good.replace('upstream = "app"', 'upstream = "nope"'), EDGEPASS_CONFIG_SOURCE: "prod.toml" }, wasm, "");
    expect(res.status).toBe(500);
    expect(res.headers.get("x-edgepass-error")).toBe("CONFIG_INVALID");
    const text = await res.text();
    expect(text).toContain("prod.toml");
    expect(text).toContain("upstream");
  });

  it("without EDGEPASS_CONFIG the bundled default is used", async () => {
    const res = await handle(new Request("https://site.test/ok"), {}, wasm, good);
    expect(res.status).toBe(200);
  });
});
