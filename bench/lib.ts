// Shared by the benchmarks: a warm-up-then-measure timer and a plain table printer.

/** Median nanoseconds per call over several timed batches, after a warm-up. */
export function timeIt(fn: () => unknown, batchMs = 300, batches = 7): number {
  let sink = 0;
  const start = performance.now();
  while (performance.now() - start < 200) sink += Number(fn()) || 0;
  let per = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < per; i++) sink += Number(fn()) || 0;
    if (performance.now() - t > batchMs / 4) break;
    per *= 2;
  }
  const results: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) sink += Number(fn()) || 0;
    results.push(((performance.now() - t) * 1e6) / per);
  }
  if (sink === -1) console.log(sink);
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

export function table(title: string, rows: Array<Record<string, string>>): void {
  console.log(`\n${title}\n`);
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(width[i])).join(" | ") + " |";
  console.log(line(cols));
  console.log("|" + width.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

/** nginx in front of php-fpm the way a PHP site runs it: one worker, fastcgi_pass with the
 *  stock fastcgi_params. With `keepalive`, an upstream pool of that many idle connections
 *  (fastcgi_keep_conn on), each closed after 1 s idle. */
export function nginxPhpConfig(o: { dir: string; port: number; www: string; fpmPort: number; keepalive?: number }): string {
  const isRoot = process.getuid?.() === 0;
  const pool = o.keepalive ? `upstream php { server 127.0.0.1:${o.fpmPort}; keepalive ${o.keepalive}; keepalive_timeout 1s; }` : "";
  return `${isRoot ? "user nobody nogroup;" : ""}
worker_processes 1;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${o.dir}/body; fastcgi_temp_path ${o.dir}/fcgi; proxy_temp_path ${o.dir}/proxy;
  uwsgi_temp_path ${o.dir}/uwsgi; scgi_temp_path ${o.dir}/scgi;
  ${pool}
  server {
    listen 127.0.0.1:${o.port};
    root ${o.www};
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      ${o.keepalive ? "fastcgi_keep_conn on;\n      fastcgi_pass php;" : `fastcgi_pass 127.0.0.1:${o.fpmPort};`}
    }
  }
}
`;
}
