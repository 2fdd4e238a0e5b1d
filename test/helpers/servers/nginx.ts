// nginx as a reference: one server block (the test's own lines) on a free loopback port, in
// the foreground with its own prefix, temporary files and error log.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../php-fpm.js";
import { findProgram, launch, type Server } from "./launch.js";

/** `server` holds the lines of the server block after `listen`; `dir` is where its files may go
 *  (more server blocks may follow, closing this one: they listen on `port` too). `http`: lines
 *  of the http block before the server (fastcgi_cache_path). */
export async function startNginx(server: (dir: string, port: number) => string, http?: (dir: string) => string): Promise<Server & { dir: string }> {
  const bin = findProgram("nginx", "nginx");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "edgepass-nginx-"));
  // Run as root, nginx's workers are nobody: they must read what the test writes here.
  chmodSync(dir, 0o755);
  const conf = [
    "daemon off;",
    "worker_processes 1;",
    `pid ${join(dir, "nginx.pid")};`,
    `error_log ${join(dir, "error.log")} info;`,
    "events { worker_connections 256; }",
    "http {",
    `  access_log off;`,
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${join(dir, t)};`),
    ...(http ? [http(dir)] : []),
    "  server {",
    `    listen 127.0.0.1:${port};`,
    server(dir, port),
    "  }",
    "}",
    "",
  ].join("\n");
  writeFileSync(join(dir, "nginx.conf"), conf);
  const s = await launch({ name: "nginx", command: bin, args: ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], port, dir, logFiles: [join(dir, "error.log")] });
  return { ...s, dir };
}

/** nginx's usual PHP location: every .php script under `root` to php-fpm at `fpm`
 *  ("127.0.0.1:PORT" or "unix:PATH"), with `extra` lines inside. */
export function phpLocation(root: string, fpm: string, extra = ""): string {
  return `    location ~ \\.php$ {
      root ${root};
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass ${fpm};
${extra}    }`;
}
