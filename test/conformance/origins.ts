// The origins the conformance suite runs against, started once and shared by every host: one
// real uWSGI serving the conformance app (test/fixtures/apps/wsgi/app.py) on a FastCGI, an
// SCGI, a uwsgi and an HTTP/1.1 socket at once, and two scripted origins that misbehave on cue
// (test/helpers/rogue-*.ts), one for FastCGI and one for the byte-stream protocols.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startRogueFastcgi } from "../helpers/rogue-fastcgi.js";
import { startRogueStream } from "../helpers/rogue-stream.js";
import type { ScriptedServer } from "../helpers/scripted-server.js";
import { appsCopy } from "../helpers/servers/apps.js";
import { startUwsgiAllProtocols, type UwsgiAllProtocols } from "../helpers/servers/uwsgi.js";

export interface ConformanceOrigins {
  app: UwsgiAllProtocols["ports"];
  rogueFastcgi: number;
  rogueStream: number;
  /** uWSGI's output, for a failure message. */
  log(): string;
  stop(): Promise<void>;
}

export async function startConformanceOrigins(): Promise<ConformanceOrigins> {
  const apps = appsCopy();
  const started = await Promise.allSettled([startUwsgiAllProtocols(join(apps, "wsgi", "app.py")), startRogueFastcgi(), startRogueStream()] as const);
  const [uwsgi, fcgi, stream] = started;
  const stop = async () => {
    await Promise.all([
      uwsgi.status === "fulfilled" ? uwsgi.value.server.stop() : undefined,
      fcgi.status === "fulfilled" ? fcgi.value.close() : undefined,
      stream.status === "fulfilled" ? stream.value.close() : undefined,
    ]);
    rmSync(apps, { recursive: true, force: true });
  };
  for (const s of started) {
    if (s.status === "rejected") {
      await stop();
      throw s.reason;
    }
  }
  const value = <T>(s: PromiseSettledResult<T>) => (s as PromiseFulfilledResult<T>).value;
  return {
    app: value(uwsgi).ports,
    rogueFastcgi: value<ScriptedServer>(fcgi).port,
    rogueStream: value<ScriptedServer>(stream).port,
    log: () => value(uwsgi).server.log(),
    stop,
  };
}
