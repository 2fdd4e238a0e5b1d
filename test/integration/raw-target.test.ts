// A request-target with raw bytes >= 0x80, as curl sends a UTF-8 path it is given: nginx, Caddy
// and Cloudflare's edge take it, and so does edgepass on both hosts. The app sees it
// percent-encoded (REQUEST_URI), decoded where nginx decodes (SCRIPT_NAME, PATH_INFO,
// $_GET), through a real php-fpm. A raw byte that is not UTF-8 meets what its %XX form meets
// on serve (400 PATH_BAD_UTF8); workerd replaces it with U+FFFD before the Worker sees it.
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicCopy, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { gatewayForSuite } from "../helpers/suite.js";
import { BOTH_HOSTS, repoRoot } from "../helpers/process.js";
import { parseWire, rawRequest } from "../helpers/raw-http.js";

let fpm: PhpFpm;
const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
beforeAll(async () => {
  fpm = await startPhpFpm();
});
afterAll(() => fpm?.stop());

/** Sends `head` (bytes as given, Connection: close) and parses what comes back. */
function sendBytes(base: string, head: Buffer): Promise<ReturnType<typeof parseWire>> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.end(head));
    const parts: Buffer[] = [];
    sock.on("data", (d) => parts.push(d));
    sock.on("error", reject);
    sock.on("close", () => resolve(parseWire(Buffer.concat(parts), "GET")));
  });
}

describe.each(BOTH_HOSTS)("%s", (host, start) => {
  const suite = gatewayForSuite(start, () => `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\n\n[[routes]]\nmatch = "~ [^/]\\\\.php(/|$)"\nupstream = "php"\nroot = "${www}"\n\n[[routes]]\nmatch = "/"\nreturn = "200 uri=$uri request_uri=$request_uri"\n`);

  it("a raw UTF-8 path and query reach the app percent-encoded in REQUEST_URI, decoded in PATH_INFO and $_GET", async () => {
    // rawRequest writes the head as UTF-8: the é goes out as the two raw bytes C3 A9.
    const res = await rawRequest(suite.dev.base, { path: "/info.php/café?q=é" });
    expect(res.raw.subarray(0, 12).toString()).toBe("HTTP/1.1 200");
    const j = JSON.parse(res.body.toString()) as { server: Record<string, string>; get: Record<string, string> };
    expect(j.server).toMatchObject({ REQUEST_URI: "/info.php/caf%C3%A9?q=%C3%A9", SCRIPT_NAME: "/info.php", PATH_INFO: "/café", QUERY_STRING: "q=%C3%A9" });
    expect(j.get).toEqual({ q: "é" });
  });

  it("$uri is the decoded path, $request_uri the percent-encoded one", async () => {
    const res = await rawRequest(suite.dev.base, { path: "/café/x?q=é" });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("uri=/café/x request_uri=/caf%C3%A9/x?q=%C3%A9");
  });

  it("a raw byte that is not UTF-8", async () => {
    const res = await sendBytes(suite.dev.base, Buffer.from("GET /a\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "latin1"));
    if (host === "edgepass serve") {
      expect([res.status, res.get("x-edgepass-error")]).toEqual([400, "PATH_BAD_UTF8"]);
      const encoded = await sendBytes(suite.dev.base, Buffer.from("GET /a%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      expect([encoded.status, encoded.get("x-edgepass-error")]).toEqual([400, "PATH_BAD_UTF8"]);
    } else {
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("uri=/a\ufffd request_uri=/a%EF%BF%BD");
    }
  });

  it("whitespace and control bytes in the target are still refused", async () => {
    const res = await sendBytes(suite.dev.base, Buffer.from("GET /a\x01b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "latin1"));
    expect(res.status).toBe(400);
  });

  if (host === "edgepass serve") {
    it("DEL, and a raw byte in an absolute-form target's host, are refused by the parser", async () => {
      for (const target of ["/a\x7f", "http://caf\xc3\xa9.example/"]) {
        const res = await sendBytes(suite.dev.base, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, "latin1"));
        expect([res.status, res.get("x-edgepass-error")], target).toEqual([400, "HTTP_BAD_TARGET"]);
      }
    });
  }
});
