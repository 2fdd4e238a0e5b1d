// autoindex at load (config/route-rules.ts): what each form means and what is refused; and
// localtime, which the wire test cannot set. The lists themselves are compared with nginx's on
// the wire: test/integration/autoindex.test.ts.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";
import { autoindexAnswer } from "../../src/edge/autoindex.js";

const site = (route: string, assets = '[assets]\ndirectory = "public"\n') =>
  loadConfig(`${assets}[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n\n[[routes]]\nmatch = "/files/"\n${route}\n`, "site.toml").routes[0];

describe("autoindex", () => {
  it("true is nginx's autoindex on (HTML, exact sizes, GMT); a table sets format, exact_size and localtime; false is off", () => {
    expect(site("autoindex = true").autoindex).toEqual({ format: "html", exactSize: true, localtime: false });
    expect(site('autoindex = { format = "json" }').autoindex).toEqual({ format: "json", exactSize: true, localtime: false });
    expect(site("autoindex = { exact_size = false, localtime = true }").autoindex).toEqual({ format: "html", exactSize: false, localtime: true });
    expect(site("autoindex = false").autoindex).toBeUndefined();
    expect(site("").autoindex).toBeUndefined();
  });

  it("refused: another format, an unknown key (nginx's names pointed to ours), a route with an upstream, no [assets]", () => {
    expect(messageOf(() => site('autoindex = { format = "jsonp" }'))).toMatch(/routes\[0\]\.autoindex\.format[\s\S]*"html", "json" or "xml"/);
    expect(messageOf(() => site('autoindex = { autoindex_format = "json" }'))).toMatch(/edgepass calls this "format"/);
    expect(messageOf(() => site('upstream = "php"\nautoindex = true'))).toMatch(/routes\[0\]\.autoindex[\s\S]*forwards to an upstream/);
    expect(messageOf(() => site("autoindex = true", ""))).toMatch(/routes\[0\]\.autoindex[\s\S]*no \[assets\]/);
  });
});

describe("autoindex's localtime", () => {
  it("shows the host's time instead of GMT (nginx's autoindex_localtime)", () => {
    const tz = process.env.TZ;
    process.env.TZ = "Asia/Tokyo";
    try {
      const entries = [{ name: "a.txt", type: "file" as const, size: 1, mtime: new Date("2026-11-03T04:05:06Z") }];
      const text = (localtime: boolean) => new TextDecoder().decode(autoindexAnswer("/d/", entries, { format: "html", exactSize: true, localtime }, false).body as Uint8Array);
      expect(text(false)).toContain(" 03-Nov-2026 04:05 ");
      expect(text(true)).toContain(" 03-Nov-2026 13:05 ");
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});
