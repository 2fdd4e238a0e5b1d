// loadConfig(): what a valid edgepass.toml turns into (defaults, units, addresses, routes)
// and that the shipped examples load. Error messages are in config-errors.test.ts.
import { accessAllows } from "../../src/edge/access.js";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { matchRoute } from "../../src/edge/locations.js";
import { splitScript } from "../../src/edge/script-path.js";

const UPSTREAM = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
const ROUTE = `[[routes]]\nmatch = "/"\nupstream = "php"\n`;

function load(text: string) {
  return loadConfig(text, "edgepass.toml");
}

describe("defaults", () => {
  const cfg = load(UPSTREAM + ROUTE);

  it("fills [gateway] when it is absent", () => {
    expect(cfg.gateway).toEqual({
      maxBody: 100 * 1024 * 1024,
      maxBodyBuffer: 8 * 1024 * 1024,
      responseHeadLimit: 16 * 1024,
      underscoresInHeaders: false,
      serverName: "",
      adminPath: "",
      errorPages: {},
      log: "json",
      serverTiming: false,
      cacheSize: 64 * 1024 * 1024,
    });
  });

  it("fills upstream timeouts (5s connect, 60s send and read)", () => {
    expect(cfg.upstreams.php).toEqual({
      name: "php",
      protocol: "fastcgi",
      servers: [{ host: "127.0.0.1", port: 9000, ...DEFAULT_SERVER }],
      // Round robin over the servers, each tried once at most; nginx's max_fails = 1, fail_timeout = 10s.
      balance: { method: "round_robin", tries: 0, timeoutMs: 0 },
      connectTimeoutMs: 5000,
      sendTimeoutMs: 60000,
      readTimeoutMs: 60000,
      // Two pool objects of 4 connections each: Cloudflare allows an object 6 at once.
      pool: { mode: "pooled", shards: 2, maxConnections: 8, idleTimeoutMs: 4000, queue: 5000, queueTimeoutMs: 30_000 },
    });
  });

  it("a route without root is in app mode: no index, no split extensions", () => {
    expect(cfg.routes).toHaveLength(1);
    const r = cfg.routes[0];
    expect(r).toMatchObject({ match: "/", kind: "prefix", pattern: "/", upstream: "php", split: [], index_in_file: 0 });
    expect(r.root).toBeUndefined();
    expect(r.index).toBeUndefined();
    expect(Object.keys(r.params)).toEqual([]);
  });

  it('a route with root gets index "index.php" and split [".php"]', () => {
    const r = load(UPSTREAM + ROUTE + `root = "/srv/www"\n`).routes[0];
    expect(r).toMatchObject({ root: "/srv/www", index: "index.php", split: [".php"] });
  });

  it("records the source for messages", () => {
    expect(loadConfig(UPSTREAM + ROUTE, "EDGEPASS_CONFIG").source).toBe("EDGEPASS_CONFIG");
  });
});

describe("sizes", () => {
  it.each([
    [0, 0],
    [1024, 1024],
    ['"1024"', 1024],
    ['"512k"', 512 * 1024],
    ['"512K"', 512 * 1024],
    ['"8m"', 8 * 1024 * 1024],
    ['"8M"', 8 * 1024 * 1024],
    ['"1g"', 1024 * 1024 * 1024],
  ])("max_body_buffer = %s is %d bytes", (written, bytes) => {
    expect(load(`[gateway]\nmax_body_buffer = ${written}\n` + UPSTREAM + ROUTE).gateway.maxBodyBuffer).toBe(bytes);
  });

  it("response_head_limit takes the same notation", () => {
    expect(load(`[gateway]\nresponse_head_limit = "32k"\n` + UPSTREAM + ROUTE).gateway.responseHeadLimit).toBe(32768);
  });
});

