// autoindex at load (config/route-rules.ts): what each form means and what is refused. The lists
// themselves are compared with nginx's on the wire: test/integration/autoindex.test.ts.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";

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
