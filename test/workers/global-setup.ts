// Starts the real origins the workerd tests talk to (Node side), and hands their ports to
// the tests through vitest's provide/inject.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, publicCopy, startPhpFpm } from "../helpers/php-fpm.js";
import { startRogueFastcgi } from "../helpers/rogue-fastcgi.js";
import { startRogueStream } from "../helpers/rogue-stream.js";
import { appsCopy } from "../helpers/servers/apps.js";
import { findProgram, launch, requireFile } from "../helpers/servers/launch.js";

const here = dirname(fileURLToPath(import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    phpPort: number;
    phpRoot: string;
    deadPort: number;
    roguePort: number;
    rogueStreamPort: number;
    uwsgiPorts: { fastcgi: number; scgi: number; uwsgi: number; http: number };
    /** test/fixtures/site, absolute: the ASSETS binding's directory (X-Sendfile paths). */
    siteDir: string;
  }
}

export default async function setup(project: TestProject) {
  const root = publicCopy(join(here, "..", "fixtures", "www"));
  const fpm = await startPhpFpm({ maxChildren: 4 });
  project.provide("phpPort", fpm.port);
  project.provide("phpRoot", root);
  project.provide("siteDir", join(here, "..", "fixtures", "site"));
  // A port nothing listens on, for the "origin not running" case.
  project.provide("deadPort", await freePort());
  const rogue = await startRogueFastcgi();
  project.provide("roguePort", rogue.port);
  const rogueStream = await startRogueStream();
  project.provide("rogueStreamPort", rogueStream.port);
  const apps = appsCopy();
  const uwsgi = await startUwsgiAllProtocols(join(apps, "wsgi", "app.py"));
  project.provide("uwsgiPorts", uwsgi.ports);
  return async () => {
    await fpm.stop();
    await rogue.close();
    await rogueStream.close();
    await uwsgi.server.stop();
    rmSync(apps, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  };
}

/** One uWSGI serving the conformance app on a FastCGI, an SCGI, a uwsgi and an HTTP socket at
 *  once: the same app behind all four protocols, so every difference the suite sees is ours. */
async function startUwsgiAllProtocols(wsgiFile: string) {
  const bin = findProgram("uwsgi", "uwsgi");
  requireFile("/usr/lib/uwsgi/plugins/python3_plugin.so", "uWSGI's Python 3 plugin", "uwsgi-plugin-python3");
  const ports = { fastcgi: await freePort(), scgi: await freePort(), uwsgi: await freePort(), http: await freePort() };
  const server = await launch({
    name: "uWSGI (all protocols)",
    command: bin,
    args: [
      "--plugin", "python3",
      "--fastcgi-socket", `127.0.0.1:${ports.fastcgi}`,
      "--scgi-socket", `127.0.0.1:${ports.scgi}`,
      "--socket", `127.0.0.1:${ports.uwsgi}`,
      "--http-socket", `127.0.0.1:${ports.http}`,
      "--wsgi-file", wsgiFile,
      "--need-app", "--master", "--processes", "2", "--die-on-term",
      "--buffer-size", "32768",
      // --http-socket answers HTTP/1.1 with a length and then closes the connection without
      // saying so. A test runs its requests in one I/O context, where workerd's fetch() keeps
      // that connection for the next request and fails it ("Network connection lost": the
      // via = "fetch" case lost its Set-Cookie or its echo now and then). A deployed Worker
      // makes one origin fetch per client request; this makes the test origin say it closes.
      "--add-header", "Connection: close",
    ],
    port: ports.http,
  });
  return { ports, server };
}