describe("durations", () => {
  it.each([
    ['"250ms"', 250],
    ['"5s"', 5000],
    ['"2m"', 120000],
    ['"1h"', 3600000],
    ['"1m30s"', 90000],
    ['"1s500ms"', 1500],
    ["30", 30000],
    ['"30"', 30000],
  ])("read_timeout = %s is %d ms", (written, ms) => {
    const cfg = load(UPSTREAM + `read_timeout = ${written}\n` + ROUTE);
    expect(cfg.upstreams.php.readTimeoutMs).toBe(ms);
  });

  it("sets each timeout from its own key", () => {
    const cfg = load(UPSTREAM + `connect_timeout = "250ms"\nsend_timeout = "10s"\nread_timeout = "2m"\n` + ROUTE);
    expect(cfg.upstreams.php).toMatchObject({ connectTimeoutMs: 250, sendTimeoutMs: 10000, readTimeoutMs: 120000 });
  });
});

describe("gateway settings", () => {
  it("reads all four keys", () => {
    const cfg = load(
      `[gateway]\nmax_body_buffer = "1m"\nresponse_head_limit = "8k"\nunderscores_in_headers = true\nserver_name = "example.com"\n` +
        UPSTREAM +
        ROUTE,
    );
    expect(cfg.gateway).toEqual({
      maxBody: 100 * 1024 * 1024,
      maxBodyBuffer: 1048576,
      responseHeadLimit: 8192,
      underscoresInHeaders: true,
      serverName: "example.com",
      adminPath: "",
      errorPages: {},
      log: "json",
      serverTiming: false,
      cacheSize: 64 * 1024 * 1024,
    });
  });
});

describe("connection pool", () => {
  it("FastCGI and HTTP-over-socket upstreams are pooled by default; SCGI, uwsgi and fetch are direct", () => {
    const cfg = load(
      UPSTREAM +
        `[upstreams.s]\nprotocol = "scgi"\nservers = ["127.0.0.1:4000"]\n` +
        `[upstreams.u]\nprotocol = "uwsgi"\nservers = ["127.0.0.1:3031"]\n` +
        `[upstreams.w]\nprotocol = "http"\nservers = ["127.0.0.1:8000"]\n` +
        `[upstreams.f]\nprotocol = "http"\nvia = "fetch"\nurl = "https://app.example"\n` +
        ROUTE,
    );
    expect(cfg.upstreams.php.pool.mode).toBe("pooled");
    expect(cfg.upstreams.s.pool.mode).toBe("direct");
    expect(cfg.upstreams.u.pool.mode).toBe("direct");
    expect(cfg.upstreams.w.pool.mode).toBe("pooled");
    expect(cfg.upstreams.f.pool.mode).toBe("direct");
  });

  it("reads every pool key", () => {
    const cfg = load(
      UPSTREAM +
        `pool = "pooled"\nshards = 4\nmax_connections = 16\nidle_timeout = "10s"\nqueue = 1000\nqueue_timeout = "1m"\n` +
        ROUTE,
    );
    expect(cfg.upstreams.php.pool).toEqual({
      mode: "pooled",
      shards: 4,
      maxConnections: 16,
      idleTimeoutMs: 10_000,
      queue: 1000,
      queueTimeoutMs: 60_000,
    });
  });

  it('HTTP upstreams over sockets may be pooled (keep-alive), with every pool key', () => {
    const cfg = load(
      `[upstreams.w]\nprotocol = "http"\nservers = ["127.0.0.1:8000"]\npool = "pooled"\nmax_connections = 4\nidle_timeout = "2s"\nqueue = 10\nqueue_timeout = "1s"\n` +
        `[[routes]]\nmatch = "/"\nupstream = "w"\n`,
    );
    expect(cfg.upstreams.w.pool).toEqual({ mode: "pooled", shards: 1, maxConnections: 4, idleTimeoutMs: 2000, queue: 10, queueTimeoutMs: 1000 });
  });

  it("shards default to as few pool objects as keep each within 6 connections", () => {
    const pool = (extra: string, servers = `"127.0.0.1:9000"`) =>
      load(`[upstreams.php]\nprotocol = "fastcgi"\nservers = [${servers}]\n${extra}` + ROUTE).upstreams.php.pool;
    expect(pool("max_connections = 6\n").shards).toBe(1);
    expect(pool("max_connections = 7\n").shards).toBe(2);
    expect(pool("max_connections = 32\n").shards).toBe(5);
    expect(pool("max_connections = 4\n", `"a:9000", "b:9000"`).shards).toBe(2);
  });

  it("an explicit shards that puts more than 6 connections on one pool object is refused, with the number that fits", () => {
    expect(() => load(UPSTREAM + `shards = 1\nmax_connections = 8\n` + ROUTE)).toThrow(
      /upstreams\.php\.shards: .*8 connections.*only 6 open at once.*set shards = 2/,
    );
  });

  it('pool = "direct" opens one connection per request', () => {
    expect(load(UPSTREAM + `pool = "direct"\n` + ROUTE).upstreams.php.pool.mode).toBe("direct");
  });

  it("queue = 0 means no waiting: 503 as soon as every connection is busy", () => {
    expect(load(UPSTREAM + "queue = 0\n" + ROUTE).upstreams.php.pool.queue).toBe(0);
  });

  it("admin_path turns the statistics route on", () => {
    const cfg = load(`[gateway]\nadmin_path = "/_edgepass/pools"\n` + UPSTREAM + ROUTE);
    expect(cfg.gateway.adminPath).toBe("/_edgepass/pools");
  });
});

