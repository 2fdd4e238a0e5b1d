// Slow clients on the wire, beside nginx, with one php-fpm worker that a slow client must not
// hold. An answer read ahead: a PHP page of 64 MiB (far past what the kernel's socket buffers
// hold) asked for by a client that then takes nothing. With buffering (the default) PHP
// finishes while the client waits, and the one worker serves another client meanwhile; the
// slow client later gets every byte in order. With buffering off (the route's key, or the
// page's X-Accel-Buffering: no) PHP waits for the client, as it does behind nginx with it off.
// An upload held: a POST that stops halfway does not reach php-fpm until its last byte came
// (request_buffering, on by default on serve); with it off, it holds the worker.
// `edgepass dev` does neither (the Worker has no disk): the README says so.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodTree, freePort, phpSite, startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { startServe } from "../helpers/process.js";
import { gatewayForSuite } from "../helpers/suite.js";
import { parseWire } from "../helpers/raw-http.js";
import { phpLocation, startNginx } from "../helpers/servers/nginx.js";
import type { Server } from "../helpers/servers/launch.js";
import { connectionsTo } from "../helpers/tcp.js";

const BLOCKS = 1024;
/** Block i: "%07d " of i, 8,192 times (64 KiB): a block out of place shows. */
const block = (i: number) => `${String(i).padStart(7, "0")} `.repeat(8192);
const EXPECTED = createHash("sha256");
for (let i = 0; i < BLOCKS; i++) EXPECTED.update(block(i));
const EXPECTED_SHA = EXPECTED.digest("hex");
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let www: string;
let marks: string;
let fpm: PhpFpm;
let nginx: Server & { dir: string };
let metricsPort: number;

const bigPhp = (marksDir: string) => `<?php
header('Content-Type: application/octet-stream');
if (isset($_GET['unbuffered'])) header('X-Accel-Buffering: no');
if (isset($_GET['buffered'])) header('X-Accel-Buffering: yes');
for ($i = 0; $i < ${BLOCKS}; $i++) echo str_repeat(sprintf('%07d ', $i), 8192);
file_put_contents('${marksDir}/' . basename($_GET['id']), 'done');
`;

beforeAll(async () => {
  www = mkdtempSync(path.join(tmpdir(), "edgepass-buffering-www-"));
  marks = mkdtempSync(path.join(tmpdir(), "edgepass-buffering-marks-"));
  writeFileSync(path.join(www, "big.php"), bigPhp(marks));
  writeFileSync(path.join(www, "unbuffered.php"), bigPhp(marks));
  writeFileSync(path.join(www, "small.php"), `<?php\necho "small page\\n";\n`);
  writeFileSync(path.join(www, "upload.php"), `<?php\n$b = file_get_contents('php://input');\necho strlen($b), ' ', hash('sha256', $b), "\\n";\n`);
  chmodTree(www, false);
  chmodTree(marks, true);
  // One worker: a client it waits for would keep everyone else waiting.
  fpm = await startPhpFpm({ maxChildren: 1 });
  metricsPort = await freePort();
  nginx = await startNginx(
    () => `${phpLocation(www, `127.0.0.1:${fpm.port}`)}`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([nginx?.stop(), fpm?.stop()]);
  for (const d of [www, marks]) if (d) rmSync(d, { recursive: true, force: true });
});

/** A client that sends its request and then reads nothing until told to. */
interface Stalled {
  /** Reads the rest: the whole answer, framing and all. */
  finish(): Promise<Buffer>;
  close(): void;
}

/** `id`: the request's X-Request-Id, which its log line keeps. */
async function stalledGet(base: string, target: string, id = "-"): Promise<Stalled> {
  const { sock, ended } = await connected(base);
  sock.pause();
  sock.write(`GET ${target} HTTP/1.1\r\nHost: test\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
  return { finish: () => (sock.resume(), ended), close: () => sock.destroy() };
}

/** A raw connection to `base`, and everything it will have received once the server ends it. */
async function connected(base: string): Promise<{ sock: net.Socket; ended: Promise<Buffer> }> {
  const u = new URL(base);
  const sock = net.connect({ host: u.hostname, port: Number(u.port) });
  await new Promise((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  const chunks: Buffer[] = [];
  const ended = new Promise<Buffer>((done, fail) => {
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("end", () => done(Buffer.concat(chunks)));
    sock.on("error", fail);
  });
  return { sock, ended };
}

/** The same over HTTP/2 (cleartext, prior knowledge): the stream read nothing of. */
function stalledH2(base: string, target: string, id = "-"): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base);
    session.once("error", reject);
    const req = session.request({ ":path": target, "x-request-id": id });
    req.pause();
    const chunks: Buffer[] = [];
    let status = 0;
    const ended = new Promise<Buffer>((done, fail) => {
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        session.close();
        // As HTTP/1.1 would frame it, so both are read alike.
        const body = Buffer.concat(chunks);
        done(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} \r\ncontent-length: ${body.length}\r\n\r\n`), body]));
      });
      req.on("error", fail);
    });
    resolve({ finish: () => (req.resume(), ended), close: () => session.destroy() });
  });
}

