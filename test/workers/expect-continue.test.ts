// A client that sent "Expect: 100-continue" waits to be asked for its body. An answer that does
// not need the body (no route: 404) is given without reading it, so the client is not asked
// for bytes that would be dropped, nor waited on for ones it holds back. Any other client's
// unread body is read and dropped first, so its connection can carry the next request
// (core/drain.ts). The gateway in workerd, on a body whose reads are counted.
import { describe, expect, it } from "vitest";
import { harness } from "./gateway-harness.js";

const gw = harness(`
[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:9"]

[[routes]]
match = "~ \\\\.php$"
upstream = "php"
`);

/** A 5-byte body that counts how often it is read. */
function countedBody() {
  const seen = { pulls: 0 };
  // highWaterMark 0: read only when asked, not once up front to fill a queue.
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        seen.pulls++;
        c.enqueue(new TextEncoder().encode("hello"));
        c.close();
      },
    },
    { highWaterMark: 0 },
  );
  return { seen, stream };
}

describe("a request refused before its body is wanted", () => {
  it("with Expect: 100-continue, the 404 is given and the body never read", async () => {
    const { seen, stream } = countedBody();
    const res = await gw.fetch("/nowhere", { method: "POST", body: stream, headers: { expect: "100-continue" }, duplex: "half" } as RequestInit);
    expect(res.status).toBe(404);
    expect(res.headers.get("x-edgepass-error")).toBe("ROUTE_NOT_FOUND");
    await res.arrayBuffer();
    expect(seen.pulls).toBe(0);
  });

  it("without it, the body is read and dropped before the 404, so the connection can go on", async () => {
    const { seen, stream } = countedBody();
    const res = await gw.fetch("/nowhere", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    expect(seen.pulls).toBeGreaterThan(0);
  });
});
