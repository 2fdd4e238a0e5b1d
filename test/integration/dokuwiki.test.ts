// DokuWiki from Debian's package, behind `edgepass dev` and `serve` with examples/dokuwiki.toml (only the
// docroot and php-fpm's port changed), used the way a person uses it: pages, stylesheets and
// images, logging in, saving an edit, uploading a picture and getting it back (DokuWiki hands
// the download to the gateway with X-Accel-Redirect), while the paths DokuWiki's nginx guide
// denies stay refused.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDokuWiki, type DokuWiki } from "../helpers/dokuwiki.js";
import { browser } from "../helpers/browser.js";
import { startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor, type Run } from "../helpers/process.js";

let wiki: DokuWiki;
let fpm: PhpFpm;

beforeAll(async () => {
  wiki = makeDokuWiki();
  fpm = await startPhpFpm({ maxChildren: 3 });
  const example = readFileSync(path.join(repoRoot, "examples/dokuwiki.toml"), "utf8");
  const toml = example.replaceAll("/var/www/dokuwiki", wiki.root).replace('servers = ["127.0.0.1:9000"]', `servers = ["127.0.0.1:${fpm.port}"]`);
  expect(toml).toContain(`servers = ["127.0.0.1:${fpm.port}"]`);
  writeFileSync(path.join(wiki.root, "..", "dokuwiki.toml"), toml);
});

afterAll(async () => {
  await fpm?.stop();
  wiki?.remove();
});

/** The fields of the form with this id: hidden inputs and their values, as a browser sends them. */
function formFields(html: string, id: string): Record<string, string> {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) throw new Error(`no form ${id} in the page; forms: ${[...html.matchAll(/<form\b[^>]*>/g)].map((m) => m[0]).join(" ")}`);
  const form = html.slice(html.lastIndexOf("<form", start), html.indexOf("</form>", start));
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input\b[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(m[0])?.[1];
    const type = /\btype="([^"]*)"/.exec(m[0])?.[1] ?? "text";
    if (!name || type === "submit" || type === "file" || type === "checkbox") continue;
    fields[name] = (/\bvalue="([^"]*)"/.exec(m[0])?.[1] ?? "").replace(/&amp;/g, "&").replace(/&quot;/g, '"');
  }
  return fields;
}

// A 1x1 PNG.
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d49444154789c63f8cfc0f01f0005000201" + "a0e9f1a20000000049454e44ae426082", "hex");

