// From the raw request path to $uri (normalizePath), and from $uri to SCRIPT_NAME,
// PATH_INFO and SCRIPT_FILENAME (splitScript). The refusals here are the defences listed
// under "Path splitting" in SECURITY.md.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/types.js";
import { foldForComparison, normalizePath, PathErrors, splitScript } from "../../src/edge/script-path.js";

function route(over: Partial<RouteConfig> = {}): RouteConfig {
  return {
    match: "/",
    kind: "prefix",
    pattern: "/",
    upstream: "php",
    root: "/srv/www",
    index: "index.php",
    split: [".php"],
    params: {},
    index_in_file: 0,
    indexFiles: ["index.php"],
    access: [],
    interceptErrors: false,
    addHeaders: [],
    hideHeaders: [],
    gzipStatic: true,
    ...over,
  };
}

const php = route();
const app = route({ root: undefined, index: undefined, split: [] });

describe("normalizePath", () => {
  it.each([
    ["/", "/"],
    ["/index.php", "/index.php"],
    ["//a///b", "/a/b"],
    ["/a/./b", "/a/b"],
    ["/a/b/../c", "/a/c"],
    ["/a/b/..", "/a/"],
    ["/a/.", "/a/"],
    ["/a/..", "/"],
    ["/dir/", "/dir/"],
    ["/a%20b", "/a b"],
    ["/caf%C3%A9", "/café"],
    ["/café", "/café"],
    ["/%F0%9F%90%98", "/\u{1F418}"],
    // Encoded dots and slashes act as dots and slashes once decoded, as in nginx.
    ["/a/%2e%2E/b", "/b"],
    ["/a%2Fb", "/a/b"],
    // Decoding happens once: "%25" is a literal "%" and is not decoded again.
    ["/%252e%252e/x", "/%2e%2e/x"],
    // The query and fragment are not part of the path.
    ["/search.php?q=../../etc", "/search.php"],
    ["/a#frag/../..", "/a"],
    // Paths that are already normal come back as they are; a dot or slash after a "/" is not.
    ["/a./b.php/c~d-e_f", "/a./b.php/c~d-e_f"],
    ["/a/.hidden", "/a/.hidden"],
    ["/a/b/", "/a/b/"],
    ["/a/b//", "/a/b/"],
    ["/a/b/.", "/a/b/"],
  ])("%s → %s", (raw, want) => {
    expect(normalizePath(raw)).toEqual({ path: want });
  });

  it.each([
    ["/..", PathErrors.ESCAPES_ROOT],
    ["/a/../..", PathErrors.ESCAPES_ROOT],
    ["/%2e%2e/etc/passwd", PathErrors.ESCAPES_ROOT],
    ["/a/%2e%2e%2f%2e%2e/x", PathErrors.ESCAPES_ROOT],
    ["/a%00.php", PathErrors.CONTROL_BYTE],
    ["/a%0d%0aX-Injected:%201", PathErrors.CONTROL_BYTE],
    ["/a%1Fb", PathErrors.CONTROL_BYTE],
    ["/a%7F", PathErrors.CONTROL_BYTE],
    ["/a\tb", PathErrors.CONTROL_BYTE],
    ["/a%", PathErrors.BAD_ENCODING],
    ["/a%4", PathErrors.BAD_ENCODING],
    ["/a%G0", PathErrors.BAD_ENCODING],
    ["/a%%30", PathErrors.BAD_ENCODING],
    ["/%FF", PathErrors.BAD_UTF8],
    ["/%C3", PathErrors.BAD_UTF8],
    // Overlong "." (the classic %c0%ae%c0%ae traversal) is not UTF-8.
    ["/%C0%AE%C0%AE/etc", PathErrors.BAD_UTF8],
    // A UTF-16 surrogate encoded as UTF-8 (CESU-8) is not UTF-8 either.
    ["/%ED%A0%80", PathErrors.BAD_UTF8],
    ["/\uD800", PathErrors.BAD_UTF8],
    ["*", PathErrors.NOT_ABSOLUTE],
    ["", PathErrors.NOT_ABSOLUTE],
  ])("%j is refused with %s", (raw, code) => {
    const r = normalizePath(raw);
    expect(r).toMatchObject({ error: code });
    expect((r as { message: string }).message.length).toBeGreaterThan(20);
  });

  it("refuses the CVE-2019-11043 shape: a %0a that would empty PATH_INFO in PHP-FPM", () => {
    const r = normalizePath("/index.php/PHP%0Ais_the_shittiest/?");
    expect(r).toEqual({
      error: "PATH_CONTROL_BYTE",
      message: expect.stringContaining("0x0a"),
    });
  });

  it("names the bad escape in the message", () => {
    expect(normalizePath("/a%zz")).toMatchObject({ message: expect.stringContaining('"%zz"') });
  });
});

