#!/usr/bin/env bash
# Installs what the benchmarks need beyond the test origins: nginx and HAProxy (the anchors
# edgepass is compared with), wrk (the load generator) and h2load (nghttp2-client: HTTP/2
# load). Idempotent; root or sudo.
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/setup-test.sh"
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
{ command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; } || missing+=(nginx-light)
{ command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]]; } || missing+=(haproxy)
if [[ ${#missing[@]} -eq 0 ]]; then echo "setup-bench: nothing to install"; exit 0; fi
as_root=(env); [[ $(id -u) -eq 0 ]] || as_root=(sudo env)
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-bench: installed ${missing[*]}"
