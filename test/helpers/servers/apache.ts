// Apache httpd on a free loopback port with a minimal httpd.conf of its own (no /etc/apache2),
// serving a Python app through mod_wsgi or mod_python: the "Apache as app server" tier that a
// front proxy (nginx's proxy_pass, here edgepass) talks HTTP/1.1 to.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../php-fpm.js";
import { findProgram, launch, requireFile, type Server } from "./launch.js";

/** Where Debian's apache2 and libapache2-mod-* packages put their modules. */
const MODULES = "/usr/lib/apache2/modules";

export type ApacheApp =
  /** mod_wsgi (embedded mode) with WSGIScriptAlias / → file: the app sees SCRIPT_NAME "" and
   *  the whole path in PATH_INFO. */
  | { kind: "wsgi"; wsgiFile: string }
  /** mod_python with `PythonHandler module` for everything, the module found in dir. */
  | { kind: "python"; dir: string; module: string };

function module(name: string, file: string, pkg: string): string {
  return `LoadModule ${name} ${requireFile(join(MODULES, file), `Apache's ${file}`, pkg)}`;
}

export async function startApache(app: ApacheApp): Promise<Server> {
  const bin = findProgram("apache2", "apache2");
  const dir = mkdtempSync(join(tmpdir(), `edgepass-apache-${app.kind}-`));
  // It is also the DocumentRoot: Apache's children (nobody, as root) must be able to search it
  // or every request maps to a 403.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const errorLog = join(dir, "error.log");
  const conf = [
    `ServerRoot "${dir}"`,
    `DefaultRuntimeDir "${dir}"`,
    `PidFile "${join(dir, "httpd.pid")}"`,
    `ErrorLog "${errorLog}"`,
    "LogLevel warn",
    `Listen 127.0.0.1:${port}`,
    "ServerName 127.0.0.1",
    `DocumentRoot "${dir}"`,
    // Apache refuses to serve as root: its children run as nobody, like Debian's www-data.
    ...(process.getuid?.() === 0 ? ["User nobody", "Group nogroup"] : []),
    // prefork for both: mod_python wants one interpreter per process, and mod_wsgi embedded
    // in the event MPM leaves a child that does not exit on shutdown. Sized for a test.
    module("mpm_prefork_module", "mod_mpm_prefork.so", "apache2"),
    "StartServers 2",
    "MinSpareServers 1",
    "MaxSpareServers 4",
    "MaxRequestWorkers 8",
    module("authz_core_module", "mod_authz_core.so", "apache2"),
    ...(app.kind === "wsgi"
      ? [
          module("wsgi_module", "mod_wsgi.so", "libapache2-mod-wsgi-py3"),
          `WSGIScriptAlias / "${app.wsgiFile}"`,
        ]
      : [
          module("python_module", "mod_python.so", "libapache2-mod-python"),
          // Its session mutexes go in our directory, not /tmp.
          `PythonOption mod_python.mutex_directory "${dir}"`,
          "<Location />",
          "  SetHandler mod_python",
          `  PythonHandler ${app.module}`,
          // A Python list expression inside the directive's double quotes.
          `  PythonPath "['${app.dir}'] + sys.path"`,
          "</Location>",
        ]),
    "<Location />",
    "  Require all granted",
    "</Location>",
    "",
  ].join("\n");
  const confFile = join(dir, "httpd.conf");
  writeFileSync(confFile, conf);
  return launch({
    name: `Apache (mod_${app.kind})`,
    command: bin,
    // -DFOREGROUND: the parent stays attached, so stopping it stops the server.
    args: ["-d", dir, "-f", confFile, "-DFOREGROUND"],
    port,
    dir,
    logFiles: [errorLog],
  });
}