// The same wiki through both hosts, each with its own browser session, page and picture.
describe.each(["dev", "serve"] as const)("DokuWiki behind edgepass %s (examples/dokuwiki.toml)", (host) => {
  let run: Run | undefined;
  let base = "";
  beforeAll(async () => {
    run = edgepass([host, "--config", "dokuwiki.toml", "--port", "0"], path.join(wiki.root, ".."));
    [, base] = (await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/)) as [string, string];
  });
  afterAll(async () => {
    run?.child.kill("SIGTERM");
    await run?.exit;
  });
  const browse = browser(() => base);
  const picture = `edgepass-dot-${host}.png`;

  it("the start page, and every stylesheet, script and image it links to", async () => {
    const res = await browse("/");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("This wiki runs behind edgepass.");
    const assets = [...html.matchAll(/(?:href|src)="(\/lib\/[^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, "&"));
    expect(assets.some((a) => a.startsWith("/lib/exe/css.php"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".png"))).toBe(true);
    for (const a of new Set(assets)) {
      const r = await fetch(base + a);
      expect(r.status, a).toBe(200);
      const type = r.headers.get("content-type") ?? "";
      if (a.includes("css.php")) expect(type, a).toMatch(/^text\/css/);
      if (a.includes("js.php") || a.includes("jquery.php")) expect(type, a).toMatch(/javascript/);
      if (/\.png$/.test(a)) {
        expect(type, a).toBe("image/png");
        // a file from the assets, with the expires the example gives /lib images
        expect(r.headers.get("cache-control"), a).toBe("max-age=31536000");
        expect(r.headers.get("etag"), a).not.toBeNull();
      }
      await r.arrayBuffer();
    }
  });

  it("the paths DokuWiki's nginx guide denies are refused, and PHP source is never sent", async () => {
    for (const p of ["/conf/local.php", "/conf/users.auth.php", "/inc/init.php", "/bin/indexer.php", "/vendor/autoload.php", "/install.php", "/.htaccess"]) {
      const r = await fetch(base + p);
      expect(r.status, p).toBe(403);
      expect(await r.text(), p).not.toMatch(/<\?php|\$conf|password/);
    }
    const data = await fetch(base + "/data/pages/start.txt");
    expect(data.status).toBe(404);
    expect(await data.text()).not.toContain("This wiki runs behind edgepass.");
  });

  it("nice URLs ($conf['userewrite'] = 1), through the @dokuwiki route's rewrites: pages, their raw export, a missing page, and links written the same way", async () => {
    const start = await browse("/start");
    expect(start.status).toBe(200);
    const html = await start.text();
    expect(html).toContain("This wiki runs behind edgepass.");
    // DokuWiki writes its own links in the form the rewrites read back.
    expect(html).toMatch(/href="\/start\?do=login/);
    expect(html).not.toContain("doku.php?id=");
    const raw = await browse("/_export/raw/start");
    expect([raw.status, raw.headers.get("content-type")]).toEqual([200, "text/plain; charset=utf-8"]);
    expect(await raw.text()).toBe("====== Welcome ======\n\nThis wiki runs behind edgepass.\n");
    // (DokuWiki answers a missing page 200 unless $conf['send404'] is set.)
    const missing = await browse("/no:such:page");
    expect(missing.status).toBe(200);
    expect(await missing.text()).toContain("This topic does not exist yet");
    // A file on disk is still the file (try_files $uri), never a page.
    const logo = await browse("/lib/tpl/dokuwiki/images/logo.png");
    expect([logo.status, logo.headers.get("content-type")]).toEqual([200, "image/png"]);
    await logo.arrayBuffer();
  });

  it("log in, save an edit, upload a picture and download it back", async () => {
    const loginPage = await (await browse("/doku.php?id=start&do=login")).text();
    const login = formFields(loginPage, "dw__login");
    const loggedIn = await browse("/doku.php?id=start&do=login", {
      method: "POST",
      body: new URLSearchParams({ ...login, u: wiki.user, p: wiki.password }),
    });
    expect([302, 303]).toContain(loggedIn.status);
    await loggedIn.arrayBuffer();
    const home = await (await browse("/doku.php?id=start")).text();
    expect(home).toMatch(/Logged in as[^<]*<bdi>Editor<\/bdi>/);

    const editPage = await (await browse("/doku.php?id=playground:edgepass&do=edit")).text();
    const edit = formFields(editPage, "dw__editform");
    const saved = await browse("/doku.php?id=playground:edgepass", {
      method: "POST",
      body: new URLSearchParams({ ...edit, wikitext: `Saved through **edgepass ${host}** on the wire.`, summary: "test", "do[save]": "1" }),
    });
    expect([200, 302, 303]).toContain(saved.status);
    await saved.arrayBuffer();
    const page = await (await browse("/doku.php?id=playground:edgepass")).text();
    expect(page).toContain(`Saved through <strong>edgepass ${host}</strong> on the wire.`);

    const mediaPage = await (await browse("/doku.php?id=start&do=media&ns=wiki&tab_files=upload")).text();
    const upload = formFields(mediaPage, "dw__upload");
    const action = /id="dw__upload"[^>]*action="([^"]*)"|action="([^"]*)"[^>]*id="dw__upload"/.exec(mediaPage)!;
    const form = new FormData();
    for (const [k, v] of Object.entries(upload)) form.set(k, v);
    form.set("mediaid", picture);
    form.set("upload", new Blob([PNG], { type: "image/png" }), picture);
    const uploaded = await browse((action[1] ?? action[2]).replace(/&amp;/g, "&"), { method: "POST", body: form });
    expect([200, 302, 303]).toContain(uploaded.status);
    await uploaded.arrayBuffer();

    const media = await browse(`/lib/exe/fetch.php?media=wiki:${picture}`);
    expect(media.status).toBe(200);
    expect(media.headers.get("content-type")).toBe("image/png");
    expect(Buffer.compare(Buffer.from(await media.arrayBuffer()), PNG)).toBe(0);
    // DokuWiki ($conf['xsendfile'] = 3) answered with X-Accel-Redirect and the gateway sent the
    // file, written after start, from the docroot; /data/ itself is internal.
    await waitFor(run!, new RegExp(`"event":"accel","request_id":"[^"]+","header":"x-accel-redirect","path":"/data/media/wiki/edgepass-dot-${host}\\.png","status":200`), 5000);
    expect((await fetch(`${base}/data/media/wiki/${picture}`)).status).toBe(404);
    // The same picture by its nice URL (rewritten to fetch.php), and its detail page.
    const nice = await browse(`/_media/wiki:${picture}`);
    expect([nice.status, nice.headers.get("content-type")]).toEqual([200, "image/png"]);
    expect(Buffer.compare(Buffer.from(await nice.arrayBuffer()), PNG)).toBe(0);
    const detail = await browse(`/_detail/wiki:${picture}?id=start`);
    expect(detail.status).toBe(200);
    expect(await detail.text()).toContain(picture);
  });
});