describe("splitScript with a root", () => {
  it("splits a front-controller path into the script and PATH_INFO", () => {
    expect(splitScript(php, "/index.php/some/path")).toEqual({
      scriptName: "/index.php",
      pathInfo: "/some/path",
      scriptFilename: "/srv/www/index.php",
      documentRoot: "/srv/www",
    });
  });

  it("appends the index to a directory path", () => {
    expect(splitScript(php, "/dir/")).toEqual({
      scriptName: "/dir/index.php",
      pathInfo: "",
      scriptFilename: "/srv/www/dir/index.php",
      documentRoot: "/srv/www",
    });
    expect(splitScript(php, "/")).toMatchObject({ scriptName: "/index.php", scriptFilename: "/srv/www/index.php" });
    expect(splitScript(route({ index: "app.php" }), "/x/")).toMatchObject({ scriptName: "/x/app.php" });
  });

  it("stops at the FIRST segment with the extension", () => {
    expect(splitScript(php, "/a/b.php/c/d.php/e")).toMatchObject({
      scriptName: "/a/b.php",
      pathInfo: "/c/d.php/e",
      scriptFilename: "/srv/www/a/b.php",
    });
  });

  it("keeps a trailing slash as PATH_INFO rather than appending the index (nginx's fastcgi_index)", () => {
    expect(splitScript(php, "/a.php/")).toMatchObject({ scriptName: "/a.php", pathInfo: "/" });
  });

  it("never makes an upload the script: /uploads/x.jpg/y.php runs y.php or nothing", () => {
    expect(splitScript(php, "/uploads/x.jpg/y.php")).toEqual({
      scriptName: "/uploads/x.jpg/y.php",
      pathInfo: "",
      scriptFilename: "/srv/www/uploads/x.jpg/y.php",
      documentRoot: "/srv/www",
    });
  });

  it("treats a path without a script segment as the script name, with empty PATH_INFO", () => {
    expect(splitScript(php, "/a.php.txt")).toMatchObject({ scriptName: "/a.php.txt", pathInfo: "" });
    expect(splitScript(php, "/notes/php")).toMatchObject({ scriptName: "/notes/php", pathInfo: "" });
    // A segment that is only the extension has no file name before it (nginx's [^/]\.php).
    expect(splitScript(php, "/.php/x")).toMatchObject({ scriptName: "/.php/x", pathInfo: "" });
  });

  it("splits a path whose dot-segments normalized away", () => {
    const norm = normalizePath("/a/../b.php");
    expect(norm).toEqual({ path: "/b.php" });
    expect(splitScript(php, (norm as { path: string }).path)).toMatchObject({
      scriptName: "/b.php",
      scriptFilename: "/srv/www/b.php",
    });
  });

  it("honours several extensions, taking whichever segment comes first", () => {
    const r = route({ split: [".php", ".phtml"] });
    expect(splitScript(r, "/a.phtml/x/b.php")).toMatchObject({ scriptName: "/a.phtml", pathInfo: "/x/b.php" });
    expect(splitScript(r, "/a/b.php/c.phtml")).toMatchObject({ scriptName: "/a/b.php", pathInfo: "/c.phtml" });
  });

  it("joins a root of / or with a trailing slash without doubling the slash", () => {
    expect(splitScript(route({ root: "/" }), "/x.php")).toMatchObject({ scriptFilename: "/x.php", documentRoot: "/" });
    expect(splitScript(route({ root: "/srv/www/" }), "/x.php")).toMatchObject({ scriptFilename: "/srv/www/x.php" });
  });

  it("accepts non-ASCII names that are not look-alikes", () => {
    expect(splitScript(php, "/café/menü.php/ñ")).toMatchObject({ scriptName: "/café/menü.php", pathInfo: "/ñ" });
  });

  it("refuses a backslash, which a Windows origin reads as a separator", () => {
    expect(splitScript(php, "/a\\..\\..\\x.php")).toMatchObject({ error: "PATH_BACKSLASH" });
  });
});

