#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages cpnet builds and tests with, when one is missing (docs/dependencies.md
# says why each is needed). Runs as root on Debian 12; elsewhere it only reports what is missing.
set -eu
pkgs="gcc make pkg-config libjansson-dev libglpk-dev libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev clang libclang-rt-14-dev clang-format"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $missing >/dev/null
}
