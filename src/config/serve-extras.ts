// [serve] keys for what nginx does in front of the app on a plain server: response compression
// (nginx's gzip and brotli modules, Caddy's `encode`) and the Prometheus metrics listener.
import type { Checker, Table } from "./checker.js";
import type { ServeSettings } from "./types.js";
import { parseSize, SIZE_EXPECTED } from "./units.js";

export const COMPRESS_KEYS = ["compress", "compress_types", "compress_min_length", "metrics_listen"] as const;
export const COMPRESS_ALIASES: Record<string, string> = {
  gzip: "compress",
  brotli: "compress",
  encode: "compress",
  gzip_types: "compress_types",
  brotli_types: "compress_types",
  gzip_min_length: "compress_min_length",
  brotli_min_length: "compress_min_length",
  metrics: "metrics_listen",
  metrics_path: "metrics_listen",
};

const CODINGS = ["br", "gzip"] as const;

/** Text-like types, where compression pays: nginx's gzip_types idea with Cloudflare's wider
 *  default list. Not text/event-stream: a compressor holds back bytes a stream must flush. */
export const DEFAULT_COMPRESS_TYPES = [
  "text/*",
  "application/json",
  "application/*+json",
  "application/javascript",
  "application/x-javascript",
  "application/ecmascript",
  "application/xml",
  "application/*+xml",
  "application/wasm",
  "application/x-font-ttf",
  "application/vnd.ms-fontobject",
  "font/ttf",
  "font/otf",
  "image/svg+xml",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/bmp",
];

export const COMPRESS_DEFAULTS = { compress: [...CODINGS], compressTypes: DEFAULT_COMPRESS_TYPES, compressMinLength: 512 };

const TYPE_RE = /^[a-z0-9!#$&^_.+*-]+\/[a-z0-9!#$&^_.+*-]+$/;

export function checkCompress(c: Checker, at: string[], t: Table, s: ServeSettings): void {
  const v = t.compress;
  if (v === false) s.compress = [];
  else if (v !== undefined && v !== true) {
    const expected = 'true, false, or a list of codings in order of preference: ["br", "gzip"]';
    if (!Array.isArray(v)) c.fail([...at, "compress"], expected, { got: v });
    const list = v.map((x, i) => {
      const name = c.string([...at, "compress", i], x, expected);
      if (!(CODINGS as readonly string[]).includes(name)) c.fail([...at, "compress", i], `one of ${CODINGS.join(", ")}`, { got: name });
      return name as "br" | "gzip";
    });
    if (new Set(list).size !== list.length) c.fail([...at, "compress"], `${expected}, each once`, { got: v });
    s.compress = list;
  }
  if (t.compress_types !== undefined) {
    const expected = 'a list of media types, e.g. ["text/*", "application/json", "application/*+xml"]';
    if (!Array.isArray(t.compress_types)) c.fail([...at, "compress_types"], expected, { got: t.compress_types });
    s.compressTypes = t.compress_types.map((x, i) => {
      const type = c.string([...at, "compress_types", i], x, expected).trim().toLowerCase();
      if (!TYPE_RE.test(type)) c.fail([...at, "compress_types", i], expected, { got: x });
      return type;
    });
  }
  if (t.compress_min_length !== undefined) {
    const r = parseSize(t.compress_min_length);
    if (!r.ok) c.fail([...at, "compress_min_length"], SIZE_EXPECTED, { got: t.compress_min_length, problem: r.reason });
    s.compressMinLength = r.value;
  }
  if (t.metrics_listen !== undefined) {
    const expected = 'a loopback or private "host:port" for the metrics listener, e.g. "127.0.0.1:9145"';
    const raw = c.string([...at, "metrics_listen"], t.metrics_listen, expected);
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(raw.trim());
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) c.fail([...at, "metrics_listen"], expected, { got: raw });
    s.metricsListen = { host: m[1] ?? m[2], port };
  }
}
