#!/usr/bin/env bash
# README's test command: installs what is missing, builds, runs every test
# (TEST_JOBS at once, default 2, as CI runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh test
bash tools/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"${TEST_JOBS:-2}" "$@"
