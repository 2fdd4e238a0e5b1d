// A decoded path back to a request-target path: each segment percent-encoded where RFC 3986
// requires ("@" and ":" may stay, as pchar allows).
export function encodePath(path: string): string {
  return path
    .split("/")
    .map((s) => encodeURIComponent(s).replace(/%40/g, "@").replace(/%3A/gi, ":"))
    .join("/");
}
