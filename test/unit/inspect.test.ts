// `edgepass inspect` on hand-built captures of each protocol: what a listing shows, and that
// every framing error is reported with its code, a sentence and what edgepass answers. Inputs
// are written from the specs here (refRecord, the SCGI/uwsgi framers the gateway uses), never
// copied from the inspector's output.
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec, FcgiType } from "../../src/codec/index";
import { inspectCapture, renderText, type InspectOptions } from "../../src/inspect/index";
import { scgiFrame } from "../../src/protocol/scgi/exchange";
import { uwsgiFrame } from "../../src/protocol/uwsgi/exchange";
import { ACK, FIN, SYN, writePcap, type TcpPacket } from "../helpers/pcap-writer";
import { concatBytes, refRecord } from "../helpers/vector-format";

const codec = createCodec(loadWasmModuleFromDisk());
const utf8 = (s: string) => new TextEncoder().encode(s);
const listing = (bytes: Uint8Array, opts: InspectOptions = {}) => inspectCapture(codec, bytes, opts);
const text = (bytes: Uint8Array, opts: InspectOptions = {}) => renderText(listing(bytes, opts));
const problems = (bytes: Uint8Array, opts: InspectOptions = {}) =>
  listing(bytes, opts).sections.flatMap((s) => s.entries.filter((e) => e.problem).map((e) => e.problem!));

/** A pcap of one connection: handshake, then each piece in order, then FINs as asked. */
function conversation(pieces: Array<["client" | "server", Uint8Array | string]>, close: { client?: boolean; server?: boolean } = {}): Uint8Array {
  const seq = { client: 1, server: 1 };
  const packets: TcpPacket[] = [
    { from: "client", seq: 0, flags: SYN },
    { from: "server", seq: 0, flags: SYN | ACK },
  ];
  for (const [from, payload] of pieces) {
    const bytes = typeof payload === "string" ? utf8(payload) : payload;
    packets.push({ from, seq: seq[from], payload: bytes });
    seq[from] += bytes.length;
  }
  if (close.server) packets.push({ from: "server", seq: seq.server, flags: FIN | ACK });
  if (close.client) packets.push({ from: "client", seq: seq.client, flags: FIN | ACK });
  return writePcap(packets);
}

const begin = (id: number) => refRecord(FcgiType.BEGIN_REQUEST, id, [0, 1, 1, 0, 0, 0, 0, 0]);
const end = (id: number, protocolStatus = 0) => refRecord(FcgiType.END_REQUEST, id, [0, 0, 0, 0, protocolStatus, 0, 0, 0]);
const params = (id: number, pairs: Array<[string, string]>) => concatBytes(codec.fcgiStream(FcgiType.PARAMS, id, codec.fcgiEncodePairs(pairs)), codec.fcgiStream(FcgiType.PARAMS, id, new Uint8Array(0)));
const stdout = (id: number, s: string) => refRecord(FcgiType.STDOUT, id, utf8(s));
const gatewaySide = (id: number) => concatBytes(begin(id), params(id, [["SCRIPT_FILENAME", "/srv/www/x.php"]]), refRecord(FcgiType.STDIN, id));

