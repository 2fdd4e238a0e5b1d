// core/respond.ts: how a response becomes what the host writes. A body that arrived whole is
// bytes with its length; one that is not the length its head declared goes the way of a
// stream, so the host's writer cuts it short or cuts it off (core/pieces.ts) as it
// does a streamed body.
import { describe, expect, it } from "vitest";
import { fromResponse, ownAnswer, streamOf, toClient } from "../../src/core/respond.js";
import type { Logger } from "../../src/core/log.js";
import type { Body } from "../../src/core/exchange.js";

const lines: Array<[string, Record<string, unknown> | undefined]> = [];
const log: Logger = { log: (_level, event, fields) => void lines.push([event, fields]), line: () => {} };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = async (b: Body | null) => (b === null ? null : new TextDecoder().decode(b instanceof Uint8Array ? b : new Uint8Array(await new Response(streamOf(b)).arrayBuffer())));

describe("toClient", () => {
  it("a whole body the origin gave no length for gets its own", async () => {
    const c = toClient({ status: 200, statusText: "OK", headers: [["content-type", "text/plain"]], body: bytes("hello") }, null, "o", log);
    expect(c.body).toBeInstanceOf(Uint8Array);
    expect(c.length).toBe(5);
    expect(await text(c.body)).toBe("hello");
  });

  it("a whole body of the declared length stays whole", () => {
    const c = toClient({ status: 200, statusText: "OK", headers: [["content-length", "5"]], body: bytes("hello") }, null, "o", log);
    expect(c.body).toBeInstanceOf(Uint8Array);
    expect(c.length).toBe(5);
  });

  it.each([
    ["shorter", "hi"],
    ["longer", "hello, world"],
  ])("a whole body %s than declared becomes a stream held to the declared length", async (_what, body) => {
    const c = toClient({ status: 200, statusText: "OK", headers: [["content-length", "5"]], body: bytes(body) }, null, "o", log);
    expect(c.body).toBeInstanceOf(ReadableStream);
    expect(c.length).toBe(5);
    expect(await text(c.body)).toBe(body);
  });

  it("a whole gzip body for a client that takes no gzip is decoded as a stream, its length unknown", async () => {
    const gz = new Uint8Array(await new Response(new Blob([bytes("plain text")]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
    const c = toClient({ status: 200, statusText: "OK", headers: [["content-encoding", "gzip"]], body: gz }, "identity", "o", log);
    expect(c.body).toBeInstanceOf(ReadableStream);
    expect(c.length).toBeNull();
    expect(c.headers.get("content-encoding")).toBeNull();
    expect(await text(c.body)).toBe("plain text");
  });

  it("a whole gzip body for a client that takes gzip passes as is, marked encoded", () => {
    const c = toClient({ status: 200, statusText: "OK", headers: [["content-encoding", "gzip"]], body: bytes("xx") }, "gzip", "o", log);
    expect(c.body).toBeInstanceOf(Uint8Array);
    expect(c.encoded).toBe(true);
    expect(c.length).toBe(2);
  });
});

describe("fromResponse and ownAnswer", () => {
  it("the gateway's own Response is read whole, with its length", async () => {
    const c = await fromResponse(new Response("not here", { status: 404 }), true);
    expect(c.body).toBeInstanceOf(Uint8Array);
    expect(c.length).toBe(8);
    expect(c.status).toBe(404);
  });

  it("a relayed Response keeps its stream and the length it declares; immutable headers are copied", async () => {
    const relayed = await fetch("data:text/plain,abc");
    const c = await fromResponse(relayed, false);
    expect(c.body).toBeInstanceOf(ReadableStream);
    c.headers.set("x-request-id", "r1");
    expect(c.headers.get("x-request-id")).toBe("r1");
  });

  it("ownAnswer: text as the whole body with its byte length; none without text", () => {
    const a = ownAnswer(200, new Headers(), "é");
    expect(a.length).toBe(2);
    const b = ownAnswer(301, new Headers({ location: "/x" }));
    expect(b.body).toBeNull();
    expect(b.length).toBeNull();
  });

  it("streamOf: bytes as a stream that ends after them; an empty body as an empty stream", async () => {
    expect(await text(streamOf(bytes("abc")))).toBe("abc");
    expect(await text(streamOf(new Uint8Array(0)))).toBe("");
  });
});