/** What a server written without options gets: nginx's defaults. */
const DEFAULT_SERVER = { weight: 1, backup: false, maxFails: 1, failTimeoutMs: 10_000 };

describe("servers", () => {
  it.each([
    ["127.0.0.1:9000", { host: "127.0.0.1", port: 9000 }],
    ["php-fpm:9000", { host: "php-fpm", port: 9000 }],
    ["php_fpm.internal:1", { host: "php_fpm.internal", port: 1 }],
    ["[::1]:9000", { host: "::1", port: 9000 }],
    ["[2001:db8::10]:65535", { host: "2001:db8::10", port: 65535 }],
  ])("%s", (written, addr) => {
    const cfg = load(UPSTREAM.replace("127.0.0.1:9000", written) + ROUTE);
    expect(cfg.upstreams.php.servers).toEqual([{ ...addr, ...DEFAULT_SERVER }]);
  });

  it("keeps several servers in order", () => {
    const cfg = load(UPSTREAM.replace('"127.0.0.1:9000"', '"10.0.0.1:9000", "10.0.0.2:9001"') + ROUTE);
    expect(cfg.upstreams.php.servers).toEqual([
      { host: "10.0.0.1", port: 9000, ...DEFAULT_SERVER },
      { host: "10.0.0.2", port: 9001, ...DEFAULT_SERVER },
    ]);
  });
});

describe("routes", () => {
  it("compiles regexes once, with the i flag for ~*", () => {
    const cfg = load(UPSTREAM + `[[routes]]\nmatch = "~* \\\\.(gif|jpg)$"\nupstream = "php"\n[[routes]]\nmatch = "~ ^/api/"\nupstream = "php"\n`);
    expect(cfg.routes[0]).toMatchObject({ kind: "regex-i", pattern: "\\.(gif|jpg)$" });
    expect(cfg.routes[0].regex).toBeInstanceOf(RegExp);
    expect(cfg.routes[0].regex!.flags).toBe("i");
    expect(cfg.routes[0].regex!.test("/A.JPG")).toBe(true);
    expect(cfg.routes[1].regex!.flags).toBe("");
    expect(cfg.routes[1].index_in_file).toBe(1);
  });

  it("reads exact and ^~ locations", () => {
    const cfg = load(UPSTREAM + `[[routes]]\nmatch = "= /health"\nupstream = "php"\n[[routes]]\nmatch = "^~ /static/"\nupstream = "php"\n`);
    expect(cfg.routes.map((r) => [r.kind, r.pattern])).toEqual([
      ["exact", "/health"],
      ["prefix-stop", "/static/"],
    ]);
    expect(cfg.routes[0].regex).toBeUndefined();
  });

  it("allows an exact and a prefix location on the same path, as nginx does", () => {
    const cfg = load(UPSTREAM + ROUTE + `[[routes]]\nmatch = "= /"\nupstream = "php"\n`);
    expect(cfg.routes).toHaveLength(2);
  });

  it("trims a trailing slash from root, so SCRIPT_FILENAME never has //", () => {
    expect(load(UPSTREAM + ROUTE + `root = "/srv/www/"\n`).routes[0].root).toBe("/srv/www");
    expect(load(UPSTREAM + ROUTE + `root = "/"\n`).routes[0].root).toBe("/");
  });

  it("reads index, split and params", () => {
    const r = load(
      UPSTREAM + ROUTE + `root = "/srv/www"\nindex = "app.php"\nsplit = [".php", ".phtml", ".php"]\nparams = { APP_ENV = "prod", __proto__ = "x" }\n`,
    ).routes[0];
    expect(r.index).toBe("app.php");
    expect(r.split).toEqual([".php", ".phtml"]);
    expect(Object.entries(r.params)).toEqual([
      ["APP_ENV", "prod"],
      ["__proto__", "x"],
    ]);
  });

  it("reads a front-controller script", () => {
    const r = load(UPSTREAM + ROUTE + `root = "/srv/www"\nscript = "/index.php"\n`).routes[0];
    expect(r.script).toBe("/index.php");
  });
});

