#!/usr/bin/env bash
# Builds a libFuzzer target (fuzz_parse, the CoAP message parser, unless
# FUZZ_TARGET names another) with clang and runs it for a while.
#
#   tests/fuzz/run.sh [SECONDS]        (default 60)
#
# Environment:
#   BUILD_DIR   build directory (default <repo>/build-fuzz)
#   CC          compiler (default clang; must be clang)
#   FUZZ_JOBS   parallel build jobs (default: nproc)
#   FUZZ_ARGS   extra libFuzzer flags, e.g. "-seed=1 -verbosity=0"
#   FUZZ_TARGET fuzz_parse (default; seeds in corpus/) or fuzz_link (the
#               link-format parser; seeds in corpus-link/)
#
# The committed seeds in tests/fuzz/corpus/ are copied to a temporary corpus
# directory, so the run never modifies them. Crash inputs are kept in
# $BUILD_DIR/fuzz-artifacts/. Exits non-zero when the fuzzer found a crash,
# leak, timeout or abort, or when the build fails.
set -euo pipefail

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
export CC=${CC:-clang}
target=${FUZZ_TARGET:-fuzz_parse}
seeds=$here/corpus
[[ $target == fuzz_parse ]] || seeds=$here/corpus-${target#fuzz_}

cmake -S "$root" -B "$build_dir" -DCOAPGW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target "$target" -j "$jobs"

fuzzer=$build_dir/$target
if [[ ! -x $fuzzer ]]; then
    echo "run.sh: $fuzzer was not built (is CC=$CC clang with libFuzzer?)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/coapgw-fuzz.XXXXXX")
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
mkdir -p "$work/corpus" "$build_dir/fuzz-artifacts"
cp -- "$seeds"/* "$work/corpus/"

extra=()
if [[ -n ${FUZZ_ARGS:-} ]]; then
    read -r -a extra <<<"$FUZZ_ARGS"
fi

echo "run.sh: fuzzing for ${seconds}s, $(find "$work/corpus" -type f | wc -l) seeds" >&2
status=0
# libFuzzer runs in the foreground: when this script is interrupted, the
# signal reaches it through the process group, and nothing else is killed.
"$fuzzer" \
    -max_total_time="$seconds" \
    -max_len=1500 \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$build_dir/fuzz-artifacts/" \
    "${extra[@]}" \
    "$work/corpus" || status=$?

if [[ $status -ne 0 ]]; then
    echo "run.sh: $target exited with status $status; see $build_dir/fuzz-artifacts/" >&2
    exit "$status"
fi
echo "run.sh: no crash in ${seconds}s ($(find "$work/corpus" -type f | wc -l) corpus entries)" >&2
