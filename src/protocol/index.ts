// Protocol name (config `protocol = "..."`) → its Exchange.
import type { Protocol } from "../config/types.js";
import type { Exchange } from "../core/exchange.js";
import { fastcgiExchange } from "./fastcgi/exchange.js";

export const exchanges: Record<Protocol, Exchange> = {
  fastcgi: fastcgiExchange,
};
