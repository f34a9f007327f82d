#!/usr/bin/env bash
# The integration tests with every coapgw, coapgw-sim and coapgw-client
# under valgrind --leak-check=full (issue #17; not in CI: about ten times
# slower than the plain suite). The tests take a build directory: this
# script makes one of links to BUILD in which those three programs are
# wrappers that run the real ones under valgrind, one log per process.
# At the end it prints, per test, its result and the valgrind findings:
# errors, and definitely or indirectly lost bytes (still-reachable blocks
# at exit are not counted: a killed process has them by design).
# Tests whose timing assumptions valgrind's slowness breaks fail as
# tests; what matters here is the valgrind column.
# usage: tests/valgrind/run.sh BUILD [TEST-NAME...]   (default: every
#        tests/integration/test_*.sh but test_install and test_browser)
set -uo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD [TEST...]}" && pwd)
shift
HERE=$(cd "$(dirname "$0")" && pwd)
IT=$HERE/../integration
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
OUT=${VG_OUT:-$(mktemp -d /tmp/coapgw-vg.XXXXXX)}
W=$OUT/build
mkdir -p "$W" "$OUT/logs"
for f in "$BUILD"/*; do ln -sfn "$f" "$W/$(basename "$f")"; done
for p in coapgw coapgw-sim coapgw-client; do
    rm -f "$W/$p"
    cat >"$W/$p" <<SH
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \\
    --show-leak-kinds=definite,indirect --log-file="$OUT/logs/\$VG_TEST.$p.%p.log" \\
    "$BUILD/$p" "\$@"
SH
    chmod +x "$W/$p"
done
tests=("$@")
if [ ${#tests[@]} = 0 ]; then
    for t in "$IT"/test_*.sh; do
        case $(basename "$t" .sh) in test_install | test_browser) continue ;; esac
        tests+=("$(basename "$t" .sh)")
    done
fi
printf '%-24s %-6s %8s %8s %s\n' test result errors lost_B logs
bad=0
for t in "${tests[@]}"; do
    VG_TEST=$t timeout 900 bash "$IT/$t.sh" "$W" >"$OUT/$t.out" 2>&1
    rc=$?
    res=$([ $rc = 0 ] && echo pass || { [ $rc = 77 ] && echo skip || echo "fail"; })
    errs=0 lost=0 n=0
    for l in "$OUT/logs/$t".*.log; do
        [ -e "$l" ] || continue
        n=$((n + 1))
        e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$l" | tr -d , | tail -1)
        d=$(awk '/(definitely|indirectly) lost:/ {gsub(",", "", $4); s += $4} END {print s + 0}' "$l")
        # -q logs nothing for a clean process: count the findings in it
        [ -n "$e" ] || e=$(grep -c '^==[0-9]*== [A-Z]' "$l")
        errs=$((errs + e)) lost=$((lost + d))
    done
    [ "$errs" = 0 ] && [ "$lost" = 0 ] || bad=1
    printf '%-24s %-6s %8d %8d %d\n' "$t" "$res" "$errs" "$lost" "$n"
done
echo "logs and test outputs: $OUT"
exit $bad
