#!/usr/bin/env node
// The `edgepass` command. The CLI is TypeScript run as-is: tsx's ESM hooks are registered
// first, then the entry module runs.
import { register } from "tsx/esm/api";

register();
await import(new URL("../src/adapter/node/cli/main.ts", import.meta.url).href);
