// Advice for what a capture shows, beyond the codec's message: what the bytes probably are,
// and what edgepass answers the client when it meets them.
import { latin1 } from "./listing.js";

/** What bytes that failed to frame as `expected` look like instead (nothing when they look
 *  like `expected` itself: then the codec's message says what is wrong). */
export function looksLike(bytes: Uint8Array, expected: string): string | undefined {
  const text = latin1(bytes.subarray(0, 64));
  const http = expected === "HTTP/1.1";
  const cgiResponse = expected.endsWith(" response");
  if (/^HTTP\/\d/.test(text)) {
    if (http || cgiResponse) return undefined;
    return `These bytes are an HTTP response ("${text.split("\r")[0]}"): the server on this port speaks HTTP, not ${expected}. Point the upstream at the ${expected} socket, or use protocol = "http".`;
  }
  if (/^[A-Z]{3,10} \S/.test(text)) return http ? undefined : `These bytes look like an HTTP request: the peer speaks HTTP, not ${expected}.`;
  if (bytes[0] === 0x16 && bytes[1] === 0x03) return `These bytes are a TLS handshake: the peer expects TLS, not plain ${expected}.`;
  if (bytes[0] === 0x15 && bytes[1] === 0x03) return `These bytes are a TLS alert: the peer speaks TLS, not plain ${expected}.`;
  if (bytes[0] === 1 && bytes[1] >= 1 && bytes[1] <= 11) return expected === "FastCGI" ? undefined : 'These bytes are FastCGI records: the peer speaks FastCGI; use protocol = "fastcgi".';
  if (/^(Status|Content-type|X-Powered-By):/i.test(text)) {
    return cgiResponse ? undefined : `These bytes are a CGI response head without ${expected} framing: the server speaks SCGI or uwsgi (or plain CGI), not ${expected}.`;
  }
  return undefined;
}

/** Advice for a FastCGI STDERR message (php-fpm's most common ones). */
export function stderrHints(text: string, params: Map<string, string> | undefined): string[] {
  const hints: string[] = [];
  const script = params?.get("SCRIPT_FILENAME");
  if (/Primary script unknown/i.test(text)) {
    hints.push(
      `php-fpm found no file at SCRIPT_FILENAME${script !== undefined ? ` = "${script}"` : " (not in the capture)"}. ` +
        "It looks the path up on its own file system: check the route's `root` (DOCUMENT_ROOT" +
        `${params?.has("DOCUMENT_ROOT") ? ` = "${params.get("DOCUMENT_ROOT")}"` : ""}), that the file exists there, and that the pool's user may read it (a container or chroot sees other paths). php-fpm answers 404 "File not found.".`,
    );
  }
  if (/security\.limit_extensions/.test(text)) {
    hints.push("php-fpm refused a script whose name does not end in an allowed extension (security.limit_extensions); check the route's `split` and that SCRIPT_FILENAME names a .php file.");
  }
  if (/Unable to open primary script/i.test(text)) {
    hints.push(`php-fpm could not open SCRIPT_FILENAME${script !== undefined ? ` = "${script}"` : ""}: it exists but the pool's user may not read it (permissions, open_basedir).`);
  }
  return hints;
}

/** FastCGI END_REQUEST protocol status: what it means for the client. */
export function endRequestHint(protocolStatus: number): string | undefined {
  switch (protocolStatus) {
    case 1:
      return "CANT_MPX_CONN: the app does not take a second request on this connection while one is in flight; edgepass answers 502. Its pool asks FCGI_MPXS_CONNS first and does not multiplex such apps.";
    case 2:
      return "OVERLOADED: the app has no worker free (php-fpm at pm.max_children with a full backlog); edgepass answers 503 with Retry-After.";
    case 3:
      return "UNKNOWN_ROLE: the app does not play the role BEGIN_REQUEST asked for; edgepass only sends RESPONDER.";
    default:
      return undefined;
  }
}

/** What edgepass answers when an origin's response fails to frame (wasm/ABI.md host mappings). */
export const RESPONSE_ERROR_HINT = "edgepass answers the client 502 Bad Gateway and closes this connection.";

/** What edgepass answers for a client request head error. */
export function requestErrorHint(code: string): string {
  if (code === "HTTP_HEAD_TOO_LARGE" || code === "HTTP_TOO_MANY_FIELDS") return "edgepass answers 431 and closes the connection.";
  if (code === "HTTP_VERSION_UNSUPPORTED") return "edgepass answers 505 and closes the connection.";
  return "edgepass answers 400 and closes the connection.";
}
