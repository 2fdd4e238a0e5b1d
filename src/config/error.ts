// The one error loadConfig() throws. Its message alone must let someone fix the file:
//   edgepass.toml:7: routes[1].upstream: expected the name of an upstream defined under
//   [upstreams] ("php"), got "ph"

export type KeyPath = ReadonlyArray<string | number>;

export interface ConfigErrorInit {
  source: string;
  line?: number;
  /** Key path as written in messages: "routes[1].upstream"; "" for whole-file problems. */
  key: string;
  /** What would have been accepted. */
  expected: string;
  /** What was found, already rendered (see describeValue). */
  got?: string;
  /** A short fix, e.g. 'did you mean "connect_timeout"?'. */
  hint?: string;
  /** Said before "expected …" when the value is not simply of the wrong shape. */
  problem?: string;
  /** Extra lines after the one-line summary (e.g. the TOML parser's code excerpt). */
  detail?: string;
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  readonly source: string;
  readonly line?: number;
  readonly key: string;
  readonly expected: string;
  readonly got?: string;
  readonly hint?: string;

  constructor(init: ConfigErrorInit) {
    super(formatConfigError(init));
    this.name = "ConfigError";
    this.source = init.source;
    if (init.line !== undefined) this.line = init.line;
    this.key = init.key;
    this.expected = init.expected;
    if (init.got !== undefined) this.got = init.got;
    if (init.hint !== undefined) this.hint = init.hint;
  }
}

function formatConfigError(e: ConfigErrorInit): string {
  let s = e.line !== undefined ? `${e.source}:${e.line}: ` : `${e.source}: `;
  if (e.key) s += `${e.key}: `;
  if (e.problem) s += `${e.problem}; `;
  s += `expected ${e.expected}`;
  if (e.got !== undefined) s += `, got ${e.got}`;
  if (e.hint) s += ` (${e.hint})`;
  if (e.detail) s += `\n${e.detail}`;
  return s;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** ["routes", 1, "upstream"] → "routes[1].upstream"; keys that are not bare are quoted. */
export function formatKeyPath(path: KeyPath): string {
  let s = "";
  for (const part of path) {
    if (typeof part === "number") s += `[${part}]`;
    else s += (s ? "." : "") + (BARE_KEY.test(part) ? part : JSON.stringify(part));
  }
  return s;
}

/** A value as it reads in a message: strings quoted, tables and arrays by kind. */
export function describeValue(v: unknown): string {
  if (typeof v === "string") {
    const shown = v.length > 60 ? v.slice(0, 57) + "..." : v;
    return JSON.stringify(shown);
  }
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the float ${v}`;
  if (typeof v === "bigint") return `the integer ${v}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (v instanceof Date) return "a date-time";
  if (Array.isArray(v)) return v.length === 0 ? "an empty array" : "an array";
  if (v !== null && typeof v === "object") {
    // smol-toml returns its own date-time subclass for local dates and times.
    if (typeof (v as { toISOString?: unknown }).toISOString === "function") return "a date-time";
    return "a table";
  }
  return String(v);
}