async function markAppears(id: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(path.join(marks, id))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return existsSync(path.join(marks, id));
}

async function small(base: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}/small.php`, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, text: await res.text() };
}

function expectWhole(raw: Buffer): void {
  const r = parseWire(raw, "GET");
  expect(r.status).toBe(200);
  expect(r.complete).toBe(true);
  expect(r.body.length).toBe(BLOCKS * 64 * 1024);
  expect(sha(r.body)).toBe(EXPECTED_SHA);
}

/** The page at `target` + `mark`, asked for by a client that reads nothing for 3 s: PHP has
 *  not finished by then, and finishes once the client reads. */
async function expectPhpWaits(base: string, target: string, mark: string): Promise<void> {
  const client = await stalledGet(base, target + mark);
  try {
    expect(await markAppears(mark, 3_000)).toBe(false);
    expectWhole(await client.finish());
    expect(await markAppears(mark, 10_000)).toBe(true);
  } finally {
    client.close();
  }
}

let next = 0;
const id = (what: string) => `${what}-${++next}`;

describe("edgepass serve (defaults)", () => {
  const suite = gatewayForSuite(
    (toml) => startServe(toml, { "answers/README": "where answers wait for slow clients\n" }),
    () => `[serve]\nh2c = true\nresponse_temp = "answers"\nmetrics_listen = "127.0.0.1:${metricsPort}"\n\n${phpSite(fpm.port, www)}\n[[routes]]\nmatch = "= /unbuffered.php"\nupstream = "php"\nroot = "${www}"\nbuffering = false\n\n` +
      `[[routes]]\nmatch = "= /paced.php"\nupstream = "php"\nroot = "${www}"\nscript = "/big.php"\nlimit_rate = "1m"\n`,
  );

  it.each([
    ["HTTP/1.1", stalledGet],
    ["HTTP/2", stalledH2],
  ] as const)("%s: PHP finishes while the client reads nothing, its worker serves another client, and the slow one gets every byte in order", async (_name, stalled) => {
    const mark = id("serve");
    const asked = performance.now();
    const client = await stalled(suite.dev.base, `/big.php?id=${mark}`, mark);
    try {
      expect(await markAppears(mark, 30_000)).toBe(true);
      // The answer waits in a file in response_temp, whose name was removed once it was open.
      const dir = path.join(suite.dev.dir, "answers");
      expect(readdirSync(dir)).toEqual(["README"]);
      const open = readdirSync(`/proc/${suite.dev.run.child.pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${suite.dev.run.child.pid}/fd/${fd}`);
        } catch {
          return "";
        }
      });
      expect(open.some((l) => l.startsWith(path.join(dir, "edgepass-answer-")) && l.endsWith("(deleted)"))).toBe(true);
      // Most of the page waits there, and the metrics say how much.
      expect(await answerFileBytes()).toBeGreaterThan(32 * 1024 * 1024);
      expect(await small(suite.dev.base)).toEqual({ status: 200, text: "small page\n" });
      await new Promise((r) => setTimeout(r, 200));
      const resumed = performance.now();
      expectWhole(await client.finish());
      // The request's line: the origin's answer was all read before the client took any.
      const line = await requestLine(mark);
      expect(line.upstream_ms).toBeLessThan(resumed - asked);
      expect(line.total_ms).toBeGreaterThan(line.upstream_ms);
      // Read back to the client, the file is gone.
      await expect.poll(answerFileBytes, { timeout: 10_000 }).toBe(0);
    } finally {
      client.close();
    }
  });

  /** edgepass_temp_file_bytes{kind="answers"} from the metrics listener. */
  async function answerFileBytes(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = /^edgepass_temp_file_bytes\{kind="answers"\} (\d+)$/m.exec(text);
    if (!m) throw new Error(`no edgepass_temp_file_bytes in:\n${text}`);
    return Number(m[1]);
  }

  /** The JSON request line of the request for `mark`'s page, once it is written. */
  async function requestLine(mark: string): Promise<{ upstream_ms: number; total_ms: number }> {
    const find = () => suite.dev.run.stdout.split("\n").find((l) => l.includes(`"event":"request"`) && l.includes(`"request_id":"${mark}"`));
    await expect.poll(find, { timeout: 10_000 }).toBeTruthy();
    return JSON.parse(find()!) as { upstream_ms: number; total_ms: number };
  }

  it("the page's X-Accel-Buffering: yes reads it ahead on a route with buffering = false", async () => {
    const mark = id("yes");
    const client = await stalledGet(suite.dev.base, `/unbuffered.php?buffered=1&id=${mark}`);
    try {
      expect(await markAppears(mark, 30_000)).toBe(true);
      expectWhole(await client.finish());
    } finally {
      client.close();
    }
  });

  it("an answer paced by limit_rate: PHP finishes while the client is still getting it at 1 MiB a second", async () => {
    const mark = id("paced");
    const u = new URL(suite.dev.base);
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    let got = 0;
    sock.on("data", (d: Buffer) => (got += d.length));
    sock.on("error", () => {});
    try {
      sock.write(`GET /paced.php?id=${mark} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
      expect(await markAppears(mark, 30_000)).toBe(true);
      expect(got).toBeGreaterThan(0);
      // The limit holds: the first second's worth at once, then 1 MiB a second (and a
      // loaded machine only makes it less).
      expect(got).toBeLessThan(32 * 1024 * 1024);
      expect(await small(suite.dev.base)).toEqual({ status: 200, text: "small page\n" });
    } finally {
      sock.destroy();
    }
  });

  it.each([
    ["the route's buffering = false", "/unbuffered.php"],
    ["the page's X-Accel-Buffering: no", "/big.php?unbuffered=1"],
  ])("with %s, PHP waits for the client, and finishes once it reads", async (_name, target) => {
    await expectPhpWaits(suite.dev.base, `${target}${target.includes("?") ? "&" : "?"}id=`, id("off"));
  });
});

