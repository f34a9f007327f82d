#!/usr/bin/env bash
# README's test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh test
bash tools/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 "$@"
