// A Django project from Debian's python3-django, laid out the way Django's deployment guide
// puts it: the project's code in app/, collectstatic into public/static (STATIC_ROOT), uploads
// into public/media (MEDIA_ROOT), a superuser, and one extra view that takes an upload (a
// form with Django's CSRF token). Served by gunicorn; DEBUG is off, so Django itself serves no
// static or media file: whatever answers /static/ and /media/ is the gateway.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./php-fpm.js";
import { findProgram, installHint, launch, type Server } from "./servers/launch.js";

export interface DjangoSite {
  dir: string;
  /** dir/public: the assets directory. */
  publicDir: string;
  user: string;
  password: string;
  server: Server;
  stop(): Promise<void>;
}

const PYTHON = "/usr/bin/python3";

export async function startDjango(): Promise<DjangoSite> {
  try {
    execFileSync(PYTHON, ["-c", "import django"], { stdio: "ignore" });
  } catch {
    throw new Error(`Django is not installed for ${PYTHON}. ${installHint("python3-django")}`);
  }
  const gunicorn = findProgram("gunicorn", "gunicorn");
  const dir = mkdtempSync(path.join(tmpdir(), "edgepass-django-"));
  const app = path.join(dir, "app");
  const publicDir = path.join(dir, "public");
  mkdirSync(app);
  mkdirSync(path.join(publicDir, "media"), { recursive: true });
  execFileSync(PYTHON, ["-m", "django", "startproject", "mysite", app]);
  appendFileSync(
    path.join(app, "mysite/settings.py"),
    `
DEBUG = False
ALLOWED_HOSTS = ["*"]
STATIC_ROOT = ${JSON.stringify(path.join(publicDir, "static"))}
MEDIA_ROOT = ${JSON.stringify(path.join(publicDir, "media"))}
MEDIA_URL = "/media/"
`,
  );
  appendFileSync(
    path.join(app, "mysite/urls.py"),
    `
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.conf import settings

@login_required(login_url="/admin/login/")
def upload(request):
    if request.method == "POST":
        f = request.FILES["file"]
        name = default_storage.save("uploads/" + f.name, f)
        return HttpResponseRedirect(settings.MEDIA_URL + name)
    return HttpResponse('<form id="upload" method="post" enctype="multipart/form-data">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="%s"><input type="file" name="file">'
        '<button>Upload</button></form>' % get_token(request))

urlpatterns += [path("upload/", upload)]
`,
  );
  const user = "admin";
  const password = "correct horse battery";
  const env = { ...process.env, DJANGO_SUPERUSER_USERNAME: user, DJANGO_SUPERUSER_PASSWORD: password, DJANGO_SUPERUSER_EMAIL: "admin@example.com" };
  const manage = (...args: string[]) => execFileSync(PYTHON, ["manage.py", ...args], { cwd: app, env, stdio: "pipe" });
  manage("migrate", "--noinput");
  manage("createsuperuser", "--noinput");
  manage("collectstatic", "--noinput");
  const port = await freePort();
  const server = await launch({
    name: "gunicorn (Django)",
    command: gunicorn,
    args: ["--bind", `127.0.0.1:${port}`, "--workers", "2", "--chdir", app, "mysite.wsgi"],
    port,
    cwd: app,
  });
  return {
    dir,
    publicDir,
    user,
    password,
    server,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
