// WordPress from Debian's package (on a MariaDB of its own) behind php-fpm and `edgepass dev`
// with examples/wordpress.toml (only the docroot and php-fpm's port changed), used the way a
// person uses it: the install form, logging in, pretty permalinks (which WordPress offers only
// because the example sets SERVER_SOFTWARE), the theme's assets, a picture uploaded through the
// dashboard and served back from wp-content/uploads, and PHP dropped into uploads refused.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browser } from "../helpers/browser.js";
import { startPhpFpm, type PhpFpm } from "../helpers/php-fpm.js";
import { edgepass, repoRoot, waitFor, type Run } from "../helpers/process.js";
import { startWordPress, type WordPress } from "../helpers/wordpress.js";

let wp: WordPress;
let fpm: PhpFpm;
let run: Run;
let base: string;

beforeAll(async () => {
  wp = await startWordPress();
  fpm = await startPhpFpm({ maxChildren: 3 });
  const example = readFileSync(path.join(repoRoot, "examples/wordpress.toml"), "utf8");
  const toml = example.replaceAll("/var/www/wordpress", wp.root).replace('servers = ["127.0.0.1:9000"]', `servers = ["127.0.0.1:${fpm.port}"]`);
  expect(toml).toContain(`servers = ["127.0.0.1:${fpm.port}"]`);
  writeFileSync(path.join(wp.root, "..", "wordpress.toml"), toml);
  run = edgepass(["dev", "--config", "wordpress.toml", "--port", "0"], path.join(wp.root, ".."));
  [, base] = await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
});

afterAll(async () => {
  run?.child.kill("SIGTERM");
  await run?.exit;
  await fpm?.stop();
  await wp?.stop();
});

const browse = browser(() => base);
const USER = "editor";
const PASSWORD = "correct horse battery staple";

function field(html: string, name: string): string {
  const m = new RegExp(`name="${name.replace(/[[\]]/g, "\\$&")}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="${name.replace(/[[\]]/g, "\\$&")}"`).exec(html);
  if (!m) throw new Error(`no field ${name} in the page`);
  return (m[1] ?? m[2]).replace(/&amp;/g, "&");
}

// A 1x1 PNG.
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d49444154789c63f8cfc0f01f0005000201" + "a0e9f1a20000000049454e44ae426082", "hex");

