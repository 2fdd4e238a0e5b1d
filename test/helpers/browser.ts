// Just enough of a browser for a scripted user: a cookie jar (session and login cookies) and
// no redirect following, so each step's answer can be checked.
import { setCookies } from "./headers.js";

export function browser(base: () => string) {
  const jar = new Map<string, string>();
  return async (p: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(base() + p, { ...init, headers, redirect: "manual" });
    for (const c of setCookies(res.headers)) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      // An expired cookie ("deleted", Max-Age=0) leaves the jar.
      if (value === "deleted" || /;\s*max-age=0\b/i.test(c)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
}
