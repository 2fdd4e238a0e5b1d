// The inputs every codec kernel runs on, built to the sizes the kernel names promise.

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A head of exactly `size` bytes: the first line, `fields`, and a last field padded to fit. */
function head(first: string, fields: Array<[string, string]>, size: number): Uint8Array {
  const text = (pad: string) => first + "\r\n" + [...fields, ["X-Pad", pad]].map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n";
  const short = size - text("").length;
  if (short < 1) throw new Error(`head over ${size} bytes before padding`);
  const out = ascii(text("p".repeat(short)));
  if (out.length !== size) throw new Error("head size");
  return out;
}

/** A browser navigation request (703 bytes, 15 fields). */
export const REQUEST = head(
  "GET /blog/2026/11/hello-world/?utm_source=feed&utm_medium=rss HTTP/1.1",
  [
    ["Host", "www.example.org"],
    ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"],
    ["Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"],
    ["Accept-Language", "en-GB,en;q=0.9"],
    ["Accept-Encoding", "gzip, deflate, br, zstd"],
    ["Cookie", "session=3f2a9c41d7e0b5a8; theme=dark; consent=yes; _ga=GA1.2.1234567890.1700000000"],
    ["Referer", "https://www.example.org/"],
    ["Upgrade-Insecure-Requests", "1"],
    ["Sec-Fetch-Dest", "document"],
    ["Sec-Fetch-Mode", "navigate"],
    ["Sec-Fetch-Site", "same-origin"],
    ["Sec-Fetch-User", "?1"],
    ["Priority", "u=0, i"],
    ["Connection", "keep-alive"],
  ],
  703,
);

/** A PHP page's response head (241 bytes, 7 fields). */
export const RESPONSE = head(
  "HTTP/1.1 200 OK",
  [
    ["Date", "Tue, 24 Nov 2026 03:00:00 GMT"],
    ["Content-Type", "text/html; charset=UTF-8"],
    ["Content-Length", "5120"],
    ["Connection", "keep-alive"],
    ["X-Powered-By", "PHP/8.2.36"],
    ["Set-Cookie", "session=3f2a9c; Path=/; HttpOnly"],
  ],
  241,
);

/** A 4 KB request head with 32 fields (cookies and API tokens make heads this big). */
export const HEAD_4K = head(
  "POST /api/v2/orders/batch HTTP/1.1",
  [
    ["Host", "api.example.org"],
    ...Array.from({ length: 30 }, (_, i): [string, string] => [`X-Header-${String(i).padStart(2, "0")}`, `value-${i}-` + "v".repeat(90)]),
  ],
  4096,
);

/** A chunked body of 256 KiB of data in chunks of `size` bytes, ending with the last chunk. */
export function chunkedBody(size: number): Uint8Array {
  const total = 256 * 1024;
  const line = ascii(size.toString(16) + "\r\n");
  const out = new Uint8Array((total / size) * (line.length + size + 2) + 5);
  let at = 0;
  for (let i = 0; i < total / size; i++) {
    out.set(line, at);
    out.fill(0x61, at + line.length, at + line.length + size);
    at += line.length + size;
    out[at++] = 13;
    out[at++] = 10;
  }
  out.set(ascii("0\r\n\r\n"), at);
  return out;
}

/** `bytes` cut the way socket reads arrive (64 KiB). */
export function reads(bytes: Uint8Array, size = 64 * 1024): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

export const CHUNKED_HEAD = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");

/** The 30 parameters nginx's fastcgi_params and a browser request give a PHP script. */
export const PARAMS: Array<[string, string]> = [
  ["QUERY_STRING", "utm_source=feed&utm_medium=rss"],
  ["REQUEST_METHOD", "POST"],
  ["CONTENT_TYPE", "application/x-www-form-urlencoded"],
  ["CONTENT_LENGTH", "4096"],
  ["SCRIPT_NAME", "/index.php"],
  ["SCRIPT_FILENAME", "/var/www/html/index.php"],
  ["REQUEST_URI", "/blog/2026/11/hello-world/?utm_source=feed&utm_medium=rss"],
  ["DOCUMENT_URI", "/index.php"],
  ["DOCUMENT_ROOT", "/var/www/html"],
  ["SERVER_PROTOCOL", "HTTP/1.1"],
  ["REQUEST_SCHEME", "https"],
  ["HTTPS", "on"],
  ["GATEWAY_INTERFACE", "CGI/1.1"],
  ["SERVER_SOFTWARE", "edgepass"],
  ["REMOTE_ADDR", "203.0.113.7"],
  ["REMOTE_PORT", "51234"],
  ["SERVER_ADDR", "10.0.0.2"],
  ["SERVER_PORT", "443"],
  ["SERVER_NAME", "www.example.org"],
  ["REDIRECT_STATUS", "200"],
  ["HTTP_HOST", "www.example.org"],
  ["HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"],
  ["HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
  ["HTTP_ACCEPT_LANGUAGE", "en-GB,en;q=0.9"],
  ["HTTP_ACCEPT_ENCODING", "gzip, deflate, br, zstd"],
  ["HTTP_COOKIE", "session=3f2a9c41d7e0b5a8; theme=dark; consent=yes"],
  ["HTTP_REFERER", "https://www.example.org/"],
  ["HTTP_ORIGIN", "https://www.example.org"],
  ["HTTP_SEC_FETCH_MODE", "navigate"],
  ["HTTP_CONNECTION", "keep-alive"],
];

export const STDIN = new Uint8Array(4096).fill(0x62);

/** php-fpm's answer to a missing page: a CGI head with Status: 404, a 16 KiB body in STDOUT
 *  records of at most 8,184 bytes (php-fpm's output buffer), then END_REQUEST. */
export function fastcgiResponse(id: number): Uint8Array {
  const stdout = new Uint8Array([
    ...ascii("Status: 404 Not Found\r\nX-Powered-By: PHP/8.2.36\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"),
    ...new Uint8Array(16 * 1024).fill(0x63),
  ]);
  const records: number[] = [];
  const rec = (type: number, content: Uint8Array) => {
    const pad = (8 - (content.length % 8)) % 8;
    records.push(1, type, id >> 8, id & 255, content.length >> 8, content.length & 255, pad, 0, ...content, ...new Array(pad).fill(0));
  };
  for (let i = 0; i < stdout.length; i += 8184) rec(6, stdout.subarray(i, i + 8184));
  rec(6, new Uint8Array(0));
  rec(3, new Uint8Array(8));
  return Uint8Array.from(records);
}