describe("FastCGI", () => {
  it("lists ABI.md's worked example (hex, the app's side) record by record", () => {
    const out = text(utf8("01 06 00 01 00 05 03 00 68 65 6c 6c 6f 00 00 00\n01 06 00 01 00 00 00 00\n01 03 00 01 00 08 00 00 00 00 00 00 00 00 00 00"));
    expect(out).toContain("source: hex, 40 bytes from the app (response side), as detected");
    expect(out).toMatch(/<- response @0\s+STDOUT id=1 content=5 padding=3\n\s+CGI head so far: "hello"/);
    expect(out).toMatch(/<- response @16\s+STDOUT id=1 content=0 padding=0\n\s+stream closed \(5 bytes in all\)/);
    expect(out).toMatch(/<- response @24\s+END_REQUEST id=1 content=8 padding=0\n\s+appStatus=0 protocolStatus=REQUEST_COMPLETE/);
    expect(out).toMatch(/hint: the app ended the request before its STDOUT held a complete CGI head; edgepass answers 502\./);
  });

  it("a whole exchange from a pcap: parameters, the CGI head, the body", () => {
    const pcap = conversation([["client", gatewaySide(1)], ["server", concatBytes(stdout(1, "Status: 201 Created\r\nX-A: 1\r\n\r\nmade"), end(1))]], { server: true, client: true });
    const l = listing(pcap);
    expect(l.problems).toBe(0);
    const out = renderText(l);
    expect(out).toContain("== 127.0.0.1:50123 -> 127.0.0.1:9000 (FastCGI, as detected)");
    expect(out).toMatch(/-> request\s+@0\s+BEGIN_REQUEST id=1 content=8 padding=0\n\s+role=RESPONDER flags=KEEP_CONN/);
    expect(out).toContain("1 parameters:\n       SCRIPT_FILENAME = /srv/www/x.php");
    expect(out).toMatch(/CGI head: status 201 Created\n\s+X-A: 1\n\s+body: "made"/);
  });

  it("an HTTP server on the FastCGI port: FCGI_BAD_VERSION, what the bytes are, 502", () => {
    const [p, ...rest] = problems(conversation([["client", gatewaySide(1)], ["server", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"]]));
    expect(rest).toEqual([]);
    expect(p.code).toBe("FCGI_BAD_VERSION");
    expect(p.message).toMatch(/^byte 0 is 72, not FastCGI version 1/);
    expect(p.hint).toMatch(/^These bytes are an HTTP response \("HTTP\/1\.1 400 Bad Request"\): the server on this port speaks HTTP, not FastCGI\..*502 Bad Gateway/);
  });

  it("a record for a request that is not in flight", () => {
    const [p] = problems(conversation([["client", gatewaySide(1)], ["server", stdout(2, "x")]]));
    expect(p.code).toBe("FCGI_NOT_IN_FLIGHT");
  });

  it("an app that closes inside a record, or without END_REQUEST; a capture that just stops", () => {
    const cut = stdout(1, "Status: 200\r\n\r\nbody").subarray(0, 12);
    expect(problems(conversation([["client", gatewaySide(1)], ["server", cut]], { server: true })).map((p) => p.code)).toEqual(["FCGI_TRUNCATED"]);
    expect(problems(conversation([["client", gatewaySide(1)], ["server", stdout(1, "Status: 200\r\n\r\n")]], { server: true })).map((p) => p.code)).toEqual(["FCGI_NO_END_REQUEST"]);
    const open = listing(conversation([["client", gatewaySide(1)], ["server", cut]]));
    expect(open.problems).toBe(0);
    expect(open.sections[0].notes).toEqual([
      "the response side ends inside a record: 12 of 32 bytes (the capture stopped there)",
      "request id=1 has no END_REQUEST in the capture (it stopped first)",
    ]);
  });

  it("OVERLOADED: what it means and that edgepass answers 503", () => {
    const out = text(conversation([["client", gatewaySide(1)], ["server", end(1, 2)]]));
    expect(out).toContain("protocolStatus=OVERLOADED");
    expect(out).toContain("hint: OVERLOADED: the app has no worker free");
  });

  it("a CGI head the gateway refuses: its code and 502", () => {
    const [p] = problems(conversation([["client", gatewaySide(1)], ["server", concatBytes(stdout(1, "Status: abc\r\n\r\n"), end(1))]]));
    expect(p).toMatchObject({ code: "CGI_HEAD_BAD_STATUS", hint: "edgepass answers the client 502 Bad Gateway and closes this connection." });
  });
});

describe("HTTP/1.1", () => {
  it("pipelined requests, a HEAD answered without a body, a chunked body", () => {
    const l = listing(conversation([
      ["client", "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"],
      ["server", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
    ]));
    expect(l.problems).toBe(0);
    const titles = l.sections[0].entries.map((e) => `${e.dir} ${e.title}`);
    expect(titles).toEqual([
      "request HEAD /a HTTP/1.1",
      "request GET /b HTTP/1.1",
      "response HTTP/1.1 200 OK",
      "response HTTP/1.1 200 OK",
      "response chunked body: 3 data bytes in 1 chunks, ended by the last chunk",
    ]);
  });

  it("a smuggling-shaped request: HTTP_CL_AND_TE, answered 400", () => {
    const [p] = problems(utf8("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"));
    expect(p).toMatchObject({ code: "HTTP_CL_AND_TE", hint: "edgepass answers 400 and closes the connection." });
  });

  it("a broken chunk size in a response, and a body the server cut short", () => {
    const res = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    expect(problems(utf8(res)).map((p) => p.code)).toEqual(["HTTP_CHUNK_BAD_SIZE"]);
    const short = conversation([["client", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"], ["server", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"]], { server: true });
    const [p] = problems(short);
    expect(p.code).toBe("BODY_TRUNCATED");
    expect(text(short)).toContain("body cut short: 3 of 10 bytes");
  });
});

describe("SCGI and uwsgi", () => {
  const vars = (format: "scgi" | "uwsgi") => codec.buildCgiParams({ owned: [["CONTENT_LENGTH", "4"], ["SCGI", "1"], ["REQUEST_METHOD", "POST"]], headers: [["Host", "x"]], format });

  it("an SCGI request as the gateway frames it, and the app's CGI head", () => {
    const l = listing(conversation([["client", concatBytes(scgiFrame(vars("scgi")), utf8("body"))], ["server", "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\ndone"]], { server: true }));
    expect(l.problems).toBe(0);
    const out = renderText(l);
    expect(out).toContain("(SCGI, as detected)");
    expect(out).toMatch(/SCGI request: netstring of \d+ bytes\n\s+4 variables:\n\s+CONTENT_LENGTH = 4\n\s+SCGI = 1\n\s+REQUEST_METHOD = POST\n\s+HTTP_HOST = x/);
    expect(out).toContain('body: 4 bytes (Content-Length)\n     starts "body"');
    expect(out).toMatch(/CGI head: status 201 Created/);
    expect(out).toContain("body: 4 bytes, delimited by the end of the connection");
  });

  it("SCGI framing errors", () => {
    expect(problems(utf8("12x:CONTENT_LENGTH"), { protocol: "scgi", as: "request" }).map((p) => p.code)).toEqual(["SCGI_BAD_NETSTRING"]);
    expect(problems(utf8("18:CONTENT_LENGTH\x000\x00SCGI\x001\x00;"), { protocol: "scgi", as: "request" }).map((p) => p.code)).toEqual(["SCGI_NO_COMMA"]);
    expect(problems(utf8("9:SCGI\x001\x00A\x00,"), { protocol: "scgi", as: "request" }).map((p) => p.code)).toEqual(["SCGI_BAD_HEADERS"]);
    expect(problems(utf8("7:SCGI\x001\x00,"), { protocol: "scgi", as: "request" }).map((p) => p.code)).toEqual(["SCGI_CONTENT_LENGTH_FIRST"]);
  });

  it("a uwsgi request as the gateway frames it, and uWSGI's HTTP status line", () => {
    const out = text(conversation([["client", concatBytes(uwsgiFrame(vars("uwsgi"), 0, 0), utf8("body"))], ["server", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]]));
    expect(out).toContain("(uwsgi, as detected)");
    expect(out).toMatch(/uwsgi request: modifier1=0 \(WSGI\) datasize=\d+ modifier2=0\n\s+4 variables:/);
    expect(out).toMatch(/<- response\s+@0\s+HTTP\/1\.1 200 OK/);
    expect(out).toContain("no framing errors");
  });

  it("a uwsgi vars block whose lengths run past it", () => {
    const bad = Uint8Array.of(0, 6, 0, 0, 2, 0, 0x41, 0x42, 9, 0);
    expect(problems(bad, { protocol: "uwsgi", as: "request" }).map((p) => p.code)).toEqual(["UWSGI_BAD_VARS"]);
  });
});
