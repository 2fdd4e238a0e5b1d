// npm run fuzz:wire -- [--cases N] [--seed N]
//
// The front door of `edgepass serve`, fuzzed end to end: well-formed requests (a PHP page, a
// form POST, a chunked upload with a trailer, Expect: 100-continue, HEAD, HTTP/1.0, an
// absolute-form target, OPTIONS *, a range on a static file, three pipelined requests…) are
// mutated (bytes inserted, deleted, replaced and repeated, framing fields and separators
// spliced in, numbers changed, the tail cut off) and each is sent on a connection of its own,
// in two writes split at a random point (rawExchange), mostly followed by a half-close. serve runs with the
// config a user writes, in front of a real php-fpm and a static directory. What must hold:
//   - after the client's half-close, the answer and the close come within 5 s (no hang);
//   - whatever comes back starts with an HTTP/1.1 status line (no stray bytes);
//   - serve keeps answering: a plain GET every 40 cases gets its 200;
//   - serve logs nothing at level error and no failed connection (client garbage is a 4xx,
//     the client's mistake, logged at warn).
// Prints the statuses seen, and each problem with its case number, the bytes sent and the
// bytes received; --seed reproduces a run. Exit status 1 when anything was found. Not part
// of `npm test`.
import path from "node:path";
import { publicCopy, startPhpFpm } from "../test/helpers/php-fpm";
import { repoRoot, startServe } from "../test/helpers/process";
import { rawExchange } from "../test/helpers/raw-http";

function parseArgs(argv: string[]): { cases: number; seed: number } {
  const out = { cases: 2000, seed: Math.floor(Math.random() * 2 ** 31) };
  for (let i = 0; i < argv.length; i++) {
    const [a, v] = [argv[i], Number(argv[i + 1])];
    if (a === "--cases" && v > 0) (out.cases = Math.floor(v)), i++;
    else if (a === "--seed" && Number.isInteger(v)) (out.seed = v), i++;
    else {
      console.error(`fuzz:wire: bad option ${a}\nusage: npm run fuzz:wire -- [--cases N] [--seed N]`);
      process.exit(2);
    }
  }
  return out;
}

const CORPUS = [
  "GET /status.php HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /echo.php?x=1 HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\nCookie: a=b\r\n\r\n",
  "POST /echo.php HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
  "POST /echo.php HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
  "POST /echo.php HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
  "HEAD /index.php HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /ret HTTP/1.0\r\n\r\n",
  "GET http://a/ret HTTP/1.1\r\nHost: a\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  'GET /uploads/ HTTP/1.1\r\nHost: a\r\nRange: bytes=0-3\r\nIf-None-Match: "x"\r\n\r\n',
  "GET /ret HTTP/1.1\r\nHost: a\r\n\r\nGET /status.php HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo.php HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
  "GET /big.php?n=100 HTTP/1.1\r\nHost: a\r\n\r\n",
  "DELETE /echo.php HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
  "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
];
const SPLICES = ["\r", "\n", "\0", " ", ":", "\t", "\r\n", "\r\n\r\n", "0", "9", "-", ",", "Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n", "Host: b\r\n", "%", "/..", "\x7f", "\xff", "HTTP/1.1", "?", "#"];

const { cases, seed } = parseArgs(process.argv.slice(2));
let state = seed;
/** A small seeded generator (an LCG): the same --seed gives the same cases. */
const rnd = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;

function mutate(s: string): string {
  let b = s;
  for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
    const at = Math.floor(rnd() * (b.length + 1));
    const op = rnd();
    if (op < 0.3) b = b.slice(0, at) + pick(SPLICES) + b.slice(at);
    else if (op < 0.5) b = b.slice(0, at) + b.slice(at + 1 + Math.floor(rnd() * 6));
    else if (op < 0.65) b = b.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + b.slice(at + 1);
    else if (op < 0.8) {
      const end = Math.min(b.length, at + Math.floor(rnd() * 40));
      b = b.slice(0, end) + b.slice(at, end) + b.slice(end);
    } else if (op < 0.9) b = b.replace(/\d+/, String(Math.floor(rnd() * 100000)));
    else b = b.slice(0, at);
  }
  return b;
}

async function main(): Promise<number> {
  console.log(`fuzz:wire: ${cases} cases, seed ${seed}`);
  const www = publicCopy(path.join(repoRoot, "test/fixtures/www"));
  const fpm = await startPhpFpm({ maxChildren: 4 });
  const serve = await startServe(`[upstreams.php]
protocol = "fastcgi"
servers = ["127.0.0.1:${fpm.port}"]

[[routes]]
match = "= /ret"
return = "200 ok"

[[routes]]
match = "~ [^/]\\\\.php(/|$)"
upstream = "php"
root = "${www}"

[assets]
directory = "${www}"
`);
  // Without our half-close an incomplete head waits for header_timeout: look for a short while.
  const exchange = (pieces: Buffer[], halfClose: boolean) => rawExchange(serve.base, pieces, halfClose ? 5000 : 600, { halfClose });
  const statuses = new Map<string, number>();
  let problems = 0;
  const report = (i: number, what: string, sent: Buffer, got: Buffer) => {
    problems++;
    console.log(`#${i}: ${what}\n  sent ${JSON.stringify(sent.toString("latin1"))}\n  got  ${JSON.stringify(got.toString("latin1").slice(0, 300))}`);
  };
  try {
    for (let i = 0; i < cases; i++) {
      const input = Buffer.from(mutate(pick(CORPUS)), "latin1");
      const halfClose = rnd() < 0.8;
      const cut = Math.floor(rnd() * input.length);
      const { raw: out, closed } = await exchange([input.subarray(0, cut), input.subarray(cut)], halfClose);
      const text = out.toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? (out.length > 0 ? "no status line" : closed ? "closed, nothing sent" : "open, nothing sent");
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (halfClose && !closed) report(i, "no answer and close within 5 s of our half-close", input, out);
      else if (out.length > 0 && status === "no status line") report(i, "an answer that does not start with a status line", input, out);
      if (i % 40 === 39) {
        const { raw: ok } = await exchange([Buffer.from("GET /ret HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")], true);
        if (!ok.toString("latin1").startsWith("HTTP/1.1 200 ")) {
          report(i, "serve stopped answering a plain GET after this case", input, ok);
          break;
        }
      }
    }
  } finally {
    await serve.stop();
    await fpm.stop();
  }
  const errors = (serve.run.stdout + serve.run.stderr).split("\n").filter((l) => /"level":"error"|connection_failed|Uncaught|at .*\(.*:\d+:\d+\)/.test(l));
  for (const l of errors.slice(0, 20)) console.log(`logged: ${l.slice(0, 400)}`);
  console.log(`statuses: ${[...statuses].sort().map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`problems: ${problems}; error lines logged: ${errors.length}`);
  return problems === 0 && errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`fuzz:wire: ${(e as Error).stack ?? e}`);
    process.exit(2);
  },
);
