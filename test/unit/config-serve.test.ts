// The config as `edgepass serve` loads it ("server" host): Unix-socket upstreams, one pool per
// upstream with no Cloudflare per-object cap, and the [serve] table of client limits. The same
// texts loaded for the edge keep the edge's rules.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";

const ROUTE = `[[routes]]\nmatch = "/"\nupstream = "php"\n`;
const up = (servers: string, extra = "") => `[upstreams.php]\nprotocol = "fastcgi"\nservers = [${servers}]\n${extra}` + ROUTE;


describe("servers on the plain server host", () => {
  it('"unix:/path" is a Unix socket there', () => {
    const cfg = loadConfig(up('"unix:/run/php/php-fpm.sock", "127.0.0.1:9000"'), "s.toml", undefined, "server");
    const defaults = { weight: 1, backup: false, maxFails: 1, failTimeoutMs: 10_000 };
    expect(cfg.upstreams.php.servers).toEqual([
      { host: "", port: 0, path: "/run/php/php-fpm.sock", ...defaults },
      { host: "127.0.0.1", port: 9000, ...defaults },
    ]);
  });

  it('a Unix socket takes server options too: "unix:/path weight=2 backup"', () => {
    const cfg = loadConfig(up('"unix:/run/php/a.sock weight=2", "unix:/run/php/b.sock backup"'), "s.toml", undefined, "server");
    expect(cfg.upstreams.php.servers).toMatchObject([
      { path: "/run/php/a.sock", weight: 2, backup: false },
      { path: "/run/php/b.sock", weight: 1, backup: true },
    ]);
  });

  it("and refused on the edge, saying serve can use it", () => {
    expect(messageOf(() => loadConfig(up('"unix:/run/php/php-fpm.sock"'), "s.toml"))).toContain("Unix sockets cannot be reached from the edge (edgepass serve can use them)");
  });

  it.each([
    ['"/run/php/php-fpm.sock"', 'write "unix:/run/php/php-fpm.sock"'],
    ['"unix:run/php.sock"', "an absolute socket path"],
    [`"unix:/${"a".repeat(120)}"`, "at most 107 bytes"],
  ])("%s is refused with what to write", (addr, says) => {
    expect(messageOf(() => loadConfig(up(addr), "s.toml", undefined, "server"))).toContain(says);
  });
});

describe("pools on the plain server host", () => {
  it("one pool per upstream: shards is 1 and the 6-connection cap of a Durable Object does not apply", () => {
    const text = up('"127.0.0.1:9000", "127.0.0.1:9001"', "max_connections = 32\nshards = 2\n");
    expect(loadConfig(text, "s.toml", undefined, "server").upstreams.php.pool).toMatchObject({ shards: 1, maxConnections: 32 });
    expect(messageOf(() => loadConfig(text, "s.toml"))).toContain("at most 6 connections per pool object");
  });
});

