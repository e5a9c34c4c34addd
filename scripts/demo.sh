#!/usr/bin/env bash
# The main job: install what is missing, build, and run traced mutual-TLS handshakes between the
# mtls server and the mtls client on 127.0.0.1, TLS 1.3 then TLS 1.2 (arguments go to mtls demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
exec build/tools/mtls demo "$@"
