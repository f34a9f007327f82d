#!/usr/bin/env bash
# run-codec.sh - CoAP codec benchmark: our codec against libcoap 4.3.
#
# Builds bench_codec if needed, times every operation (ns/message, best of
# several repetitions) and counts instructions/message with callgrind: each
# mode runs under callgrind with two iteration counts and the difference of
# the totals, divided by the difference of the counts, cancels start-up cost.
#
# Environment: BUILD_DIR (default: build/ at the repository root),
# CG_ITERS1 / CG_ITERS2 (callgrind iteration counts, default 1000 / 11000),
# VALGRIND (default: valgrind; without it instructions are reported as n/a).
# CSV_DIR: where codec.csv goes (message,operation,ours_ns,libcoap_ns,
# ours_instr,libcoap_instr; "n/a" or "-" where there is no figure), a new
# folder under /tmp by default, named at the end (as bench/lib.sh does).
# Results are recorded in docs/performance.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
n1=${CG_ITERS1:-1000}
n2=${CG_ITERS2:-11000}
valgrind=${VALGRIND:-valgrind}
bin=$build/bench_codec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- Build ---------------------------------------------------------------
# Configuring again is cheap and keeps the cached options; it is needed when
# the build directory predates bench_codec (the generated Makefile would not
# know the target yet).
if ! cmake -S "$repo" -B "$build" >"$tmp/configure.log" 2>&1; then
    cat "$tmp/configure.log" >&2
    exit 1
fi
if ! cmake --build "$build" --target bench_codec -j2 >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    exit 1
fi

cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
info() { "$bin" --info | sed -n "s/^$1\t//p"; }
if [[ $(info optimized) != yes ]]; then
    echo "warning: bench_codec in $build was built without optimisation; figures are not representative" >&2
fi
if [[ $(cache_get COAPGW_SANITIZE) == ON ]]; then
    echo "warning: $build has COAPGW_SANITIZE=ON; figures are not representative" >&2
fi
# Our library and libcoap share the coap_ prefix. A function of ours that
# libcoap also defines would be exported by the executable and take the place
# of libcoap's own in libcoap's calls, distorting the baseline.
if clash=$(nm -D --defined-only "$bin" 2>/dev/null | awk '$3 ~ /^coap_/ { print $3 }') &&
    [[ -n $clash ]]; then
    echo "warning: bench_codec exports $(echo "$clash" | tr '\n' ' ')- they override libcoap's" >&2
fi
build_type=$(cache_get CMAKE_BUILD_TYPE)
baseline=$(info baseline)

# --- Machine -------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
os=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  ${cpu:-unknown CPU}, $(nproc) cores, ${os:-$(uname -sr)}"
echo "compiler: $(info compiler), build type ${build_type:-project default (RelWithDebInfo)}"
if [[ $baseline == none ]]; then
    echo "baseline: libcoap baseline missing (bench_codec built without libcoap-3-notls)"
else
    echo "baseline: $baseline"
fi
"$bin" --check >/dev/null

# --- Timed runs ----------------------------------------------------------
declare -A ns=() instr=()
timed=$("$bin" --tsv)
while IFS=$'\t' read -r kind msg mode value; do
    if [[ $kind == ns ]]; then ns[$msg/$mode]=$value; fi
done <<<"$timed"

# --- Callgrind runs ------------------------------------------------------
messages=(request notification)
modes=(ours-parse ours-build ours-serialize)
if [[ $baseline != none ]]; then modes+=(libcoap-parse libcoap-build); fi

# Valgrind 3.19 cannot read clang 14's DWARF 5 and gives up on the binary;
# callgrind needs only the symbol table for totals, so it runs a copy without
# debug information.
cg_bin=$tmp/bench_codec
if ! objcopy --strip-debug "$bin" "$cg_bin" 2>/dev/null; then
    cg_bin=$bin
fi

