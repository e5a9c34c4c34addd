#!/usr/bin/env bash
# The main job: install what is missing, build, and run a traced mutual-TLS handshake between
# the mtls server and the mtls client on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
exec build/tools/mtls demo "$@"
