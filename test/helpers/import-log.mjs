// Loaded with `node --import`: every package the process imports (a bare specifier that is not
// a Node builtin) is appended as a line to the file EDGEPASS_IMPORT_LOG names.
import { register } from "node:module";

register(new URL("./import-log-hooks.mjs", import.meta.url), { data: { log: process.env.EDGEPASS_IMPORT_LOG } });
