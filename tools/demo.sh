#!/usr/bin/env bash
# README's run command: installs what is missing, builds, and runs the
# gateway (with the demo device simulator once it exists).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh build
bash tools/build.sh
exec ./build/coapgw "$@"
