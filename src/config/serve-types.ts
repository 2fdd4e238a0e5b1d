// [serve]'s settings, as the loader checked them (config/serve.ts).
import type { Cidr } from "../edge/cidr.js";

/** [serve]: how `edgepass serve` treats client connections (nginx's client_* directives).
 *  The Worker ignores it: there the platform terminates HTTP. */
export interface ServeSettings {
  /** header_timeout, default "60s" (client_header_timeout): a request head must arrive whole
   *  within this, counted from its first byte; else 408 and the connection closes. */
  headerTimeoutMs: number;
  /** body_timeout, default "60s" (client_body_timeout): the longest wait between two reads of
   *  a request body. */
  bodyTimeoutMs: number;
  /** send_timeout, default "60s": the longest a write to the client may wait (a slow reader). */
  sendTimeoutMs: number;
  /** keepalive_timeout, default "75s": an idle kept-alive connection is closed after this. */
  keepaliveTimeoutMs: number;
  /** max_header, default "32k" (large_client_header_buffers): the largest request head; past
   *  it, 431. */
  maxHeader: number;
  /** drain_timeout, default "10s": on SIGTERM, how long requests in flight may finish. */
  drainTimeoutMs: number;
  /** real_ip_from, default []: proxies whose X-Forwarded-For is believed (nginx's
   *  set_real_ip_from with real_ip_recursive on). */
  realIpFrom: Cidr[];
  /** tls = { cert, key }, or a list of them: PEM files (paths resolved against the config
   *  file's folder); the listener speaks TLS. With several, a client gets the certificate
   *  whose names match the one it asks for (SNI); the first is for any other. Absent: plain
   *  HTTP. */
  tls?: Array<{ cert: string; key: string }>;
  /** tls_protocols (nginx's ssl_protocols), default both: the TLS versions offered, a
   *  contiguous range of TLSv1.2 and TLSv1.3. */
  tlsProtocols?: { min: TlsVersion; max: TlsVersion };
  /** tls_ciphers (nginx's ssl_ciphers): an OpenSSL cipher list; absent: Node's default. */
  tlsCiphers?: string;
  /** client_ca, verify_client, client_crl (nginx's ssl_client_certificate, ssl_verify_client,
   *  ssl_crl): clients are asked for a certificate issued by a CA in `ca`; "on" refuses a
   *  request without one (400), "optional" lets it through (routes may require one); a
   *  certificate that fails verification (or is listed in `crl`) is 400 either way. */
  clientCerts?: { ca: string; verify: "on" | "optional"; crl?: string };
  /** http2, default true: with tls, a client that asks for HTTP/2 by ALPN gets it (h2);
   *  false offers HTTP/1.1 only. */
  http2: boolean;
  /** http2_window, default "64k" (HTTP/2's own; nginx's http2_body_preread_size): each HTTP/2
   *  stream's receive window, so what one upload moves a round trip. Node cannot widen one
   *  stream's window alone, so a connection may hold this much for each of its streams whose
   *  body is not read yet (a request waiting for an origin connection): up to 128 times it. */
  http2Window: number;
  /** h2c, default false: on a plain listener, a client that opens with HTTP/2's preface (prior
   *  knowledge: a proxy or load balancer in front that speaks cleartext HTTP/2) gets HTTP/2;
   *  HTTP/1.1 clients are served as before. */
  h2c: boolean;
  /** compress, default ["br", "gzip"]: the codings responses are compressed with, in order of
   *  preference when the client's q-values tie; [] (or false) turns compression off. */
  compress: Array<"br" | "gzip">;
  /** compress_types: media types compressed ("text/*", "application/*+json" patterns). */
  compressTypes: string[];
  /** compress_min_length, default 512: a body declared shorter is sent as it is. */
  compressMinLength: number;
  /** body_temp (nginx's client_body_temp_path): the directory where a request body held to
   *  learn its length is written past its first 64 KiB. Absent: $TMPDIR, else /var/tmp,
   *  else the system's temporary directory. */
  bodyTemp?: string;
  /** response_temp (nginx's proxy_temp_path): the directory where an origin's answer read
   *  ahead of a slow client is written past its first 64 KiB (RouteConfig.buffering). Absent:
   *  as body_temp's default. */
  responseTemp?: string;
  /** metrics_listen: "host:port" of a separate listener answering GET /metrics (Prometheus
   *  text format). Absent: no metrics listener. */
  metricsListen?: { host: string; port: number };
  /** access_log: the request lines' file instead of stdout (adapter/node/access-file.ts). */
  accessLog?: string;
  /** proxy_protocol: a PROXY header opens every connection (adapter/node/proxy-protocol.ts). */
  proxyProtocol?: boolean;
}

/** The TLS versions `edgepass serve` offers; older ones are refused at load. */
export type TlsVersion = "TLSv1.2" | "TLSv1.3";
