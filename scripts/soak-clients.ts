// The soak's clients: real HTTP requests through the gateway, each checked end to end
// (status, and a body only the right script run could produce), and clients that hang up in
// the middle of a request. Failures are reported as values with their cause, never thrown.

import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";

export interface Result {
  op: string;
  method: string;
  start: number;
  end: number;
  ok: boolean;
  /** "502 UPSTREAM_CONNECT_FAILED", "conn ECONNRESET", "200 wrong body", … */
  cause?: string;
  /** On a reused client connection: how the previous exchange on it ended ("ok" or a cause). */
  previous?: string;
  /** The gateway's X-Request-Id, to find its log line. */
  id?: string;
}

/** The last outcome per client connection, to tell what preceded a reset. */
const lastOnSocket = new WeakMap<object, string>();

const UPLOAD = randomBytes(1 << 20);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Body pieces; with `chunked` they go out without a Content-Length. */
  body?: Buffer[];
  chunked?: boolean;
  check(body: string): boolean;
}

function send(agent: http.Agent, base: URL, op: string, r: Req): Promise<Result> {
  const start = Date.now();
  return new Promise((resolve) => {
    let done = false;
    let socket: object | undefined;
    let previous: string | undefined;
    let id: string | undefined;
    const finish = (ok: boolean, cause?: string) => {
      if (done) return;
      done = true;
      if (socket) lastOnSocket.set(socket, ok ? "ok" : cause ?? "failed");
      resolve({ op, method: r.method, start, end: Date.now(), ok, cause, previous, id });
    };
    const length = r.body?.reduce((n, b) => n + b.length, 0) ?? 0;
    const req = http.request(
      {
        agent, host: base.hostname, port: base.port, method: r.method, path: r.path,
        headers: { ...r.headers, ...(r.body && !r.chunked ? { "content-length": String(length) } : {}) },
      },
      (res) => {
        id = typeof res.headers["x-request-id"] === "string" ? res.headers["x-request-id"] : undefined;
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("error", (e: NodeJS.ErrnoException) => finish(false, `conn ${e.code ?? e.message}`));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString("latin1");
          if (res.statusCode !== 200) finish(false, `${res.statusCode} ${res.headers["x-edgepass-error"] ?? "(no code)"}`);
          else if (!res.complete) finish(false, "200 body cut short");
          else finish(r.check(text), r.check(text) ? undefined : "200 wrong body");
        });
      },
    );
    req.on("socket", (s) => {
      socket = s;
      previous = lastOnSocket.get(s);
    });
    req.setTimeout(60_000, () => req.destroy(Object.assign(new Error("timeout"), { code: "CLIENT_TIMEOUT_60S" })));
    req.on("error", (e: NodeJS.ErrnoException) => finish(false, `conn ${e.code ?? e.message}`));
    for (const b of r.body ?? []) req.write(b);
    req.end();
  });
}

/** One request of the mix, chosen by `n` (a counter): GETs, small POSTs, uploads of a known
 *  and of an unknown length. */
export function mixed(agent: http.Agent, base: URL, n: number, only?: string): Promise<Result> {
  const pick = { get: 0, post: 10, upload: 15, chunked: 18 }[only ?? ""] ?? n % 20;
  if (pick < 10) {
    return send(agent, base, "GET front controller", { method: "GET", path: `/load/${n}?q=${n}`, check: (b) => b.includes(`REQUEST_URI=/load/${n}?q=${n}\n`) });
  }
  if (pick < 15) {
    const form = `n=${n}&pad=${"x".repeat(n % 2000)}`;
    return send(agent, base, "POST form", {
      method: "POST", path: "/echo.php", headers: { "content-type": "application/x-www-form-urlencoded" }, body: [Buffer.from(form)],
      check: (b) => b.includes(`"length":${form.length},`) && b.includes(`"n":"${n}"`),
    });
  }
  const size = 65_536 + ((n * 7919) % (UPLOAD.length - 65_536));
  const body = UPLOAD.subarray(0, size);
  const digest = sha256(body);
  const check = (b: string) => b.includes(`"length":${size},`) && b.includes(digest);
  const headers = { "content-type": "application/octet-stream" };
  if (pick < 18) return send(agent, base, "POST upload", { method: "POST", path: "/echo.php", headers, body: [body], check });
  const third = Math.floor(size / 3);
  return send(agent, base, "POST upload, chunked", {
    method: "POST", path: "/echo.php", headers, body: [body.subarray(0, third), body.subarray(third, 2 * third), body.subarray(2 * third)], chunked: true, check,
  });
}

/** A client that leaves mid-request, in one of three ways: half a head, half a body, or after
 *  the first bytes of a slow response. */
export function hangUp(base: URL, n: number): Promise<string> {
  const kind = ["half a head", "half a body", "mid-response"][n % 3];
  return new Promise((resolve) => {
    const s = net.connect(Number(base.port), base.hostname);
    const leave = () => {
      s.destroy();
      resolve(kind);
    };
    s.on("error", leave);
    s.setTimeout(20_000, leave);
    s.on("connect", () => {
      if (n % 3 === 0) {
        s.write(`GET /load/hang-${n} HTTP/1.1\r\nHost: soak\r\nX-Pad: `);
        setTimeout(leave, 50);
      } else if (n % 3 === 1) {
        s.write(`POST /echo.php HTTP/1.1\r\nHost: soak\r\nContent-Type: application/octet-stream\r\nContent-Length: 400000\r\n\r\n`);
        s.write(UPLOAD.subarray(0, 100_000), () => setTimeout(leave, 50));
      } else {
        s.write(`GET /drip.php?n=40 HTTP/1.1\r\nHost: soak\r\nAccept-Encoding: identity\r\n\r\n`);
        s.once("data", () => setTimeout(leave, 30));
      }
    });
  });
}
