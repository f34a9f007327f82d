#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each in turn, one after
# the other (never in parallel: the machine's cores are shared).
#
#   tests/fuzz/run.sh [SECONDS]      each target for SECONDS (default 60)
#   tests/fuzz/run.sh --runs N       each target for N executions
#                                    (the long mode: docs/fuzzing.md)
#
# Targets (seeds in tests/fuzz/corpus-NAME/, fuzz_parse's in corpus/):
#   fuzz_parse  the CoAP message parser        fuzz_link  the link format
#   fuzz_cfg    the configuration file         fuzz_map   HTTP -> CoAP mapping
#   fuzz_rd     the Resource Directory (registrations, queries, links)
#   fuzz_cbor   CBOR <-> JSON and SenML, both ways
#   fuzz_parse_tcp  the CoAP-over-TCP framing (RFC 8323)
#   fuzz_tcp_stream a byte stream to a server over TCP (transport, signals, roles)
#
# Environment:
#   BUILD_DIR   build directory (default <repo>/build-fuzz)
#   CC          compiler (default clang; must be clang)
#   FUZZ_JOBS   parallel build jobs (default: nproc)
#   FUZZ_ARGS   extra libFuzzer flags, e.g. "-seed=1 -verbosity=0"
#   FUZZ_TARGET the targets to run, blank-separated (default: all eight)
#
# The committed seeds are copied to a temporary corpus directory, so a run
# never modifies them. Crash inputs are kept in $BUILD_DIR/fuzz-artifacts/.
# Each target ends with one summary line (executions, exec/s, coverage).
# Exits non-zero when a fuzzer found a crash, leak, timeout or abort, or
# when the build fails; the targets after it still run.
set -euo pipefail

limit=(-max_total_time=60)
what="60s"
case ${1:-} in
--runs)
    [[ ${2:-} =~ ^[0-9]+$ ]] || {
        echo "usage: $0 [SECONDS] | --runs N" >&2
        exit 2
    }
    limit=(-runs="$2")
    what="$2 runs"
    ;;
'') ;;
*[!0-9]*)
    echo "usage: $0 [SECONDS] | --runs N" >&2
    exit 2
    ;;
*)
    limit=(-max_total_time="$1")
    what="${1}s"
    ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
export CC=${CC:-clang}
read -r -a targets <<<"${FUZZ_TARGET:-fuzz_parse fuzz_link fuzz_cfg fuzz_map fuzz_rd fuzz_cbor fuzz_parse_tcp fuzz_tcp_stream}"

cmake -S "$root" -B "$build_dir" -DCOAPGW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target "${targets[@]}" -j "$jobs"

work=$(mktemp -d "${TMPDIR:-/tmp}/coapgw-fuzz.XXXXXX")
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
mkdir -p "$build_dir/fuzz-artifacts"

extra=()
if [[ -n ${FUZZ_ARGS:-} ]]; then
    read -r -a extra <<<"$FUZZ_ARGS"
fi

# fuzz_one TARGET: runs it on a copy of its seeds; prints the summary.
fuzz_one() {
    local target=$1 seeds=$here/corpus fuzzer=$build_dir/$1 status=0 max_len=1500
    [[ $target == fuzz_parse ]] || seeds=$here/corpus-${target#fuzz_}
    # a datagram is at most about 1500 bytes; a configuration file more
    [[ $target != fuzz_cfg ]] || max_len=4096
    if [[ ! -x $fuzzer ]]; then
        echo "run.sh: $fuzzer was not built (is CC=$CC clang with libFuzzer?)" >&2
        return 1
    fi
    mkdir -p "$work/$target"
    cp -- "$seeds"/* "$work/$target/"
    echo "run.sh: $target for $what, $(find "$work/$target" -type f | wc -l) seeds" >&2
    # libFuzzer runs in the foreground: when this script is interrupted,
    # the signal reaches it through the process group, and nothing else
    # is killed.
    "$fuzzer" "${limit[@]}" \
        -max_len="$max_len" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="$build_dir/fuzz-artifacts/" \
        "${extra[@]}" \
        "$work/$target" 2>"$work/$target.log" || status=$?
    grep -v '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)' "$work/$target.log" | tail -n 40 >&2
    local done_line runs rate
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$target.log" | tail -n 1 || true)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$target.log")
    echo "run.sh: $target: status $status, ${runs:-?} executions, ${rate:-?} exec/s," \
        "$(grep -o 'cov: [0-9]* ft: [0-9]*' <<<"$done_line" || echo 'cov: ?')," \
        "corpus $(find "$work/$target" -type f | wc -l) entries" >&2
    return "$status"
}

failed=0
for t in "${targets[@]}"; do
    fuzz_one "$t" || failed=$?
done
if [[ $failed -ne 0 ]]; then
    echo "run.sh: a fuzzer exited with status $failed; see $build_dir/fuzz-artifacts/" >&2
    exit "$failed"
fi
echo "run.sh: no crash (${targets[*]})" >&2
