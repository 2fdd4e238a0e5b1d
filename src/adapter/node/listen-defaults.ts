// Where the local commands listen unless told otherwise (no Miniflare import, so `serve` and
// `--help` do not load it).
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8787;
