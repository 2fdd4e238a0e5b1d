// The module hooks import-log.mjs registers (they run on Node's loader thread).
import { appendFileSync } from "node:fs";
import { isBuiltin } from "node:module";

let log;

export function initialize(data) {
  log = data.log;
}

export async function resolve(specifier, context, next) {
  const bare = !/^(\.|\/|[a-z]+:)/.test(specifier);
  if (bare && !isBuiltin(specifier) && log) appendFileSync(log, `${specifier}\n`);
  return next(specifier, context);
}
