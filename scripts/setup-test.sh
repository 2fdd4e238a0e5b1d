#!/usr/bin/env bash
# Installs the Debian packages the integration tests need (real origins): php-fpm and php-cli.
# Idempotent: installs only what is missing, runs `apt-get update` at most once, and says what
# it did. Runs as root directly, otherwise through sudo when that is available.
set -euo pipefail

# Each check looks for the program, not the package name: Debian ships versioned binaries
# (php-fpm8.2 in /usr/sbin, often off a user's PATH) under versioned packages.
has_php_cli() { command -v php >/dev/null 2>&1; }
has_php_fpm() { compgen -G "/usr/sbin/php-fpm*" >/dev/null || compgen -c php-fpm | grep -q .; }

missing=()
has_php_cli && echo "setup-test: php-cli already installed" || missing+=(php-cli)
has_php_fpm && echo "setup-test: php-fpm already installed" || missing+=(php-fpm)

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

echo "setup-test: apt-get update"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
echo "setup-test: installing ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-test: installed ${missing[*]}"
