// Every way an edgepass.toml can be wrong produces one ConfigError whose message names the
// file, the line (where one can be told), the key and what was expected. Line numbers below
// are counted by hand from the texts written out in each test.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const UPSTREAM = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`; // lines 1-3
const ROUTE = `[[routes]]\nmatch = "/"\nupstream = "php"\n`; // 3 lines

function errorOf(text: string, source = "edgepass.toml"): ConfigError {
  try {
    loadConfig(text, source);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected loadConfig to throw");
}

interface Want {
  line?: number;
  key: string;
  /** Substrings the message must contain besides "file:line: key:". */
  says?: string[];
  hint?: string;
}

function expectError(text: string, want: Want) {
  const e = errorOf(text);
  expect(e.code).toBe("CONFIG_INVALID");
  expect(e.source).toBe("edgepass.toml");
  expect(e.key).toBe(want.key);
  expect(e.line).toBe(want.line);
  const where = want.line === undefined ? "edgepass.toml: " : `edgepass.toml:${want.line}: `;
  expect(e.message.startsWith(`${where}${want.key}: `)).toBe(true);
  expect(e.message).toContain("expected ");
  expect(e.message).toContain(e.expected);
  for (const s of want.says ?? []) expect(e.message).toContain(s);
  if (want.hint !== undefined) expect(e.message).toContain(want.hint);
  return e;
}

describe("the message format", () => {
  it("matches the documented example exactly", () => {
    const text = [
      'upstreams.php = { protocol = "fastcgi", servers = ["127.0.0.1:9000"] }',
      "[[routes]]",
      'match = "/"',
      'upstream = "php"',
      "[[routes]]",
      'match = "~ \\\\.php$"',
      'upstream = "ph"',
    ].join("\n");
    const e = errorOf(text);
    expect(e.message).toBe(
      'edgepass.toml:7: routes[1].upstream: expected the name of an upstream defined under [upstreams] ("php"), got "ph"',
    );
    expect(e).toMatchObject({
      code: "CONFIG_INVALID",
      source: "edgepass.toml",
      line: 7,
      key: "routes[1].upstream",
      expected: 'the name of an upstream defined under [upstreams] ("php")',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("ConfigError");
  });

  it("uses the source it was given", () => {
    expect(errorOf("[[routes]]\nmatch = 1\n", "EDGEPASS_CONFIG").message).toMatch(/^EDGEPASS_CONFIG:2: routes\[0\]\.match: /);
  });
});

describe("TOML syntax errors", () => {
  it("report smol-toml's line and column with a code excerpt", () => {
    const e = errorOf(UPSTREAM + "[[routes]]\nmatch = \n");
    expect(e.line).toBe(5);
    expect(e.key).toBe("");
    expect(e.message).toMatch(/^edgepass\.toml:5: TOML syntax error at column \d+: .+; expected valid TOML/);
    expect(e.message).toContain('5:  match = ');
  });

  it("report a table defined twice", () => {
    const e = errorOf(UPSTREAM + "[upstreams.php]\n");
    expect(e.line).toBe(4);
  });
});

describe("unknown keys", () => {
  it("at the top level, with a did-you-mean", () => {
    expectError(`[gatway]\nmax_body_buffer = "1m"\n` + UPSTREAM + ROUTE, {
      line: 1,
      key: "gatway",
      says: ["unknown key", "expected one of gateway, upstreams, routes"],
      hint: 'did you mean "gateway"?',
    });
  });

  it("[route] for [[routes]] is pointed at the right name", () => {
    expectError(UPSTREAM + `[route]\nmatch = "/"\n`, { line: 4, key: "route", hint: '"routes"' });
  });

  it("in [gateway]", () => {
    expectError(`[gateway]\nmax_body_bufer = "1m"\n` + UPSTREAM + ROUTE, {
      line: 2,
      key: "gateway.max_body_bufer",
      hint: 'did you mean "max_body_buffer"?',
    });
  });

  it("in an upstream", () => {
    expectError(UPSTREAM + `conect_timeout = "5s"\n` + ROUTE, {
      line: 4,
      key: "upstreams.php.conect_timeout",
      says: ["expected one of protocol, servers, connect_timeout, send_timeout, read_timeout"],
      hint: 'did you mean "connect_timeout"?',
    });
  });

  it("in a route, including nginx's directive names", () => {
    expectError(UPSTREAM + ROUTE + `roots = "/srv"\n`, { line: 7, key: "routes[0].roots", hint: 'did you mean "root"?' });
    expectError(UPSTREAM + ROUTE + `fastcgi_pass = "php"\n`, {
      line: 7,
      key: "routes[0].fastcgi_pass",
      hint: 'edgepass calls this "upstream"',
    });
  });

  it("without a hint when nothing is close", () => {
    const e = expectError(UPSTREAM + ROUTE + `colour = "blue"\n`, { line: 7, key: "routes[0].colour" });
    expect(e.message).not.toContain("did you mean");
  });
});

describe("[gateway] values", () => {
  it.each([
    ['"8x"', 2, "a size"],
    ['"1.5m"', 2, "a size"],
    ["1.5", 2, "the float 1.5"],
    ["-1", 2, "a size cannot be negative"],
    ["true", 2, "the boolean true"],
  ])("max_body_buffer = %s", (v, line, says) => {
    expectError(`[gateway]\nmax_body_buffer = ${v}\n` + UPSTREAM + ROUTE, {
      line,
      key: "gateway.max_body_buffer",
      says: ['expected a size: an integer number of bytes, or a string like "512k"', says],
    });
  });

  it("response_head_limit must be larger than zero", () => {
    expectError(`[gateway]\nresponse_head_limit = 0\n` + UPSTREAM + ROUTE, {
      line: 2,
      key: "gateway.response_head_limit",
      says: ["at least 1"],
    });
  });

  it("underscores_in_headers must be a boolean", () => {
    expectError(`[gateway]\nunderscores_in_headers = "no"\n` + UPSTREAM + ROUTE, {
      line: 2,
      key: "gateway.underscores_in_headers",
      says: ['expected true or false, got "no"'],
    });
  });

  it("server_name must be a host name", () => {
    expectError(`[gateway]\nserver_name = "a b"\n` + UPSTREAM + ROUTE, { line: 2, key: "gateway.server_name", says: ["host name"] });
  });

  it("[gateway] must be a table", () => {
    expectError(`gateway = 5\n` + UPSTREAM + ROUTE, { line: 1, key: "gateway", says: ["a table", "the integer 5"] });
  });
});

describe("[upstreams]", () => {
  it("protocol is required", () => {
    expectError(`[upstreams.php]\nservers = ["127.0.0.1:9000"]\n` + ROUTE, {
      line: 1,
      key: "upstreams.php.protocol",
      says: ["missing required key", 'expected "fastcgi"'],
    });
  });

  it("an unknown protocol names the four that exist", () => {
    expectError(UPSTREAM.replace('"fastcgi"', '"gopher"') + ROUTE, {
      line: 2,
      key: "upstreams.php.protocol",
      says: ['got "gopher"', 'expected "fastcgi", "scgi", "uwsgi" or "http"'],
    });
  });

  it("a protocol in the wrong case gets a hint", () => {
    expectError(UPSTREAM.replace('"fastcgi"', '"FastCGI"') + ROUTE, {
      line: 2,
      key: "upstreams.php.protocol",
      says: ['got "FastCGI"'],
      hint: 'write it in lower case: "fastcgi"',
    });
  });

  it("a key of another protocol is refused (modifier1 on fastcgi)", () => {
    expectError(UPSTREAM + "modifier1 = 5\n" + ROUTE, {
      line: 4,
      key: "upstreams.php.modifier1",
      says: ['modifier1 applies to protocol "uwsgi" only'],
    });
  });

  it("uwsgi modifiers are bytes", () => {
    expectError(UPSTREAM.replace('"fastcgi"', '"uwsgi"') + "modifier1 = 300\n" + ROUTE, {
      line: 4,
      key: "upstreams.php.modifier1",
      says: ["expected an integer from 0 to 255", "got the integer 300"],
    });
  });

  it("request_buffering is a boolean, on any upstream; absent, the host's default", () => {
    expectError(UPSTREAM.replace('"fastcgi"', '"http"') + 'request_buffering = "yes"\n' + ROUTE, {
      line: 4,
      key: "upstreams.php.request_buffering",
      says: ["expected true or false"],
    });
    expectError(UPSTREAM + 'request_buffering = "on"\n' + ROUTE, {
      line: 4,
      key: "upstreams.php.request_buffering",
      says: ["expected true or false"],
    });
    expect(loadConfig(UPSTREAM + "request_buffering = false\n" + ROUTE, "t.toml").upstreams.php.requestBuffering).toBe(false);
    expect(loadConfig(UPSTREAM + ROUTE, "t.toml").upstreams.php.requestBuffering).toBeUndefined();
    expectError(UPSTREAM + "fastcgi_request_buffering = false\n" + ROUTE, {
      line: 4,
      key: "upstreams.php.fastcgi_request_buffering",
      says: ['edgepass calls this "request_buffering"'],
    });
  });

  it('via = "fetch" needs a url, and url needs via = "fetch"', () => {
    expectError(UPSTREAM.replace('"fastcgi"', '"http"') + 'via = "fetch"\n' + ROUTE, {
      line: 1,
      key: "upstreams.php.url",
      says: ['via = "fetch" needs a url'],
    });
    expectError(UPSTREAM.replace('"fastcgi"', '"http"') + 'url = "https://a.example"\n' + ROUTE, {
      line: 4,
      key: "upstreams.php.url",
      says: ['no url unless via = "fetch"'],
    });
  });

  it("servers is required and must not be empty", () => {
    expectError(`[upstreams.php]\nprotocol = "fastcgi"\n` + ROUTE, {
      line: 1,
      key: "upstreams.php.servers",
      says: ["missing required key", "at least one server"],
    });
    expectError(UPSTREAM.replace('["127.0.0.1:9000"]', "[]") + ROUTE, {
      line: 3,
      key: "upstreams.php.servers",
      says: ["got an empty array"],
    });
    expectError(UPSTREAM.replace('["127.0.0.1:9000"]', '"127.0.0.1:9000"') + ROUTE, {
      line: 3,
      key: "upstreams.php.servers",
      hint: 'write ["127.0.0.1:9000"]',
    });
  });

  it.each([
    ["127.0.0.1", "the port is missing"],
    ["127.0.0.1:0", '"0" is not a port from 1 to 65535'],
    ["127.0.0.1:65536", '"65536" is not a port from 1 to 65535'],
    ["127.0.0.1:90x", '"90x" is not a port'],
    ["300.1.1.1:9000", '"300.1.1.1" is not a host name or IPv4 address'],
    ["bad host:9000", "is not a host name"],
    ["::1:9000", "put an IPv6 address in brackets"],
    ["[::g]:9000", '"::g" is not an IPv6 address'],
    ["unix:/run/php/php-fpm.sock", "Unix sockets cannot be reached from the edge"],
    ["http://127.0.0.1:9000", "leave out the scheme"],
  ])("server %j: %s", (addr, says) => {
    expectError(UPSTREAM.replace("127.0.0.1:9000", addr) + ROUTE, {
      line: 3,
      key: "upstreams.php.servers[0]",
      says: ['expected a server address "host:port" or "[IPv6]:port"', says],
    });
  });

  it("the failing element is named in a multi-server list", () => {
    expectError(UPSTREAM.replace('"127.0.0.1:9000"', '"127.0.0.1:9000", 9001') + ROUTE, {
      line: 3,
      key: "upstreams.php.servers[1]",
      says: ["got the integer 9001"],
    });
  });

  it.each([
    ['"5 seconds"', "units are ms, s, m, h, d"],
    ['"0s"', "longer than zero"],
    ['"-5s"', "expected a duration"],
    ['"30s1m"', "largest to smallest"],
    ['"25d"', "the longest timeout is 2147483647 ms"],
    ["1.5", "the float 1.5"],
  ])("read_timeout = %s", (v, says) => {
    expectError(UPSTREAM + `read_timeout = ${v}\n` + ROUTE, {
      line: 4,
      key: "upstreams.php.read_timeout",
      says: ['expected a duration: a string like "250ms", "5s", "2m"', says],
    });
  });

  it("a key after a multi-line array still gets its own line", () => {
    const text = `[upstreams.php]\nprotocol = "fastcgi"\nservers = [\n  "10.0.0.1:9000",\n  "10.0.0.2:9000",\n]\nsend_timeout = "soon"\n` + ROUTE;
    expectError(text, { line: 7, key: "upstreams.php.send_timeout" });
  });

  it("upstream names are restricted to letters, digits, _ and -", () => {
    expectError(`[upstreams."php app"]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n` + ROUTE, {
      line: 1,
      key: 'upstreams."php app"',
      says: ['invalid upstream name "php app"'],
    });
  });
});

describe("connection pool keys", () => {
  it.each([
    ['"keepalive"', 'write "pooled"'],
    ['"off"', 'write "direct"'],
    ["true", "the boolean true"],
  ])("pool = %s", (v, says) => {
    expectError(UPSTREAM + `pool = ${v}\n` + ROUTE, { line: 4, key: "upstreams.php.pool", says: ['expected "pooled" or "direct"', says] });
  });

  it("nginx's keepalive directive is pointed at max_connections", () => {
    expectError(UPSTREAM + `keepalive = 8\n` + ROUTE, { line: 4, key: "upstreams.php.keepalive", hint: 'edgepass calls this "max_connections"' });
    expectError(UPSTREAM + `keepalive_timeout = "4s"\n` + ROUTE, { line: 4, key: "upstreams.php.keepalive_timeout", hint: '"idle_timeout"' });
  });

  it.each([
    ["max_connections", "0", "an integer from 1 to 1024", "the integer 0"],
    ["max_connections", '"8"', "an integer from 1 to 1024", "write it without quotes: 8"],
    ["max_connections", "2.5", "an integer from 1 to 1024", "the float 2.5"],
    ["shards", "0", "an integer from 1 to 64", "the integer 0"],
    ["queue", "-1", "an integer from 0 to 100000", "the integer -1"],
    ["idle_timeout", '"0s"', "a duration", "longer than zero"],
    ["queue_timeout", '"soon"', "a duration", '"soon"'],
  ])("%s = %s", (key, v, expected, says) => {
    expectError(UPSTREAM + `${key} = ${v}\n` + ROUTE, { line: 4, key: `upstreams.php.${key}`, says: [`expected ${expected}`, says] });
  });

  it("more shards than connections would exceed the connection limit", () => {
    expectError(UPSTREAM + `max_connections = 2\nshards = 4\n` + ROUTE, {
      line: 5,
      key: "upstreams.php.shards",
      says: ["every shard keeps its own connections", "expected at most max_connections (2) shards, got the integer 4"],
      hint: "lower shards or raise max_connections",
    });
  });

  it('a pool key on a direct upstream is refused, not ignored', () => {
    expectError(UPSTREAM + `pool = "direct"\nmax_connections = 4\n` + ROUTE, {
      line: 5,
      key: "upstreams.php.max_connections",
      says: ["tunes the connection pool", "expected no max_connections on a direct upstream"],
      hint: 'remove it, or set pool = "pooled"',
    });
  });

  it("SCGI and uwsgi cannot be pooled: the server closes after every response", () => {
    expectError(`[upstreams.s]\nprotocol = "scgi"\nservers = ["127.0.0.1:4000"]\npool = "pooled"\n[[routes]]\nmatch = "/"\nupstream = "s"\n`, {
      line: 4,
      key: "upstreams.s.pool",
      says: ["an SCGI server closes the connection after every response", 'expected pool = "direct" for protocol "scgi"'],
    });
    expectError(`[upstreams.u]\nprotocol = "uwsgi"\nservers = ["127.0.0.1:4000"]\nqueue = 5\n[[routes]]\nmatch = "/"\nupstream = "u"\n`, {
      line: 4,
      key: "upstreams.u.queue",
      says: ["expected no queue on a direct upstream"],
    });
  });

  it('an HTTP upstream with via = "fetch" cannot be pooled: fetch() holds the connections', () => {
    expectError(`[upstreams.w]\nprotocol = "http"\nvia = "fetch"\nurl = "https://app.example.com"\npool = "pooled"\n[[routes]]\nmatch = "/"\nupstream = "w"\n`, {
      line: 5,
      key: "upstreams.w.pool",
      says: ["the platform's fetch() holds the connections", 'expected pool = "direct" with via = "fetch"'],
      hint: 'remove the key, or use via = "socket" with servers',
    });
  });

  it("a pool key on an HTTP upstream made direct points at pool = \"pooled\"", () => {
    expectError(`[upstreams.w]\nprotocol = "http"\nservers = ["127.0.0.1:8000"]\npool = "direct"\nmax_connections = 4\n[[routes]]\nmatch = "/"\nupstream = "w"\n`, {
      line: 5,
      key: "upstreams.w.max_connections",
      says: ["expected no max_connections on a direct upstream"],
      hint: 'remove it, or set pool = "pooled"',
    });
  });

  it.each([
    ['"pools"', 'start it with "/": "/pools"'],
    ['"/_edgepass/pools?x=1"', "no query"],
    ['"/a/../b"', "dot-segments"],
    ["1", "the integer 1"],
  ])("admin_path = %s", (v, says) => {
    expectError(`[gateway]\nadmin_path = ${v}\n` + UPSTREAM + ROUTE, { line: 2, key: "gateway.admin_path", says: ['expected a path such as "/_edgepass/pools"', says] });
  });
});

describe("[[routes]]", () => {
  it("at least one route is required", () => {
    expectError(UPSTREAM, { key: "routes", says: ["no routes are defined", "at least one [[routes]]"] });
    expectError("routes = []\n" + UPSTREAM, { line: 1, key: "routes", says: ["at least one route"] });
  });

  it("[routes] instead of [[routes]]", () => {
    expectError(UPSTREAM + `[routes]\nmatch = "/"\n`, { line: 4, key: "routes", says: ["[[routes]]"] });
  });

  it("match and upstream are required; a missing key is reported on its table's line", () => {
    expectError(UPSTREAM + `[[routes]]\nupstream = "php"\n`, {
      line: 4,
      key: "routes[0].match",
      says: ["missing required key", 'expected an nginx location: "= /exact"'],
    });
    expectError(UPSTREAM + ROUTE + `[[routes]]\nmatch = "/x"\n`, {
      line: 7,
      key: "routes[1].upstream",
      says: ["missing: a route without an upstream serves files, and no [assets] are configured", 'under [upstreams] ("php")'],
    });
  });

  it("an unknown upstream lists the defined ones, or says there are none", () => {
    expectError(ROUTE, { line: 3, key: "routes[0].upstream", says: ["(none are defined)", 'got "php"'] });
  });

  it.each([
    ["docs/", 'the path "docs/" does not start with "/"'],
    ["\\\\.php$", 'for a regex, write "~ \\\\.php$"'],
    ["/a//b", "could never match"],
    ["/a/../b", "could never match"],
    ["= /x/./", "could never match"],
    ["@fall back", "a named route is @ and a name"],
    ["=", 'the "=" modifier needs a path after it'],
  ])("match %j is refused", (m, says) => {
    expectError(UPSTREAM + `[[routes]]\nmatch = ${JSON.stringify(m)}\nupstream = "php"\n`, {
      line: 5,
      key: "routes[0].match",
      says: [says],
    });
  });

  it("an invalid regex names the route and JavaScript's reason", () => {
    expectError(UPSTREAM + ROUTE + `[[routes]]\nmatch = "~ ([a-z]"\nupstream = "php"\n`, {
      line: 8,
      key: "routes[1].match",
      says: ["expected a valid regular expression", 'got "~ ([a-z]"', "Unterminated group"],
    });
  });

  it.each([
    ["~ \\\\d++\\\\.php$", "possessive quantifier", 'drop the extra "+"'],
    ["~ x{2}+", "possessive quantifier", 'drop the extra "+"'],
    ["~ (?i)\\\\.php$", 'inline option "(?i)"', 'write the route as "~* regex"'],
    ["~ (?s).", 'inline option "(?s)"', "remove the inline option"],
    ["~ ^/(?P<id>\\\\d+)$", "(?P<name>...)", 'write "(?<name>...)"'],
    ["~ (?>a+)b", "atomic group", 'write "(?:...)"'],
    ["~ \\\\A/admin", '"\\\\A" means something else', 'use "^"'],
    ["~ \\\\.php\\\\z", '"\\\\z" means something else', 'use "$"'],
    ["~ [[:alpha:]]+\\\\.php$", 'POSIX class "[:alpha:]"', "[a-zA-Z]"],
    ["~ []a]", 'literal "]" in PCRE', 'escape it: "\\\\]"'],
    ["~ (*UTF8)\\\\.php$", 'PCRE verb "(*UTF8)"', "remove it"],
    ["~ \\\\x{41}", '"\\\\x{...}" is PCRE-only', "\\\\xHH"],
  ])("PCRE-only regex %j is refused", (m, problem, hint) => {
    expectError(UPSTREAM + `[[routes]]\nmatch = "${m}"\nupstream = "php"\n`, {
      line: 5,
      key: "routes[0].match",
      // The table is written in TOML's escaping ("\\\\" for one backslash); messages show one.
      says: [problem.replace(/\\\\/g, "\\"), "expected a regex JavaScript reads the way PCRE does"],
      hint: hint.replace(/\\\\/g, "\\"),
    });
  });

  it("a duplicate prefix location (plain or ^~) is refused, naming the first", () => {
    expectError(UPSTREAM + ROUTE + `[[routes]]\nmatch = "^~ /"\nupstream = "php"\n`, {
      line: 8,
      key: "routes[1].match",
      says: ['duplicate location "/" (routes[0] has it already)'],
    });
  });

  it("index and split need a root", () => {
    expectError(UPSTREAM + ROUTE + `split = [".php"]\n`, {
      line: 7,
      key: "routes[0].split",
      says: ["split only applies to routes with a root", "expected no split without root"],
    });
    expectError(UPSTREAM + ROUTE + `index = "index.php"\n`, { line: 7, key: "routes[0].index" });
    expectError(UPSTREAM + ROUTE + `script = "/index.php"\n`, { line: 7, key: "routes[0].script" });
  });

  it.each([
    ['root = "srv/www"', "routes[0].root", "an absolute directory path"],
    ["root = 1", "routes[0].root", "got the integer 1"],
    ['root = "/srv"\nindex = "a/index.php"', "routes[0].index", 'a file name such as "index.php"'],
    ['root = "/srv"\nsplit = ".php"', "routes[0].split", 'write [".php"]'],
    ['root = "/srv"\nsplit = ["php"]', "routes[0].split[0]", 'write ".php"'],
    ['root = "/srv"\nsplit = [".p hp"]', "routes[0].split[0]", "an extension"],
    ['root = "/srv"\nscript = "index.php"', "routes[0].script", 'starting with "/"'],
    ['root = "/srv"\nscript = "/index.php"\nsplit = [".php"]', "routes[0].split", "no split together with script"],
  ])("%s", (extra, key, says) => {
    const e = errorOf(UPSTREAM + ROUTE + extra + "\n");
    expect(e.key).toBe(key);
    expect(e.line).toBe(6 + extra.split("\n").length);
    expect(e.message).toContain(says);
  });

  it.each([
    ["SCRIPT_FILENAME", "set by the gateway"],
    ["REMOTE_ADDR", "set by the gateway"],
    ["PATH_TRANSLATED", "set by the gateway"],
    ["HTTP_HOST", "HTTP_* namespace"],
    ["HTTP_PROXY", "HTTP_* namespace"],
    ["SSL_CLIENT_VERIFY", "SSL_* namespace, which carries the client's TLS connection and certificate"],
    ["ssl_client_s_dn", "SSL_* namespace"],
    ["script_filename", "would shadow SCRIPT_FILENAME"],
  ])("params cannot set the gateway-owned %s", (name, says) => {
    expectError(UPSTREAM + ROUTE + `params = { APP_ENV = "prod", ${name} = "x" }\n`, {
      line: 7,
      key: `routes[0].params.${name}`,
      says: [says, "expected a name the gateway does not set itself"],
    });
  });

  it("params names and values are checked", () => {
    expectError(UPSTREAM + ROUTE + `params = { "APP-ENV" = "prod" }\n`, {
      line: 7,
      key: "routes[0].params.APP-ENV",
      says: ["A-Z, a-z, 0-9 and _"],
    });
    expectError(UPSTREAM + ROUTE + `params = { APP_DEBUG = 1 }\n`, {
      line: 7,
      key: "routes[0].params.APP_DEBUG",
      says: ["expected a string value, got the integer 1"],
      hint: 'quote it: APP_DEBUG = "1"',
    });
    expectError(UPSTREAM + ROUTE + `params = { X = "a\\r\\nY: b" }\n`, {
      line: 7,
      key: "routes[0].params.X",
      says: ["without control characters"],
    });
  });

  it("text inside a multi-line string is not mistaken for a table header", () => {
    const text = UPSTREAM + ['[[routes]]', 'match = """~ a', "[[routes]]", 'b"""', 'upstream = "php"', "[[routes]]", 'match = "/"', 'upstream = "ph"'].join("\n");
    expectError(text, { line: 11, key: "routes[1].upstream" });
  });

    it("params in their own sub-table are located too", () => {
    expectError(UPSTREAM + ROUTE + `[routes.params]\nAPP_ENV = "prod"\nHTTPS = "on"\n`, {
      line: 9,
      key: "routes[0].params.HTTPS",
    });
  });
});
