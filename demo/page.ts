// The demo origin's one page, as a complete CGI response (head lines, blank line, HTML body).
// Everything that came from the request is HTML-escaped: the params table shows client headers
// verbatim, so an unescaped value would be an XSS on the demo itself.

export interface PageInput {
  /** CGI params in the order they arrived. */
  params: Array<[string, string]>;
  body: {
    /** Total bytes of STDIN. */
    length: number;
    /** Lower-case hex SHA-256 of all of STDIN. */
    sha256: string;
    /** The body when it was kept whole (small enough), else null. */
    bytes: Uint8Array | null;
  };
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function param(params: Array<[string, string]>, name: string): string {
  return params.find(([n]) => n === name)?.[1] ?? "";
}

function table(rows: Array<[string, string]>, head: [string, string]): string {
  const body = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`);
  return `<table><thead><tr><th>${head[0]}</th><th>${head[1]}</th></tr></thead>
<tbody>
${body.join("\n")}
</tbody></table>`;
}

function postSection(input: PageInput): string {
  const { length, sha256, bytes } = input.body;
  const type = param(input.params, "CONTENT_TYPE").toLowerCase();
  let fields = "";
  if (bytes === null) {
    fields = "<p>(body too large to echo; only its length and digest are shown)</p>";
  } else if (type.startsWith("application/x-www-form-urlencoded")) {
    const pairs = [...new URLSearchParams(new TextDecoder().decode(bytes))];
    fields = pairs.length ? table(pairs, ["field", "value"]) : "<p>(no fields)</p>";
  } else {
    fields = `<p>(not a urlencoded form: ${escapeHtml(type || "no Content-Type")})</p>`;
  }
  return `<section id="echo">
<h2>Your ${escapeHtml(param(input.params, "REQUEST_METHOD"))}</h2>
<p>Body: <code id="body-length">${length}</code> bytes, SHA-256 <code id="body-sha256">${sha256}</code></p>
${fields}
</section>`;
}

export function renderPage(input: PageInput): Uint8Array {
  const method = param(input.params, "REQUEST_METHOD");
  const uri = param(input.params, "REQUEST_URI");
  const echo = method === "GET" || method === "HEAD" ? "" : postSection(input);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>edgepass demo</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td { font-family: ui-monospace, monospace; word-break: break-all; }
textarea, input { width: 100%; box-sizing: border-box; font: inherit; }
</style>
</head>
<body>
<h1>edgepass demo</h1>
<p>This page comes from the demo FastCGI origin (TypeScript on the same Wasm codec as the
gateway). The gateway received <code>${escapeHtml(method)} ${escapeHtml(uri)}</code> and
forwarded it over FastCGI; below is what arrived.</p>
${echo}
<section id="form">
<h2>Send a form</h2>
<form method="post">
<p><label>name <input name="name" value="edgepass"></label></p>
<p><label>message <textarea name="message" rows="3">Hello over FastCGI &lt;3</textarea></label></p>
<p><button type="submit">POST it</button></p>
</form>
</section>
<section id="params">
<h2>CGI params (${input.params.length})</h2>
${table(input.params, ["name", "value"])}
</section>
</body>
</html>
`;
  const head = "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n\r\n";
  return new TextEncoder().encode(head + html);
}
