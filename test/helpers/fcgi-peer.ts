// A scripted FastCGI application for unit tests of the pool: dial() hands the gateway one end
// of an in-memory duplex, and the test decides what the application does with each
// connection and request — answer, stay silent, interleave, close, reset. Every record the
// gateway sends is decoded (server mode) and kept, so tests can assert on the wire.
import type { Codec, FcgiDecoder, FcgiEvent } from "../../src/codec/types.js";
import { FcgiProtocolStatus, FcgiType } from "../../src/codec/types.js";
import { Codes, GatewayError } from "../../src/core/errors.js";
import type { Dial, Duplex } from "../../src/core/transport.js";

export interface PeerRequest {
  id: number;
  flags: number;
  params: Map<string, string>;
  stdin: Uint8Array[];
  /** All STDIN arrived (the empty record). */
  complete: boolean;
  aborted: boolean;
  conn: PeerConn;
  paramBytes: Uint8Array[];
}

export interface PeerScript {
  /** FCGI_GET_VALUES: the pairs to answer, or null to stay silent. Default: silent. */
  values?: (names: string[], conn: PeerConn) => Array<[string, string]> | null;
  /** A request's STDIN is complete. Default: answer "200 OK" with body "ok <id>". */
  request?: (req: PeerRequest) => void;
  abort?: (req: PeerRequest) => void;
}

export class PeerConn {
  readonly events: FcgiEvent[] = [];
  readonly requests = new Map<number, PeerRequest>();
  /** Requests seen over the connection's life, in order. */
  readonly all: PeerRequest[] = [];
  /** The records each write of the gateway carried, write by write. */
  readonly writes: FcgiEvent[][] = [];
  closedByGateway = false;
  closedByPeer = false;
  private toGateway!: ReadableStreamDefaultController<Uint8Array>;
  private decoder!: FcgiDecoder;
  readonly duplex: Duplex;

  constructor(
    readonly no: number,
    private readonly codec: Codec,
    private readonly script: PeerScript,
  ) {
    const decoder = (this.decoder = codec.fcgiDecoder("server"));
    this.duplex = {
      readable: new ReadableStream<Uint8Array>({ start: (c) => void (this.toGateway = c) }),
      writable: new WritableStream<Uint8Array>({
        write: (chunk) => {
          if (this.closedByPeer) throw new Error("ECONNRESET: the peer closed the connection");
          const events = decoder.push(chunk);
          this.writes.push(events);
          for (const ev of events) this.handle(ev);
        },
      }),
      close: async () => {
        if (this.closedByGateway) return;
        this.closedByGateway = true;
        try {
          this.toGateway.close();
        } catch {}
      },
    };
  }

  get open(): boolean {
    return !this.closedByGateway && !this.closedByPeer;
  }

  send(bytes: Uint8Array): void {
    if (!this.open) return;
    this.toGateway.enqueue(bytes);
  }

  stdout(id: number, text: string | Uint8Array): void {
    this.send(this.codec.fcgiStream(FcgiType.STDOUT, id, typeof text === "string" ? new TextEncoder().encode(text) : text));
  }

  end(id: number, protocolStatus: number = FcgiProtocolStatus.REQUEST_COMPLETE): void {
    this.send(this.codec.fcgiStream(FcgiType.STDOUT, id, new Uint8Array(0)));
    this.send(this.codec.fcgiEndRequest(id, 0, protocolStatus));
    if (this.requests.delete(id)) this.decoder.untrack(id);
  }

  /** A whole CGI response: head, body, end. */
  answer(id: number, body: string, status = "200 OK"): void {
    this.stdout(id, `Status: ${status}\r\nContent-Type: text/plain\r\n\r\n${body}`);
    this.end(id);
  }

  /** The application closes its end (EOF for the gateway). */
  hangUp(): void {
    if (!this.open) return;
    this.closedByPeer = true;
    try {
      this.toGateway.close();
    } catch {}
  }

  /** The connection is reset under the gateway's feet. */
  reset(): void {
    if (!this.open) return;
    this.closedByPeer = true;
    try {
      this.toGateway.error(new Error("ECONNRESET"));
    } catch {}
  }

  private handle(ev: FcgiEvent): void {
    this.events.push(ev);
    if (ev.kind === "values") {
      const pairs = this.script.values?.(ev.pairs.map(([n]) => n), this) ?? null;
      if (pairs) this.send(this.codec.fcgiGetValuesResult(pairs));
      return;
    }
    if (ev.kind === "begin-request") {
      const req: PeerRequest = { id: ev.requestId, flags: ev.flags, params: new Map(), stdin: [], complete: false, aborted: false, conn: this, paramBytes: [] };
      this.requests.set(ev.requestId, req);
      this.all.push(req);
      return;
    }
    const req = this.requests.get(ev.requestId);
    if (!req) return;
    if (ev.kind === "abort-request") {
      req.aborted = true;
      if (this.script.abort) this.script.abort(req);
      return;
    }
    if (ev.kind !== "stream") return;
    if (ev.type === FcgiType.PARAMS) {
      const parts = req.paramBytes;
      if (ev.data.length) parts.push(ev.data.slice());
      if (ev.end) {
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) all.set(p, (at += p.length) - p.length);
        for (const [k, v] of this.codec.fcgiDecodePairs(all)) req.params.set(k, v);
      }
    } else if (ev.type === FcgiType.STDIN) {
      if (ev.data.length) req.stdin.push(ev.data.slice());
      if (ev.end) {
        req.complete = true;
        if (this.script.request) this.script.request(req);
        else this.answer(req.id, `ok ${req.id}`);
      }
    }
  }
}

export class ScriptedPeer {
  readonly conns: PeerConn[] = [];

  constructor(
    private readonly codec: Codec,
    public script: PeerScript = {},
  ) {}

  /** How many of the next dials fail like a refused connect. */
  refuse = 0;

  readonly dial: Dial = async () => {
    if (this.refuse > 0) {
      this.refuse--;
      throw new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, "Could not connect (scripted refusal).");
    }
    const conn = new PeerConn(this.conns.length + 1, this.codec, this.script);
    this.conns.push(conn);
    return conn.duplex;
  };

  get openConns(): PeerConn[] {
    return this.conns.filter((c) => c.open);
  }

  /** Requests seen, over all connections, in order of arrival. */
  get requests(): PeerRequest[] {
    return this.conns.flatMap((c) => c.all);
  }
}
