// SERVER_PROTOCOL as CGI writes it (RFC 3875 4.1.16) whatever the platform calls the client's
// protocol: Cloudflare's request.cf.httpProtocol says "HTTP/2" and "HTTP/3", nginx passes
// "HTTP/2.0" and "HTTP/3.0", and uWSGI echoes it as its status line's version.
import { describe, expect, it } from "vitest";
import { cgiProtocol } from "../../src/core/cgi-env.js";

describe("cgiProtocol", () => {
  it.each([
    ["HTTP/2", "HTTP/2.0"],
    ["HTTP/3", "HTTP/3.0"],
    ["HTTP/1.1", "HTTP/1.1"],
    ["HTTP/1.0", "HTTP/1.0"],
    [undefined, "HTTP/1.1"],
  ])("%s is passed as %s", (given, sent) => {
    expect(cgiProtocol(given)).toBe(sent);
  });
});
