#!/usr/bin/env node
// Records a real PHP-FPM response as a test fixture:
//   node test/helpers/record-fpm.mjs
// starts php-fpm (Debian package php-fpm, found on PATH or in the sbin directories; override
// with PHP_FPM=/path/to/php-fpm) on a free
// loopback port with a throwaway config, sends one hand-built FastCGI request for the script
// test/vectors/fixtures/php-fpm-script.php, and writes the raw response bytes to
// test/vectors/fixtures/php-fpm-response.bin. The request is built here byte by byte from the
// FastCGI spec (not with our encoder), so the fixture does not depend on the code it tests.

import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "vectors", "fixtures");
function findFpm() {
  if (process.env.PHP_FPM) return process.env.PHP_FPM;
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"];
  const names = ["php-fpm", "php-fpm8.4", "php-fpm8.3", "php-fpm8.2", "php-fpm8.1"];
  for (const name of names) for (const dir of dirs) if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  throw new Error("php-fpm not found: install the php-fpm package or set PHP_FPM");
}
const fpmBinary = findFpm();

// --- FastCGI 1.0 by hand (spec 3.3 record header, 3.4 name-value pairs, 5.1 BEGIN_REQUEST) ---
function record(type, id, content) {
  const pad = (8 - (content.length % 8)) % 8;
  const h = Buffer.from([1, type, id >> 8, id & 0xff, content.length >> 8, content.length & 0xff, pad, 0]);
  return Buffer.concat([h, content, Buffer.alloc(pad)]);
}
function len(n) {
  return n < 128 ? Buffer.from([n]) : Buffer.from([((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}
function pairs(obj) {
  return Buffer.concat(
    Object.entries(obj).map(([k, v]) => {
      const kb = Buffer.from(k);
      const vb = Buffer.from(v);
      return Buffer.concat([len(kb.length), len(vb.length), kb, vb]);
    }),
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`php-fpm exited with code ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("php-fpm did not start listening");
}

function exchange(port, request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(request));
    s.on("data", (d) => chunks.push(d));
    s.on("error", reject);
    // Without FCGI_KEEP_CONN the application closes the connection after END_REQUEST (spec 5.1).
    s.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), "edgepass-fpm-"));
const script = path.join(dir, "index.php");
copyFileSync(path.join(fixtures, "php-fpm-script.php"), script);
const port = await freePort();
const asRoot = process.getuid?.() === 0;
writeFileSync(
  path.join(dir, "php-fpm.conf"),
  [
    "[global]",
    `error_log = ${path.join(dir, "fpm.log")}`,
    `pid = ${path.join(dir, "fpm.pid")}`,
    "daemonize = no",
    "[edgepass]",
    `listen = 127.0.0.1:${port}`,
    "pm = static",
    "pm.max_children = 2",
    "clear_env = no",
    ...(asRoot ? ["user = root", "group = root"] : []),
    "",
  ].join("\n"),
);
const child = spawn(
  fpmBinary,
  ["-F", "-n", "-y", path.join(dir, "php-fpm.conf"), "-d", "expose_php=0", ...(asRoot ? ["-R"] : [])],
  { stdio: ["ignore", "inherit", "inherit"] },
);
try {
  await waitForPort(port, child);
  const id = 1;
  const params = pairs({
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: "GET",
    SCRIPT_FILENAME: script,
    SCRIPT_NAME: "/index.php",
    REQUEST_URI: "/index.php?x=1",
    QUERY_STRING: "x=1",
    SERVER_NAME: "example.test",
    SERVER_PORT: "80",
    REMOTE_ADDR: "192.0.2.1",
    CONTENT_LENGTH: "0",
  });
  const request = Buffer.concat([
    record(1, id, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])), // RESPONDER, flags 0 (close after)
    record(4, id, params),
    record(4, id, Buffer.alloc(0)),
    record(5, id, Buffer.alloc(0)),
  ]);
  const response = await exchange(port, request);
  if (response.includes(Buffer.from(dir))) throw new Error("response mentions the temp dir; fixture would leak a local path");
  writeFileSync(path.join(fixtures, "php-fpm-response.bin"), response);
  console.log(`recorded ${response.length} bytes to test/vectors/fixtures/php-fpm-response.bin`);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
  rmSync(dir, { recursive: true, force: true });
}