describe("[serve]", () => {
  it("defaults a new user gets", () => {
    expect(loadConfig(up('"127.0.0.1:9000"'), "s.toml", undefined, "server").serve).toEqual({
      headerTimeoutMs: 60_000,
      bodyTimeoutMs: 60_000,
      sendTimeoutMs: 60_000,
      keepaliveTimeoutMs: 75_000,
      maxHeader: 32 * 1024,
      drainTimeoutMs: 10_000,
      realIpFrom: [],
      http2: true,
      h2c: false,
      http2Window: 65_535,
      compress: ["br", "gzip"],
      compressTypes: expect.arrayContaining(["text/*", "application/json", "application/*+xml", "image/svg+xml"]),
      compressMinLength: 512,
    });
  });

  it("every key, in the usual units", () => {
    const t = `[serve]\nheader_timeout = "5s"\nbody_timeout = "10s"\nsend_timeout = "1m"\nkeepalive_timeout = 30\nmax_header = "8k"\ndrain_timeout = "250ms"\nhttp2 = false\nh2c = true\nhttp2_window = "1m"\nreal_ip_from = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]\n` + up('"127.0.0.1:9000"');
    expect(loadConfig(t, "s.toml", undefined, "server").serve).toEqual({
      headerTimeoutMs: 5_000,
      bodyTimeoutMs: 10_000,
      sendTimeoutMs: 60_000,
      keepaliveTimeoutMs: 30_000,
      maxHeader: 8 * 1024,
      drainTimeoutMs: 250,
      http2: false,
      h2c: true,
      http2Window: 1024 * 1024,
      realIpFrom: [
        expect.objectContaining({ text: "127.0.0.1", bits: 128 }),
        expect.objectContaining({ text: "10.0.0.0/8", bits: 104 }),
        expect.objectContaining({ text: "2001:db8::/32", bits: 32 }),
      ],
      compress: ["br", "gzip"],
      compressTypes: expect.any(Array),
      compressMinLength: 512,
    });
  });

  it("compress: a list in order of preference, true for the default, false or [] for none", () => {
    const serve = (lines: string) => loadConfig(`[serve]\n${lines}\n` + up('"127.0.0.1:9000"'), "s.toml", undefined, "server").serve;
    expect(serve('compress = ["gzip"]\ncompress_types = ["text/html", "Application/*+JSON"]\ncompress_min_length = "1k"')).toMatchObject({
      compress: ["gzip"],
      compressTypes: ["text/html", "application/*+json"],
      compressMinLength: 1024,
    });
    expect(serve("compress = true").compress).toEqual(["br", "gzip"]);
    expect(serve("compress = false").compress).toEqual([]);
    expect(serve("compress = []").compress).toEqual([]);
    expect(serve('metrics_listen = "127.0.0.1:9145"').metricsListen).toEqual({ host: "127.0.0.1", port: 9145 });
    expect(serve('metrics_listen = "[::1]:9145"').metricsListen).toEqual({ host: "::1", port: 9145 });
  });

  it.each([
    ['compress = ["zstd"]', "one of br, gzip"],
    ['compress = ["gzip", "gzip"]', "each once"],
    ['compress = "gzip"', 'a list of codings in order of preference'],
    ['gzip = true', 'edgepass calls this "compress"'],
    ['gzip_types = ["text/css"]', "compress_types"],
    ['compress_types = ["html"]', "a list of media types"],
    ['compress_min_length = "big"', "serve.compress_min_length"],
    ['metrics_listen = "9145"', '"127.0.0.1:9145"'],
    ['metrics_listen = "127.0.0.1:0"', '"127.0.0.1:9145"'],
    ['metrics = "/metrics"', "metrics_listen"],
  ])("%s is refused, naming %s", (line, says) => {
    expect(messageOf(() => loadConfig(`[serve]\n${line}\n` + up('"127.0.0.1:9000"'), "s.toml", undefined, "server"))).toContain(says);
  });

  it.each([
    ['client_header_timeout = "5s"', "header_timeout"],
    ['max_header = "2m"', "from 256 bytes to 1m"],
    ['header_timeout = "soon"', "serve.header_timeout"],
    ['real_ip_from = ["10.0.0.1/8"]', "the network is 10.0.0.0/8"],
    ['real_ip_from = "10.0.0.0/8"', 'write ["10.0.0.0/8"]'],
    ['set_real_ip_from = ["10.0.0.0/8"]', 'edgepass calls this "real_ip_from"'],
    ['http2 = "on"', "serve.http2"],
    ['h2c = "yes"', "serve.h2c"],
    ['http2_window = "16k"', "from 64k to 16m"],
    ['http2_window = "1g"', "from 64k to 16m"],
    ['http2_body_preread_size = "1m"', 'edgepass calls this "http2_window"'],
  ])("%s is refused, naming %s", (line, says) => {
    expect(messageOf(() => loadConfig(`[serve]\n${line}\n` + up('"127.0.0.1:9000"'), "s.toml", undefined, "server"))).toContain(says);
  });

  it("tls paths resolve against the config file's folder; absolute ones stay", () => {
    const t = (cert: string) => `[serve]\ntls = { cert = "${cert}", key = "tls/key.pem" }\n` + up('"127.0.0.1:9000"');
    expect(loadConfig(t("cert.pem"), "s.toml", "/srv/site", "server").serve.tls).toEqual([{ cert: "/srv/site/cert.pem", key: "/srv/site/tls/key.pem" }]);
    expect(loadConfig(t("/etc/ssl/site.pem"), "s.toml", "/srv/site/", "server").serve.tls).toEqual([{ cert: "/etc/ssl/site.pem", key: "/srv/site/tls/key.pem" }]);
  });

  it("body_temp resolves against the config file's folder; nginx's client_body_temp_path is a hint; absent, it is unset", () => {
    const t = (line: string) => `[serve]\n${line}\n` + up('"127.0.0.1:9000"');
    expect(loadConfig(t('body_temp = "tmp/body"'), "s.toml", "/srv/site", "server").serve.bodyTemp).toBe("/srv/site/tmp/body");
    expect(loadConfig(t('body_temp = "/var/tmp"'), "s.toml", "/srv/site", "server").serve.bodyTemp).toBe("/var/tmp");
    expect(loadConfig(up('"127.0.0.1:9000"'), "s.toml", "/srv/site", "server").serve.bodyTemp).toBeUndefined();
    expect(messageOf(() => loadConfig(t('client_body_temp_path = "/var/tmp"'), "s.toml", undefined, "server"))).toContain('edgepass calls this "body_temp"');
    expect(messageOf(() => loadConfig(t('body_temp = ""'), "s.toml", undefined, "server"))).toContain("a directory path");
    expect(messageOf(() => loadConfig(t("body_temp = 1"), "s.toml", undefined, "server"))).toContain("serve.body_temp");
  });

  it("tls takes a list of pairs, one per site, in order (the first for a client that names none)", () => {
    const t = `[serve]\ntls = [{ cert = "a.pem", key = "a.key" }, { cert = "/etc/b.pem", key = "b.key" }]\n` + up('"127.0.0.1:9000"');
    expect(loadConfig(t, "s.toml", "/srv", "server").serve.tls).toEqual([
      { cert: "/srv/a.pem", key: "/srv/a.key" },
      { cert: "/etc/b.pem", key: "/srv/b.key" },
    ]);
  });

  it.each([
    ['tls = { cert = "c.pem" }', "serve.tls.key"],
    ['tls = { cert = "c.pem", key = "" }', "a PEM file path"],
    ['tls = "c.pem"', 'tls = { cert = "cert.pem", key = "key.pem" }'],
    ['tls = { ssl_certificate = "c.pem", key = "k.pem" }', '"cert"'],
    ["tls = []", "or a list of them"],
    ['tls = { cert = "c.pem", key = "k.pem" }\nh2c = true', "h2c is HTTP/2 on a plain listener"],
    ['tls = [{ cert = "a.pem", key = "a.key" }, { cert = "b.pem" }]', "serve.tls[1].key"],
  ])("%s is refused, naming %s", (line, says) => {
    expect(messageOf(() => loadConfig(`[serve]\n${line}\n` + up('"127.0.0.1:9000"'), "s.toml", "/srv", "server"))).toContain(says);
  });
});

