// Protocol name (config `protocol = "..."`) → its Exchange. All four share one interface and
// one conformance suite (test/conformance/run.ts, on every host).
import type { Protocol } from "../config/types.js";
import type { Exchange } from "../core/exchange.js";
import { fastcgiExchange } from "./fastcgi/exchange.js";
import { httpExchange } from "./http/exchange.js";
import { scgiExchange } from "./scgi/exchange.js";
import { uwsgiExchange } from "./uwsgi/exchange.js";

export const exchanges: Record<Protocol, Exchange> = {
  fastcgi: fastcgiExchange,
  scgi: scgiExchange,
  uwsgi: uwsgiExchange,
  http: httpExchange,
};
