// Big bodies from an HTTP origin through `edgepass dev`, direct and pooled. workerd's socket
// hands a plain read 4 KiB at most, so a chunked body is read with waits for the rest of the
// chunk its size line announced (an origin writes a chunk whole), into memory used again, as a
// FastCGI body is read for the rest of a record; a body with a Content-Length is read as it
// comes, since nothing says when the origin will send the rest. The points to prove on the
// wire: every body byte for byte while memory is used again under many clients at once, and
// neither kind of body held back waiting for bytes the origin has not sent yet.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noiseBody } from "../helpers/php-fpm.js";
import { rawRequest } from "../helpers/raw-http.js";
import { startDev, type Dev } from "../helpers/process.js";

let origin: http.Server;
const devs: Record<string, Dev> = {};
/** Gates the origin waits at, opened by the client once it has what came before. */
const gates = new Map<string, () => void>();

/** A body of `bytes` for `seed` that no other request gets (noise.php's). */
const expected = (seed: string, bytes: number): Buffer => noiseBody(seed, Math.ceil(bytes / 1024)).subarray(0, bytes);

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://origin");
    const seed = u.searchParams.get("seed") ?? "0";
    if (u.pathname === "/noise") {
      // Chunks of every size from 1 byte to 100 KB, each written whole, as apps do.
      const body = expected(seed, Number(u.searchParams.get("bytes")));
      let at = 0;
      for (let i = 0; at < body.byteLength; i++) {
        const size = [1, 7, 4096, 100_000, 300, 65_536, 5000, 16_385][i % 8]!;
        res.write(body.subarray(at, at + size));
        at += size;
      }
      res.end();
      return;
    }
    // /gate: `kib` KiB, then nothing until the client has them (or 10 s), then the end.
    const kib = Number(u.searchParams.get("kib"));
    const tail = "opened\n";
    if (u.searchParams.get("length")) res.setHeader("content-length", kib * 1024 + tail.length);
    res.write(Buffer.alloc(kib * 1024, 0x61));
    const timer = setTimeout(() => res.end("never opened\n"), 10_000);
    gates.set(seed, () => {
      clearTimeout(timer);
      res.end(tail);
    });
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  const { port } = origin.address() as AddressInfo;
  for (const pool of ["direct", "pooled"]) {
    devs[pool] = await startDev(`[upstreams.web]\nprotocol = "http"\nservers = ["127.0.0.1:${port}"]\npool = "${pool}"\n\n[[routes]]\nmatch = "/"\nupstream = "web"\n`);
  }
});

afterAll(async () => {
  await Promise.all(Object.values(devs).map((d) => d.stop()));
  origin?.closeAllConnections();
  origin?.close();
});

describe.each(["direct", "pooled"])("an HTTP origin's body through edgepass dev, %s", (pool) => {
  it("8 chunked bodies at once, chunks of 1 byte to 100 KB: each its own, byte for byte", async () => {
    const bytes = 600_000;
    const seeds = Array.from({ length: 8 }, (_, i) => `${pool}${i}`);
    const got = await Promise.all(seeds.map((seed) => rawRequest(devs[pool]!.base, { path: `/noise?seed=${seed}&bytes=${bytes}`, headers: { "accept-encoding": "identity" } })));
    got.forEach((r, i) => {
      expect([seeds[i], r.status, r.complete, r.body.length]).toEqual([seeds[i], 200, true, bytes]);
      expect(r.body.equals(expected(seeds[i]!, bytes)), `${seeds[i]}: the body differs from what the origin sent`).toBe(true);
    });
  }, 60_000);

  for (const length of [false, true]) {
    for (const kib of [1, 40, 100]) {
      it(`${length ? "Content-Length" : "chunked"}: ${kib} KiB sent, then the origin waits for the client to have them`, async () => {
        const seed = `${pool}-${length}-${kib}`;
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get(`${devs[pool]!.base}/gate?seed=${seed}&kib=${kib}${length ? "&length=1" : ""}`, (res) => {
              let text = "";
              res.setEncoding("latin1");
              res.on("data", (d: string) => {
                text += d;
                if (text.length >= kib * 1024) gates.get(seed)?.();
              });
              res.on("end", () => resolve(text));
              res.on("error", reject);
            })
            .on("error", reject);
        });
        expect(body.slice(kib * 1024)).toBe("opened\n");
        expect(body.length).toBe(kib * 1024 + "opened\n".length);
      }, 30_000);
    }
  }
});