describe("WordPress behind edgepass dev (examples/wordpress.toml)", () => {
  it("install, log in, switch to pretty permalinks, read the post and load every asset it links to", async () => {
    const installed = await browse("/wp-admin/install.php?step=2", {
      method: "POST",
      body: new URLSearchParams({
        weblog_title: "edgepass test blog", user_name: USER, admin_password: PASSWORD, admin_password2: PASSWORD,
        pw_weak: "1", admin_email: "editor@example.com", blog_public: "0", Submit: "Install WordPress",
      }),
    });
    expect(installed.status).toBe(200);
    expect(await installed.text()).toContain("WordPress has been installed");

    await (await browse("/wp-login.php")).arrayBuffer(); // sets the test cookie
    const login = await browse("/wp-login.php", {
      method: "POST",
      body: new URLSearchParams({ log: USER, pwd: PASSWORD, "wp-submit": "Log In", redirect_to: "/wp-admin/", testcookie: "1" }),
    });
    expect(login.status).toBe(302);
    await login.arrayBuffer();
    const dashboard = await browse("/wp-admin/");
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain("Dashboard");

    const permalinkPage = await (await browse("/wp-admin/options-permalink.php")).text();
    const saved = await browse("/wp-admin/options-permalink.php", {
      method: "POST",
      body: new URLSearchParams({
        _wpnonce: field(permalinkPage, "_wpnonce"), _wp_http_referer: "/wp-admin/options-permalink.php",
        selection: "/%postname%/", permalink_structure: "/%postname%/", submit: "Save Changes",
      }),
    });
    expect(saved.status).toBe(302);
    await saved.arrayBuffer();
    // As a browser does: the page it redirects to is where WordPress rebuilds its rewrite rules.
    const after = await browse(new URL(saved.headers.get("location")!, base).pathname + "?settings-updated=true");
    expect(await after.text()).toContain("Permalink structure updated.");

    const home = await (await browse("/")).text();
    // With SERVER_SOFTWARE naming nginx, WordPress links /hello-world/, not /index.php/hello-world/.
    expect(home).toContain(`${base}/hello-world/`);
    expect(home).not.toContain("/index.php/hello-world");
    const post = await browse("/hello-world/");
    expect(post.status).toBe(200);
    expect(await post.text()).toContain("Welcome to WordPress. This is your first post.");

    const assets = [...home.matchAll(/(?:href|src)=['"](https?:\/\/127\.0\.0\.1:\d+\/wp-(?:includes|content)\/[^'"]+)['"]/g)].map((m) => m[1].replace(/&#038;|&amp;/g, "&"));
    expect(assets.length).toBeGreaterThan(0);
    for (const a of new Set(assets)) {
      const r = await fetch(a);
      expect(r.status, a).toBe(200);
      if (/\.css(\?|$)/.test(a)) expect(r.headers.get("content-type"), a).toMatch(/^text\/css/);
      if (/\.js(\?|$)/.test(a)) expect(r.headers.get("content-type"), a).toMatch(/javascript/);
      await r.arrayBuffer();
    }
  });

  it("the example's microcache: a visitor's page is made once and served again; a logged-in user always reaches PHP and sees their own page", async () => {
    const first = await fetch(base + "/hello-world/");
    const firstText = await first.text();
    const again = await fetch(base + "/hello-world/");
    expect([first.headers.get("x-cache"), again.headers.get("x-cache")]).toEqual(["MISS", "HIT"]);
    expect(await again.text()).toBe(firstText);
    expect(firstText).not.toContain("wp-admin-bar");
    // The browser holds the login cookies from the test above.
    const mine = await browse("/hello-world/");
    expect(mine.headers.get("x-cache")).toBe("BYPASS");
    expect(await mine.text()).toContain("wp-admin-bar");
    const admin = await browse("/wp-admin/");
    expect(admin.headers.get("x-cache")).toBe("BYPASS");
    await admin.arrayBuffer();
  });

  it("upload a picture from the dashboard; it is served back from wp-content/uploads", async () => {
    const page = await (await browse("/wp-admin/media-new.php?browser-uploader")).text();
    const form = new FormData();
    form.set("post_id", "0");
    form.set("_wpnonce", field(page, "_wpnonce"));
    form.set("_wp_http_referer", "/wp-admin/media-new.php?browser-uploader");
    form.set("async-upload", new Blob([PNG], { type: "image/png" }), "edgepass-dot.png");
    form.set("html-upload", "Upload");
    const uploaded = await browse("/wp-admin/media-new.php", { method: "POST", body: form });
    expect(uploaded.status).toBe(302);
    await uploaded.arrayBuffer();
    const library = await (await browse("/wp-admin/upload.php?mode=list")).text();
    const url = /(\/wp-content\/uploads\/\d{4}\/\d{2}\/edgepass-dot[^"'\s]*\.png)/.exec(library)?.[1];
    expect(url).toBeDefined();
    const back = await fetch(base + url);
    expect(back.status).toBe(200);
    expect(back.headers.get("content-type")).toBe("image/png");
    expect(back.headers.get("cache-control")).toBe("max-age=2592000");
    expect(Buffer.compare(Buffer.from(await back.arrayBuffer()), PNG)).toBe(0);
  });

  it("PHP dropped into uploads is refused, never run; wp-config.php and dotfiles are not sent", async () => {
    writeFileSync(path.join(wp.root, "wp-content/uploads/evil.php"), '<?php echo "uploaded code ran";');
    const evil = await fetch(base + "/wp-content/uploads/evil.php");
    expect(evil.status).toBe(403);
    expect(await evil.text()).not.toContain("uploaded code ran");
    const config = await fetch(base + "/wp-config.php");
    expect(await config.text()).not.toMatch(/DB_PASSWORD|<\?php/);
    expect((await fetch(base + "/.htaccess")).status).toBe(403);
  });
});
