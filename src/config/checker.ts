// Shared plumbing for the validators: raising a ConfigError that carries the file, the line
// (found lazily, only when something is wrong), the key path and what was expected.
import { ConfigError, describeValue, formatKeyPath, type KeyPath } from "./error.js";
import { lineFinder, type LineFinder } from "./locate.js";
import { didYouMean } from "./suggest.js";

export type Table = Record<string, unknown>;

export interface FailOptions {
  /** The offending value; rendered with describeValue(). */
  got?: unknown;
  hint?: string;
  problem?: string;
}

export class Checker {
  private readonly findLine: LineFinder;

  constructor(
    readonly text: string,
    readonly source: string,
  ) {
    this.findLine = lineFinder(text);
  }

  fail(path: KeyPath, expected: string, opts: FailOptions = {}): never {
    throw new ConfigError({
      source: this.source,
      line: path.length > 0 ? this.findLine(path) : undefined,
      key: formatKeyPath(path),
      expected,
      got: "got" in opts ? describeValue(opts.got) : undefined,
      hint: opts.hint,
      problem: opts.problem,
    });
  }

  /** The value at `path` as a table, or a ConfigError. */
  table(path: KeyPath, v: unknown, expected = "a table"): Table {
    if (!isTable(v)) this.fail(path, expected, { got: v });
    return v;
  }

  /** Refuses keys outside `allowed`; `aliases` maps words from other servers' configs
   *  (nginx directive names, mostly) to ours for a better hint than spelling distance. */
  onlyKeys(path: KeyPath, t: Table, allowed: readonly string[], aliases: Record<string, string> = {}): void {
    for (const key of Object.keys(t)) {
      if (allowed.includes(key)) continue;
      const alias = Object.hasOwn(aliases, key) ? aliases[key] : undefined;
      this.fail([...path, key], `one of ${allowed.join(", ")}`, {
        problem: "unknown key",
        hint: alias ? `edgepass calls this ${JSON.stringify(alias)}` : didYouMean(key, allowed),
      });
    }
  }

  string(path: KeyPath, v: unknown, expected = "a string"): string {
    if (typeof v !== "string") this.fail(path, expected, { got: v });
    return v;
  }
}

export function isTable(v: unknown): v is Table {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
}

/** Characters no name or path in the config may contain: C0 controls and DEL. */
export const CONTROL_RE = /[\u0000-\u001f\u007f]/;
