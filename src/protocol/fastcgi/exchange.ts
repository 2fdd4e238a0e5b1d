// FastCGI responder exchange (FastCGI 1.0 spec): BEGIN_REQUEST, PARAMS, STDIN out;
// STDOUT, STDERR, END_REQUEST in. One connection per request here (direct mode); the pool of
// a later issue reuses this framing over kept connections.
import { FcgiRole, FcgiType } from "../../codec/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse } from "../../core/exchange.js";
import { bodyStream } from "../body-stream.js";
import { connectUpstream } from "../connect.js";
import { concatBytes } from "../../core/bytes.js";
import { UpstreamIO } from "../../core/upstream-io.js";
import { paramsError } from "../params-error.js";
import { sendBody } from "../send-body.js";
import { clientHead, FcgiResponse } from "./response.js";

const REQUEST_ID = 1;
const EMPTY = new Uint8Array(0);

export const fastcgiExchange: Exchange = {
  needsLength: () => true,
  async forward(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
    const { codec, settings, upstream } = ctx;
    let params: Uint8Array;
    try {
      params = codec.buildCgiParams({
        owned: req.cgi,
        headers: req.headers,
        underscoresInHeaders: settings.underscoresInHeaders,
        format: "fastcgi",
      });
    } catch (e) {
      throw paramsError(e);
    }

    const { conn, origin } = await connectUpstream(ctx, req.log, req.record);
    const io = new UpstreamIO(conn, origin, upstream.readTimeoutMs, upstream.sendTimeoutMs);
    const decoder = codec.fcgiDecoder("client");
    decoder.track(REQUEST_ID);
    const res = new FcgiResponse(codec, decoder, REQUEST_ID, settings.responseHeadLimit, req.log, origin);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      // Close first: php-fpm drains the connection until we close it, so a worker stays
      // pinned to this request until then.
      void io.close();
      decoder.free();
    };

    // The body is sent while the response is read: an app may answer (an error, a redirect)
    // before it has read the whole upload, and must not deadlock against us.
    let sendError: unknown = null;
    // Direct mode: no FCGI_KEEP_CONN, so the app closes the connection after END_REQUEST.
    const preamble = concatBytes([
      codec.fcgiBeginRequest(REQUEST_ID, req.role ?? FcgiRole.RESPONDER, 0),
      codec.fcgiParams(REQUEST_ID, params),
      req.body ? EMPTY : codec.fcgiStream(FcgiType.STDIN, REQUEST_ID, EMPTY),
    ]);
    const sending = (async () => {
      await io.write(preamble);
      if (req.body) await sendBody(req.body, io, (d) => codec.fcgiStream(FcgiType.STDIN, REQUEST_ID, d));
    })().catch((e) => {
      sendError = e;
      if (!released) req.log.log("warn", "upstream_send_failed", { origin, error: e instanceof GatewayError ? e.code : String(e) });
      release();
    });

    const step = async () => {
      const chunk = await io.read(decoder.contentLeft);
      if (chunk === null) {
        if (sendError instanceof GatewayError) throw sendError;
        throw new GatewayError(
          Codes.UPSTREAM_CLOSED_EARLY,
          502,
          `The origin ${origin} closed the connection before the end of the response.`,
        );
      }
      res.feed(chunk);
      // END_REQUEST: everything is in memory now. Let go of the connection at once — php-fpm
      // keeps a worker pinned until we close, and a slow client must not hold it.
      if (res.ended) release();
    };

    try {
      while (!res.head) {
        if (res.ended) throw res.endedWithoutHead();
        await step();
      }
    } catch (e) {
      release();
      void sending;
      throw e;
    }

    const head = res.head;
    let headers: Array<[string, string]>;
    let noBody: boolean;
    try {
      ({ headers, noBody } = clientHead(head, req.method, origin));
    } catch (e) {
      release();
      throw e;
    }
    if (noBody) release();
    return {
      status: head.status,
      statusText: head.reason,
      headers,
      body: noBody
        ? null
        : bodyStream({
            pending: res.pending,
            done: () => res.ended,
            step,
            release: () => release(),
            onError: (e) =>
              req.log.log("error", "response_cut", {
                origin,
                code: e instanceof GatewayError ? e.code : "INTERNAL",
                detail: e instanceof GatewayError ? (e.detail ?? e.message) : String(e),
              }),
          }),
    };
  },
};