cg_total() { # callgrind out file -> total instructions
    awk '/^summary:/ { s = $2 } /^totals:/ { t = $2 } END { print (s != "" ? s : t) }' "$1"
}
cg_run() { # mode msg iters
    "$valgrind" --tool=callgrind --callgrind-out-file="$tmp/$1.$2.$3.out" \
        "$cg_bin" --mode "$1" --msg "$2" --iters "$3" >/dev/null 2>"$tmp/$1.$2.$3.log" ||
        { cat "$tmp/$1.$2.$3.log" >&2; return 1; }
}

have_valgrind=0
if command -v "$valgrind" >/dev/null 2>&1; then have_valgrind=1; fi
if ((have_valgrind)); then
    for msg in "${messages[@]}"; do
        for mode in "${modes[@]}"; do
            # The two runs are independent: one per core.
            cg_run "$mode" "$msg" "$n1" &
            pid=$!
            cg_run "$mode" "$msg" "$n2"
            wait "$pid"
            t1=$(cg_total "$tmp/$mode.$msg.$n1.out")
            t2=$(cg_total "$tmp/$mode.$msg.$n2.out")
            instr[$msg/$mode]=$(awk -v a="$t1" -v b="$t2" -v n1="$n1" -v n2="$n2" \
                'BEGIN { printf "%.0f", (b - a) / (n2 - n1) }')
        done
    done
else
    echo "$valgrind not found: instructions are n/a"
fi

# --- Table ---------------------------------------------------------------
ratio() {
    if [[ $1 == n/a || $2 == n/a ]]; then
        echo n/a
    else
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
    fi
}

echo
echo "ns/message: $(info timing); instr/message: callgrind, difference of $n2 and $n1 iterations"
fmt='%-13s %-15s %8s %11s %6s %11s %14s %6s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" message operation "ours ns" "libcoap ns" ratio "ours instr" "libcoap instr" ratio
verdict=met
CSV_DIR=${CSV_DIR:-$(mktemp -d /tmp/coapgw-bench-csv.XXXXXX)}
mkdir -p "$CSV_DIR"
echo "# message,operation,ours_ns,libcoap_ns,ours_instr,libcoap_instr" >"$CSV_DIR/codec.csv"
for msg in "${messages[@]}"; do
    for op in parse build serialize; do
        case $op in
        parse) label="parse+visit" ;;
        build) label="build+serialize" ;;
        *) label=$op ;;
        esac
        ons=${ns[$msg/ours-$op]:-n/a}
        lns=${ns[$msg/libcoap-$op]:-n/a}
        oin=${instr[$msg/ours-$op]:-n/a}
        lin=${instr[$msg/libcoap-$op]:-n/a}
        rns=$(ratio "$ons" "$lns")
        rin=$(ratio "$oin" "$lin")
        if [[ $ons != n/a ]]; then ons=$(printf '%.1f' "$ons"); fi
        if [[ $lns != n/a ]]; then lns=$(printf '%.1f' "$lns"); fi
        if [[ $op == serialize ]]; then # libcoap has no separate step
            lns=- lin=- rns=- rin=-
        fi
        # shellcheck disable=SC2059
        printf "$fmt" "$msg" "$label" "$ons" "$lns" "$rns" "$oin" "$lin" "$rin"
        echo "$msg,$label,$ons,$lns,$oin,$lin" >>"$CSV_DIR/codec.csv"
        if [[ $op == parse ]]; then
            for r in "$rns" "$rin"; do
                if [[ $r == n/a ]]; then
                    if [[ $verdict == met ]]; then verdict=unknown; fi
                elif awk -v r="$r" 'BEGIN { exit !(r > 0.5) }'; then
                    verdict="NOT met"
                fi
            done
        fi
    done
done
echo
echo "target (parse+visit: ours at most 1/2 of libcoap in ns and instructions): $verdict"
echo "CSV: $CSV_DIR/codec.csv"
