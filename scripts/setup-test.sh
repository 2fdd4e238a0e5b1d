#!/usr/bin/env bash
# Installs the Debian packages the integration tests need: the real origins edgepass is tested
# against (php-fpm; fcgiwrap and spawn-fcgi; uWSGI with its Python 3 plugin; gunicorn; gevent's
# WSGI server; Apache with mod_wsgi and mod_python), php-cli, DokuWiki, Django, WordPress and
# MariaDB; Chromium for the codec's browser host and tcpdump for the capture `edgepass inspect`
# is tested on.
# Idempotent: installs only what is missing, runs `apt-get update` at most once, and says what
# it did. Runs as root directly, otherwise through sudo when that is available.
# The tests start every server themselves, on free loopback ports with their own temporary
# configs; none of the system services these packages ship is needed, so none is started.
set -euo pipefail

# Each check looks for the installed file, not the package name: Debian ships versioned
# binaries (php-fpm8.2 in /usr/sbin, often off a user's PATH) under versioned packages, and a
# plugin or an Apache module is only a shared object.
has() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /usr/bin/$1 ]]; }
has_glob() { compgen -G "$1" >/dev/null; }
# Debian's own interpreter, which the python3-* packages install into (a pyenv or venv python
# earlier on PATH would not see them).
debian_python_has() { [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }

missing=()
need() { # need PACKAGE CHECK...
  local pkg=$1
  shift
  if "$@"; then
    echo "setup-test: $pkg already installed"
  else
    missing+=("$pkg")
  fi
}
need python3 test -x /usr/bin/python3
need php-cli has php
need php-fpm has_glob "/usr/sbin/php-fpm*"
need fcgiwrap has fcgiwrap
need spawn-fcgi has spawn-fcgi
need uwsgi has uwsgi
need uwsgi-plugin-python3 has_glob "/usr/lib/uwsgi/plugins/python3*_plugin.so"
need gunicorn has gunicorn
need python3-gevent debian_python_has gevent
# Tornado (the WebSocket tests relay a real tornado WebSocket app through both hosts).
need python3-tornado debian_python_has tornado
need apache2 test -x /usr/sbin/apache2
need libapache2-mod-wsgi-py3 test -e /usr/lib/apache2/modules/mod_wsgi.so
need libapache2-mod-python test -e /usr/lib/apache2/modules/mod_python.so
# DokuWiki (the whole-site test runs the real wiki behind edgepass with its example config; it
# needs no database, only php-fpm).
need dokuwiki test -e /usr/share/dokuwiki/doku.php
# Django (the whole-site test runs a Django project's admin behind gunicorn with
# examples/django.toml).
need python3-django debian_python_has django
# WordPress and its database server (the whole-site test installs a private WordPress on a
# MariaDB it starts with its own data directory).
need wordpress test -e /usr/share/wordpress/wp-settings.php
need wordpress-theme-twentytwentythree test -d /usr/share/wordpress/wp-content/themes/twentytwentythree
need mariadb-server test -x /usr/sbin/mariadbd
# ss (the pool tests count ESTABLISHED connections to an origin with it); ip, unshare and
# nsenter (a serve test runs in a network namespace of its own, with small TCP buffers).
need iproute2 has ss
need util-linux has nsenter
# Chromium runs the codec corpus and inspect.html headless (test/hosts, driven by playwright-core).
need chromium has chromium
# tcpdump records the php-fpm capture `edgepass inspect` is tested on.
need tcpdump has tcpdump
# nginx answers the same requests as edgepass where a test takes it as the reference
# (auth_basic); htpasswd writes the password files both read.
need nginx has nginx
need apache2-utils has htpasswd
# HAProxy is the load balancer in front of edgepass serve that sends the PROXY protocol.
need haproxy has haproxy
# openssl makes the certificates edgepass serve's TLS test listens with.
need openssl has openssl
# systemd-analyze checks examples/edgepass.service; setpriv (util-linux, above) runs serve as
# an unprivileged user with the one capability that unit gives it.
need systemd has systemd-analyze

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup-test: nothing to install"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-test: apt-get not found; install these yourself: ${missing[*]}" >&2
  exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
  as_root=(env)
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo env)
else
  echo "setup-test: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi

# Installing apache2, php-fpm, uwsgi or fcgiwrap would otherwise start their system services
# (apache2 on port 80). Debian's policy-rc.d hook vetoes service starts from maintainer
# scripts; when the machine has none, put one in place for this install only.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# Temporary: edgepass setup-test.sh keeps apt-get from starting services.\nexit 101\n' |
    "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
  echo "setup-test: service starts are held off during the install"
fi

echo "setup-test: apt-get update"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
echo "setup-test: installing ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-test: installed ${missing[*]}"
