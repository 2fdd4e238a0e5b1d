// A Django project (Debian's python3-django) behind gunicorn and `edgepass dev` or `serve` with
// examples/django.toml (only the directory and gunicorn's port changed), used the way a person
// uses it: the admin's pages and their stylesheets from STATIC_ROOT, logging in through the
// CSRF-protected form, uploading a file and getting it back from MEDIA_ROOT. DEBUG is off, so
// Django serves no file itself: /static/ and /media/ answers are the gateway's.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDjango, type DjangoSite } from "../helpers/django.js";
import { browser } from "../helpers/browser.js";
import { edgepass, repoRoot, waitFor, type Run } from "../helpers/process.js";

let site: DjangoSite;

beforeAll(async () => {
  site = await startDjango();
  const example = readFileSync(path.join(repoRoot, "examples/django.toml"), "utf8");
  const toml = example.replaceAll("/srv/app/public", site.publicDir).replace('servers = ["127.0.0.1:8000"]', `servers = ["127.0.0.1:${site.server.port}"]`);
  expect(toml).toContain(`servers = ["127.0.0.1:${site.server.port}"]`);
  writeFileSync(path.join(site.dir, "django.toml"), toml);
});

afterAll(async () => {
  await site?.stop();
});

const csrf = (html: string) => /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)![1];

// The same site through both hosts, each with its own browser session.
describe.each(["dev", "serve"] as const)("Django behind gunicorn and edgepass %s (examples/django.toml)", (host) => {
  let run: Run | undefined;
  let base = "";
  beforeAll(async () => {
    run = edgepass([host, "--config", "django.toml", "--port", "0"], site.dir);
    [, base] = (await waitFor(run, /listening on (http:\/\/127\.0\.0\.1:\d+)/)) as [string, string];
  });
  afterAll(async () => {
    run?.child.kill("SIGTERM");
    await run?.exit;
  });
  const browse = browser(() => base);

  it("the admin login page, and its stylesheets from STATIC_ROOT with expires", async () => {
    const res = await browse("/admin/login/?next=/admin/");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Django administration");
    const sheets = [...html.matchAll(/href="(\/static\/[^"]+\.css)"/g)].map((m) => m[1]);
    expect(sheets.length).toBeGreaterThan(0);
    for (const s of sheets) {
      const r = await fetch(base + s);
      expect(r.status, s).toBe(200);
      expect(r.headers.get("content-type"), s).toMatch(/^text\/css/);
      expect(r.headers.get("cache-control"), s).toBe("max-age=2592000");
      expect(await r.text(), s).toBe(readFileSync(path.join(site.publicDir, s)).toString());
    }
  });

  it("a missing static file is the gateway's 404, and Django's source is not reachable", async () => {
    const missing = await fetch(base + "/static/admin/css/missing.css");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-edgepass-error")).toBe("FILE_NOT_FOUND");
    const climb = await fetch(base + "/static/../../app/mysite/settings.py");
    expect(await climb.text()).not.toContain("SECRET_KEY");
  });

  it("log in through the CSRF-protected form, upload a file, get it back from MEDIA_ROOT", async () => {
    const form = await (await browse("/admin/login/?next=/admin/")).text();
    const login = await browse("/admin/login/?next=/admin/", {
      method: "POST",
      body: new URLSearchParams({ csrfmiddlewaretoken: csrf(form), username: site.user, password: site.password, next: "/admin/" }),
    });
    expect(login.status).toBe(302);
    expect(login.headers.get("location")).toBe("/admin/");
    await login.arrayBuffer();
    expect(await (await browse("/admin/")).text()).toContain("Site administration");

    const uploadPage = await (await browse("/upload/")).text();
    const body = new FormData();
    body.set("csrfmiddlewaretoken", csrf(uploadPage));
    const bytes = `uploaded through edgepass at ${Date.now()}\n`;
    body.set("file", new Blob([bytes], { type: "text/plain" }), "note.txt");
    const uploaded = await browse("/upload/", { method: "POST", body });
    expect(uploaded.status).toBe(302);
    const where = uploaded.headers.get("location")!;
    expect(where).toMatch(/^\/media\/uploads\/note[^/]*\.txt$/);
    const back = await fetch(base + where);
    expect(back.status).toBe(200);
    expect(back.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(back.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(await back.text()).toBe(bytes);
  });
});