describe("examples", () => {
  const example = (name: string) => readFileSync(new URL(`../../examples/${name}`, import.meta.url), "utf8");

  it("examples/minimal.toml loads: one app-mode route", () => {
    const cfg = loadConfig(example("minimal.toml"), "examples/minimal.toml");
    expect(Object.keys(cfg.upstreams)).toEqual(["app"]);
    expect(cfg.routes).toHaveLength(1);
    expect(splitScript(cfg.routes[0], "/any/path")).toEqual({
      scriptName: "",
      pathInfo: "/any/path",
      scriptFilename: "",
      documentRoot: "",
    });
  });

  it("examples/nginx-front.toml loads and means what the nginx block beside it in the README means", () => {
    const cfg = loadConfig(example("nginx-front.toml"), "examples/nginx-front.toml");
    expect(cfg.gateway.maxBody).toBe(20 * 1024 * 1024);
    const php = cfg.upstreams.php;
    expect(php.servers.map((s) => [s.host, s.backup, s.maxFails, s.failTimeoutMs])).toEqual([
      ["10.0.0.11", false, 2, 15_000],
      ["10.0.0.12", false, 2, 15_000],
      ["10.0.0.13", true, 2, 15_000],
    ]);
    expect(php.balance.healthCheck).toMatchObject({ intervalMs: 5000, path: "/ping" });
    const [admin, scripts, front] = cfg.routes;
    expect(["192.0.2.77", "2001:db8::1", "198.51.100.1", undefined].map((a) => accessAllows(admin.access, a))).toEqual([true, true, false, false]);
    expect(["203.0.113.7", "203.0.113.8"].map((a) => accessAllows(front.access, a))).toEqual([false, true]);
    expect(scripts.limitReq).toMatchObject({ zone: "perip", rate: 10_000, burst: 20, nodelay: true });
    expect(front.limitReq?.zone).toBe("perip");
    expect(scripts.limitConn).toMatchObject({ zone: "addr", max: 10 });
  });

  it("examples/php-fpm.toml loads and routes like nginx's WordPress server block", () => {
    const cfg = loadConfig(example("php-fpm.toml"), "examples/php-fpm.toml");
    expect(cfg.upstreams.php.servers).toEqual([{ host: "127.0.0.1", port: 9000, ...DEFAULT_SERVER }]);
    const run = (path: string) => {
      const route = matchRoute(cfg.routes, path);
      if (!route) return null;
      const s = splitScript(route, path);
      return "error" in s ? s.error : [s.scriptFilename, s.pathInfo];
    };
    expect(run("/wp-login.php")).toEqual(["/var/www/wordpress/wp-login.php", ""]);
    expect(run("/wp-admin/post.php")).toEqual(["/var/www/wordpress/wp-admin/post.php", ""]);
    expect(run("/index.php/2024/hello")).toEqual(["/var/www/wordpress/index.php", "/2024/hello"]);
    expect(run("/wp-admin/")).toEqual(["/var/www/wordpress/wp-admin/index.php", ""]);
    expect(run("/2024/05/hello-world/")).toEqual(["/var/www/wordpress/index.php", ""]);
    expect(run("/")).toEqual(["/var/www/wordpress/index.php", ""]);
    expect(run("/wp-content/uploads/x.jpg/y.php")).toEqual(["/var/www/wordpress/wp-content/uploads/x.jpg/y.php", ""]);
  });
});