describe("[serve] client certificates, versions and ciphers", () => {
  const TLS = 'tls = { cert = "c.pem", key = "k.pem" }';
  const serve = (lines: string) => loadConfig(`[serve]\n${lines}\n` + up('"127.0.0.1:9000"'), "s.toml", "/srv", "server").serve;

  it('client_ca alone asks for a certificate on every request ("on"); its path and client_crl\'s resolve beside the config', () => {
    expect(serve(`${TLS}\nclient_ca = "ca.pem"`).clientCerts).toEqual({ ca: "/srv/ca.pem", verify: "on" });
    expect(serve(`${TLS}\nclient_ca = "/etc/ca.pem"\nverify_client = "optional"\nclient_crl = "crl.pem"`).clientCerts).toEqual({ ca: "/etc/ca.pem", verify: "optional", crl: "/srv/crl.pem" });
  });

  it('tls_protocols takes a list or nginx\'s spaced words, and keeps the range they cover', () => {
    expect(serve(`${TLS}\ntls_protocols = ["TLSv1.3"]`).tlsProtocols).toEqual({ min: "TLSv1.3", max: "TLSv1.3" });
    expect(serve(`${TLS}\ntls_protocols = "TLSv1.3 TLSv1.2"`).tlsProtocols).toEqual({ min: "TLSv1.2", max: "TLSv1.3" });
    expect(serve(`${TLS}\ntls_ciphers = " ECDHE+AESGCM "`).tlsCiphers).toBe("ECDHE+AESGCM");
    expect(serve(TLS)).not.toHaveProperty("tlsProtocols");
  });

  it.each([
    ['client_ca = "ca.pem"', "tls as well"],
    ['tls_protocols = ["TLSv1.3"]', "tls as well"],
    [`${TLS}\nverify_client = "on"`, "client_ca as well"],
    [`${TLS}\nclient_crl = "crl.pem"`, "client_ca as well"],
    [`${TLS}\nclient_ca = "ca.pem"\nverify_client = "optional_no_ca"`, "there is no optional_no_ca"],
    [`${TLS}\nclient_ca = "ca.pem"\nverify_client = "off"`, "remove both"],
    [`${TLS}\ntls_protocols = ["TLSv1.1", "TLSv1.2"]`, "TLSv1.1 is broken"],
    [`${TLS}\ntls_protocols = "SSLv3"`, "only TLSv1.2 and TLSv1.3"],
    [`${TLS}\ntls_protocols = []`, "a list of TLS versions"],
    [`${TLS}\ntls_ciphers = ""`, "an OpenSSL cipher list"],
    [`${TLS}\nssl_verify_client = "on"`, 'edgepass calls this "verify_client"'],
    [`${TLS}\nssl_protocols = "TLSv1.3"`, 'edgepass calls this "tls_protocols"'],
  ])("%s is refused, saying %s", (lines, says) => {
    expect(messageOf(() => serve(lines))).toContain(says);
  });
});

describe("[assets] on the plain server host", () => {
  it("r2 is refused there (a Worker binding), saying the directory serves new files itself", () => {
    const t = `[assets]\ndirectory = "public"\nr2 = "UPLOADS"\n` + up('"127.0.0.1:9000"');
    expect(loadConfig(t, "s.toml", "/srv", "edge").assets?.r2).toBe("UPLOADS");
    expect(messageOf(() => loadConfig(t, "s.toml", "/srv", "server"))).toContain("served from the directory itself");
  });
});

describe("[listen]", () => {
  it("is refused, pointing at [serve] (where tls and the listener's settings live)", () => {
    expect(messageOf(() => loadConfig(`[listen]\ntls = { cert = "c.pem", key = "k.pem" }\n` + up('"127.0.0.1:9000"'), "s.toml", "/srv", "server"))).toContain('edgepass calls this "serve"');
  });
});
