// X-Accel-Redirect (nginx) and X-Sendfile (Apache, lighttpd): the origin decides who may
// download a file and names it; the gateway sends the bytes from the assets (or the R2
// bucket) instead of the origin streaming them. The origin's headers that describe the
// download survive, as nginx keeps them (ngx_http_upstream's "redirect" headers).
import type { AssetsConfig } from "../config/types.js";
import { normalizePath } from "./script-path.js";
import type { Fields } from "../core/response-fields.js";

/** Origin headers kept on the file's answer; the origin's Content-Type wins over the file's. */
export const KEPT_ON_REDIRECT = ["content-type", "content-disposition", "cache-control", "expires", "set-cookie"];

export type AccelTarget = { path: string; header: string } | { refused: string; header: string } | null;

export function accelTarget(headers: Fields, assets: AssetsConfig | undefined): AccelTarget {
  const xar = headers.get("x-accel-redirect");
  if (xar !== null) {
    const raw = xar.trim().split("?")[0];
    const norm = normalizePath(raw);
    if ("error" in norm || !norm.path.startsWith("/")) return { refused: `X-Accel-Redirect ${JSON.stringify(xar)} is not a path`, header: "x-accel-redirect" };
    return { path: norm.path, header: "x-accel-redirect" };
  }
  const xs = headers.get("x-sendfile");
  if (xs !== null) {
    const file = xs.trim();
    const root = assets?.absoluteDirectory;
    if (!root) return { refused: "X-Sendfile needs [assets] directory as an absolute path (or a config file to resolve it against)", header: "x-sendfile" };
    const prefix = root === "/" ? "/" : root + "/";
    if (!file.startsWith(prefix) || /[\u0000-\u001f\u007f]/.test(file) || file.split("/").some((s) => s === "..")) {
      return { refused: `X-Sendfile ${JSON.stringify(file)} is not inside the assets directory ${root}`, header: "x-sendfile" };
    }
    return { path: "/" + file.slice(prefix.length).replace(/^\/+/, ""), header: "x-sendfile" };
  }
  return null;
}
