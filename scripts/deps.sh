#!/usr/bin/env bash
# Installs what building and testing mtls needs on Debian 12, only if something is missing.
# Usage: scripts/deps.sh   (as root, or with sudo available)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libssl-dev openssl clang llvm libclang-rt-14-dev
      valgrind gnutls-bin tshark curl wget ca-certificates python3 iproute2
      openjdk-17-jdk-headless chromium libnss3-tools golang-go nodejs
      redis-server libhiredis-dev softhsm2 libengine-pkcs11-openssl opensc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
