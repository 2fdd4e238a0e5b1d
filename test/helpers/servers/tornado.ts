// tornado serving test/fixtures/apps/tornado/ws_app.py on a free loopback port: a real
// WebSocket origin (tornado's own HTTP server and WebSocket implementation).
import { join } from "node:path";
import { freePort } from "../php-fpm.js";
import { appsSource, debianPython } from "./apps.js";
import { launch, type Server } from "./launch.js";

export async function startTornado(): Promise<Server> {
  const python = debianPython("tornado", "python3-tornado");
  const port = await freePort();
  return launch({
    name: "tornado",
    command: python,
    args: [join(appsSource, "tornado/ws_app.py"), String(port)],
    port,
  });
}
