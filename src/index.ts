// Public exports: what an embedder of edgepass (another host, a custom Worker) builds on.
export { createGateway, SOFTWARE, type Gateway, type GatewayDeps, type RequestInfo } from "./core/gateway.js";
export { GatewayError, Codes } from "./core/errors.js";
export type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse, RequestBody } from "./core/exchange.js";
export type { Dial, Duplex, DialOptions } from "./core/transport.js";
export type { Logger, LogSink, Level } from "./core/log.js";
export { createCodec, loadCodec, type WasmSource } from "./codec/index.js";
export * from "./codec/types.js";
export { loadConfig, ConfigError } from "./config/load.js";
export type * from "./config/types.js";
