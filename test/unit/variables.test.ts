// nginx variables in try_files, return and add_headers: $host as nginx computes it, and the
// expansion of both spellings ($name and ${name}).
import { describe, expect, it } from "vitest";
import { expandVariables, hostVariable, requestVars, unknownVariable } from "../../src/edge/variables.js";

describe("$host", () => {
  it.each([
    ["Example.COM", "example.com"],
    ["Example.COM:8080", "example.com"],
    ["[2001:DB8::1]:8443", "[2001:db8::1]"],
    ["", "fallback.test"],
  ])("Host %j → %j", (header, host) => {
    expect(hostVariable(header, "Fallback.Test")).toBe(host);
  });
});

describe("expansion", () => {
  const url = new URL("http://gw.test/a/b?x=1&y=2");
  const vars = { ...requestVars(new Request(url, { headers: { host: "WWW.Site.Test:81" } }), url, ""), uri: "/a/b" };

  it("$name and ${name}, each known variable", () => {
    expect(expandVariables("$scheme://$host$request_uri", vars)).toBe("http://www.site.test/a/b?x=1&y=2");
    expect(expandVariables("${uri}.html$is_args$args", vars)).toBe("/a/b.html?x=1&y=2");
    expect(expandVariables("$request_method $server_name $document_uri $query_string", vars)).toBe("GET www.site.test /a/b x=1&y=2");
    expect(expandVariables("$is_args", { ...vars, args: "" })).toBe("");
  });

  it("captures $1…$9 and ${1} from a regex's groups; without any, \"$5\" stays text", () => {
    const captures = ["/cap/a/7", "a", "7"];
    expect(expandVariables("first=$1 second=${2} none=$3 whole=$0 $uri", { ...vars, captures })).toBe("first=a second=7 none= whole=/cap/a/7 /a/b");
    expect(expandVariables("costs $5", vars)).toBe("costs $5");
    expect(expandVariables("$1$1", { ...vars, captures }, (t) => `[${t}]`)).toBe("[a][a]");
  });

  it("one pass: a value put in is never read again as a variable (a URI or group holding \"$host\")", () => {
    expect(expandVariables("$uri|$1", { ...vars, uri: "/$host/$args", captures: ["", "$request_uri$2"] })).toBe("/$host/$args|$request_uri$2");
  });

  it("an unknown variable is named (the config refuses it at load)", () => {
    expect(unknownVariable("/index.php?$args")).toBeNull();
    expect(unknownVariable("$uri/$upstream_addr")).toBe("upstream_addr");
    expect(unknownVariable("${sent_http_host}")).toBe("sent_http_host");
    // A family's prefix needs a name after it.
    expect(unknownVariable("$http_")).toBe("http_");
    expect(unknownVariable("$cookie_sid$arg_page$http_x_api_key")).toBeNull();
  });

  it("nginx's families: $http_NAME reads a request field (_ for -), $cookie_NAME a cookie by its exact name, $arg_NAME a query argument (any case) as sent", () => {
    const headers = new Headers({ "x-api-key": "k1", cookie: "a=1; wordpress_logged_in_abc=me; sid = s 2 ;b=" });
    const v = { ...vars, headers, args: "Page=2&q=a%20b&flag&page=9" };
    expect(expandVariables("$http_x_api_key|$http_missing", v)).toBe("k1|");
    expect(expandVariables("$cookie_sid|$cookie_b|$cookie_wordpress_logged_in|$cookie_a", v)).toBe("s 2|||1");
    expect(expandVariables("$arg_page|$arg_q|$arg_flag|$arg_none", v)).toBe("2|a%20b||");
  });
});
