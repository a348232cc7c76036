#!/usr/bin/env bash
# Installs the Debian 12 packages Tocsin builds and tests with (skipped when
# they are all present already). Needs root or sudo.
set -euo pipefail
pkgs=(cmake make gcc pkg-config liblua5.4-dev lua5.4 libuv1-dev libcurl4-openssl-dev libpq-dev
      libsqlite3-dev libhttp-parser-dev postgresql-15 postgresql-client-15
      python3 procps gawk bc curl openssl strace iproute2 bsdutils util-linux lua-check clang-format
      clang-14 libclang-rt-14-dev python3-croniter python3-aiosmtpd prometheus
      prometheus-alertmanager pgbouncer)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
