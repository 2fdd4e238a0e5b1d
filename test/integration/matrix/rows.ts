// The deployment matrix: each row is a real app server, started the way it is deployed behind
// nginx, and the edgepass route that fronts it. All rows run the same app (test/fixtures/apps),
// so the same checks fit every row; matrix.test.ts routes them all from one config.
import { join } from "node:path";
import { startPhpFpm } from "../../helpers/php-fpm.js";
import { startApache } from "../../helpers/servers/apache.js";
import { startFcgiwrap } from "../../helpers/servers/fcgiwrap.js";
import { startGevent } from "../../helpers/servers/gevent.js";
import { startGunicorn } from "../../helpers/servers/gunicorn.js";
import { asServer, type Server } from "../../helpers/servers/launch.js";
import { startSpawnFcgi } from "../../helpers/servers/spawn-fcgi.js";
import { startUwsgi } from "../../helpers/servers/uwsgi.js";

export type Protocol = "fastcgi" | "scgi" | "uwsgi" | "http";
export type Action = "query" | "echo" | "status" | "cookies" | "big";

export interface Row {
  /** The URL prefix (/<name>/) and the upstream's name in the config. */
  name: string;
  title: string;
  protocol: Protocol;
  /** `apps` is a world-readable copy of test/fixtures/apps. */
  start(apps: string): Promise<Server>;
  /** Script mode: files (docroot-relative name → apps-relative source) placed under
   *  <docroot>/<name>/, and the route's split extensions. Absent: app mode (no root). */
  script?: { files: Record<string, string>; split?: string[] };
  /** The request path for an action. */
  path(action: Action): string;
  /** For the query action: SCRIPT_NAME and PATH_INFO as edgepass must build them (CGI-style
   *  protocols only; an HTTP origin computes its own). */
  cgi?: { scriptName: string; pathInfo: string };
  /** HTTP origins that refuse chunked request bodies (411) get request_buffering = true. */
  requestBuffering?: boolean;
}

/** An app-mode row: /<name>/<action>, with SCRIPT_NAME "" and the whole path in PATH_INFO
 *  when edgepass builds the params (no root, so no SCRIPT_FILENAME either). */
function appMode(name: string, title: string, protocol: Protocol, start: Row["start"]): Row {
  const cgi = protocol === "http" ? undefined : { scriptName: "", pathInfo: `/${name}/query` };
  return { name, title, protocol, start, path: (a) => `/${name}/${a}`, cgi };
}

/** A script row: /<name>/<script>/<action>, SCRIPT_FILENAME = root + /<name>/<script>. */
function scriptMode(name: string, title: string, script: string, files: Record<string, string>, split: string[] | undefined, start: Row["start"]): Row {
  return {
    name,
    title,
    protocol: "fastcgi",
    start,
    script: { files, split },
    path: (a) => `/${name}/${script}/${a}`,
    cgi: { scriptName: `/${name}/${script}`, pathInfo: "/query" },
  };
}

const cgiFiles = { "app.cgi": "cgi/app.cgi", "app.py": "wsgi/app.py" };
const wsgiFile = (apps: string) => join(apps, "wsgi/app.py");

export const rows: Row[] = [
  scriptMode("fcgiwrap", "1. CGI script through fcgiwrap (FastCGI)", "app.cgi", cgiFiles, [".cgi"], () => startFcgiwrap()),
  scriptMode("spawn-fcgi", "2. spawn-fcgi launching fcgiwrap (FastCGI)", "app.cgi", cgiFiles, [".cgi"], () => startSpawnFcgi()),
  appMode("uwsgi-fastcgi", "3a. uWSGI --fastcgi-socket, WSGI app (FastCGI)", "fastcgi", (apps) =>
    startUwsgi({ socket: "fastcgi", wsgiFile: wsgiFile(apps) }),
  ),
  scriptMode("php-fpm", "3b. PHP-FPM (FastCGI)", "app.php", { "app.php": "php/app.php" }, undefined, async () =>
    asServer("php-fpm", await startPhpFpm({ maxChildren: 2 })),
  ),
  appMode("uwsgi-scgi", "4. uWSGI --scgi-socket (SCGI)", "scgi", (apps) => startUwsgi({ socket: "scgi", wsgiFile: wsgiFile(apps) })),
  appMode("uwsgi-uwsgi", "5. uWSGI --socket (uwsgi protocol)", "uwsgi", (apps) => startUwsgi({ socket: "uwsgi", wsgiFile: wsgiFile(apps) })),
  appMode("gevent", "6. gevent WSGIServer (HTTP)", "http", (apps) => startGevent({ appDir: join(apps, "wsgi") })),
  appMode("gunicorn", "7. gunicorn (HTTP)", "http", (apps) => startGunicorn({ wsgiFile: wsgiFile(apps) })),
  // Apache answers 411 to a chunked request body (mod_wsgi unless WSGIChunkedRequest On):
  // these two rows buffer unknown-length bodies the way nginx's proxy_request_buffering does.
  { ...appMode("mod-wsgi", "8. Apache + mod_wsgi (HTTP)", "http", (apps) => startApache({ kind: "wsgi", wsgiFile: wsgiFile(apps) })), requestBuffering: true },
  {
    ...appMode("mod-python", "9. Apache + mod_python (HTTP)", "http", (apps) =>
      startApache({ kind: "python", dir: join(apps, "mod_python"), module: "handler" }),
    ),
    requestBuffering: true,
  },
];

/** One edgepass config routing every row's prefix to its origin. */
export function matrixConfig(entries: Array<{ row: Row; port: number }>, docroot: string): string {
  const out: string[] = ["# Written by test/integration/matrix.test.ts: one route per deployment row.", ""];
  for (const { row, port } of entries) {
    out.push(`[upstreams.${row.name}]`, `protocol = "${row.protocol}"`, `servers = ["127.0.0.1:${port}"]`);
    if (row.requestBuffering) out.push("request_buffering = true");
    out.push("");
  }
  for (const { row } of entries) {
    out.push("[[routes]]", `match = "^~ /${row.name}/"`, `upstream = "${row.name}"`);
    if (row.script) {
      out.push(`root = ${JSON.stringify(docroot)}`);
      if (row.script.split) out.push(`split = ${JSON.stringify(row.script.split)}`);
    }
    out.push("");
  }
  return out.join("\n");
}