/** A POST of UPLOAD bytes that sends the first half and waits for `rest()`; the answer. */
const UPLOAD = 512 * 1024;
const uploadBytes = Buffer.alloc(UPLOAD, "upload, slowly. ");
async function halfUpload(base: string, target: string): Promise<{ rest(): Promise<string>; close(): void }> {
  const { sock, ended } = await connected(base);
  sock.write(`POST ${target} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${UPLOAD}\r\nConnection: close\r\n\r\n`);
  sock.write(uploadBytes.subarray(0, UPLOAD / 2));
  return {
    rest: async () => {
      sock.write(uploadBytes.subarray(UPLOAD / 2));
      const r = parseWire(await ended, "POST");
      expect(r.status).toBe(200);
      return r.body.toString();
    },
    close: () => sock.destroy(),
  };
}
const UPLOAD_ANSWER = `${UPLOAD} ${sha(uploadBytes)}\n`;

/** Whether `base`'s small page is answered within `ms` (false: still waiting). */
async function answeredWithin(base: string, ms: number): Promise<boolean> {
  return fetch(`${base}/small.php`, { signal: AbortSignal.timeout(ms) }).then(
    async (r) => (await r.text()) === "small page\n",
    () => false,
  );
}

describe("edgepass serve: an upload that stops halfway", () => {
  const suite = gatewayForSuite(
    (toml) => startServe(toml),
    // A connection per request: a kept one would keep php-fpm's one worker to itself between
    // requests, and this is about what an upload does to it.
    () =>
      `${phpSite(fpm.port, www, 'pool = "direct"\n')}\n[upstreams.unheld]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:${fpm.port}"]\npool = "direct"\nrequest_buffering = false\n\n` +
      `[[routes]]\nmatch = "^~ /unheld/"\nupstream = "unheld"\nroot = "${www}"\nscript = "/upload.php"\n`,
  );

  it("is held by the gateway: php-fpm's one worker answers another client meanwhile, and the upload arrives whole once its last byte came", async () => {
    const upload = await halfUpload(suite.dev.base, "/upload.php");
    try {
      expect(await small(suite.dev.base)).toEqual({ status: 200, text: "small page\n" });
      expect(await upload.rest()).toBe(UPLOAD_ANSWER);
    } finally {
      upload.close();
    }
  });

  it("with request_buffering = false it streams to php-fpm, whose one worker waits for it: nobody else is answered until it is whole", async () => {
    const upload = await halfUpload(suite.dev.base, "/unheld/upload.php");
    try {
      // Its connection to php-fpm is open before the next one: the one worker takes it first.
      await expect.poll(() => connectionsTo(fpm.port), { timeout: 10_000 }).toBe(1);
      expect(await answeredWithin(suite.dev.base, 2_000)).toBe(false);
      expect(await upload.rest()).toBe(UPLOAD_ANSWER);
      expect(await answeredWithin(suite.dev.base, 20_000)).toBe(true);
    } finally {
      upload.close();
    }
  });
});

describe("nginx, for reference", () => {
  it("an upload that stops halfway is held: php-fpm's one worker answers another client meanwhile", async () => {
    const base = `http://127.0.0.1:${nginx.port}`;
    const upload = await halfUpload(base, "/upload.php");
    try {
      expect(await small(base)).toEqual({ status: 200, text: "small page\n" });
      expect(await upload.rest()).toBe(UPLOAD_ANSWER);
    } finally {
      upload.close();
    }
  });

  it("PHP finishes while the client reads nothing; with X-Accel-Buffering: no it waits", async () => {
    const base = `http://127.0.0.1:${nginx.port}`;
    const mark = id("nginx");
    const client = await stalledGet(base, `/big.php?id=${mark}`);
    try {
      expect(await markAppears(mark, 30_000)).toBe(true);
      expect(await small(base)).toEqual({ status: 200, text: "small page\n" });
      expectWhole(await client.finish());
    } finally {
      client.close();
    }
    await expectPhpWaits(base, "/big.php?unbuffered=1&id=", id("nginx-off"));
  });
});