describe("extension look-alikes (Caddy CVE-2026-27590 and relatives)", () => {
  it.each([
    ["/x.PHP", "upper case"],
    ["/x.pHp", "mixed case"],
    ["/x.Php/y", "mixed case, with PATH_INFO after it"],
    ["/x.\uFF50\uFF48\uFF50", "fullwidth ｐｈｐ (NFKC → php)"],
    ["/x\uFF0Ephp", "fullwidth full stop"],
    ["/x.\u1D18\u029C\u1D18", "small capitals ᴘʜᴘ"],
    ["/x.\u1D56\u02B0\u1D56", "modifier letters ᵖʰᵖ (NFKC → php)"],
    ["/x.php.", "trailing dot (dropped by Windows)"],
    ["/x.php ", "trailing space (dropped by Windows)"],
    ["/x.php. . ", "trailing dots and spaces"],
    ["/x.php\u00A0", "trailing no-break space"],
    ["/x.ph\u200Bp", "zero-width space inside"],
    ["/x.php\u200D", "zero-width joiner at the end"],
    ["/x.p\u0301hp", "combining accent"],
    ["/x.php::$DATA", "NTFS default data stream"],
    ["/x.PHP/y.php", "a look-alike directory before the real script"],
  ])("%j (%s) is refused", (path) => {
    const r = splitScript(php, path);
    expect(r).toMatchObject({ error: "PATH_EXTENSION_LOOKALIKE", message: expect.stringContaining('".php"') });
  });

  it("decoded from the wire, a look-alike is still refused", () => {
    const norm = normalizePath("/uploads/shell.php%20");
    expect(norm).toEqual({ path: "/uploads/shell.php " });
    expect(splitScript(php, (norm as { path: string }).path)).toMatchObject({ error: "PATH_EXTENSION_LOOKALIKE" });
  });

  it("spells invisible characters out in the message", () => {
    expect(splitScript(php, "/x.ph\u200Bp")).toMatchObject({ message: expect.stringContaining("\\u{200b}") });
  });

  it("does not look past the script: PATH_INFO is the application's business", () => {
    expect(splitScript(php, "/index.php/Report.PHP")).toMatchObject({ scriptName: "/index.php", pathInfo: "/Report.PHP" });
  });

  it("leaves unrelated names alone", () => {
    expect(splitScript(php, "/x.phpx")).toMatchObject({ scriptName: "/x.phpx" });
    expect(splitScript(php, "/PHP/x.php")).toMatchObject({ scriptName: "/PHP/x.php" });
  });

  it("uses the configured extension's own case as the literal form", () => {
    const upper = route({ split: [".PHP"] });
    expect(splitScript(upper, "/x.PHP/i")).toMatchObject({ scriptName: "/x.PHP", pathInfo: "/i" });
    expect(splitScript(upper, "/x.php")).toMatchObject({ error: "PATH_EXTENSION_LOOKALIKE" });
  });

  it("folds the way the checks above rely on", () => {
    expect(foldForComparison("X.\uFF30\u029C\u1D18 . ")).toBe("x.php");
    expect(foldForComparison("plain.txt")).toBe("plain.txt");
  });
});

describe("splitScript in other modes", () => {
  it("app mode (no root): no script, the whole path is PATH_INFO", () => {
    expect(splitScript(app, "/api/v1/users")).toEqual({
      scriptName: "",
      pathInfo: "/api/v1/users",
      scriptFilename: "",
      documentRoot: "",
    });
    // No file name is built, so neither extensions nor backslashes matter.
    expect(splitScript(app, "/x.PHP/a\\b")).toMatchObject({ pathInfo: "/x.PHP/a\\b" });
  });

  it("front controller (script set): every path runs the script, with empty PATH_INFO", () => {
    const fc = route({ script: "/index.php" });
    const want = { scriptName: "/index.php", pathInfo: "", scriptFilename: "/srv/www/index.php", documentRoot: "/srv/www" };
    expect(splitScript(fc, "/2024/05/hello-world/")).toEqual(want);
    expect(splitScript(fc, "/uploads/x.jpg/y.php")).toEqual(want);
  });
});
