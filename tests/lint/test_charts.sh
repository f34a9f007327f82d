#!/usr/bin/env bash
# The charts of docs/performance.md's pages: every chart they link is in
# docs/charts/, every committed series has its header line and rows of
# that many columns, and bench/charts.sh makes exactly the committed SVGs
# from the committed series (skipped, code 77, without gnuplot: a
# benchmark dependency, apt-get install gnuplot-nox).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
FAILED=0
fail() {
    echo "FAIL - $*"
    FAILED=1
}

# docs/performance.md and its pages in docs/performance/ (which link
# ../charts/)
PAGES="docs/performance.md docs/performance/*.md"
# shellcheck disable=SC2086
links=$(grep -ho '](\(\.\./\)\{0,1\}charts/[^)]*\.svg)' $PAGES | sed 's/^](//; s/)$//; s,^\.\./,,' | sort -u)
[ -n "$links" ] || fail "docs/performance.md and its pages link no chart"
for l in $links; do
    [ -s "docs/$l" ] || fail "docs/performance.md or a page of it links docs/$l, which is missing"
done
for svg in docs/charts/*.svg; do
    # shellcheck disable=SC2086
    grep -q "](\(\.\./\)\{0,1\}charts/$(basename "$svg"))" $PAGES || fail "$svg is not in docs/performance.md or its pages"
done

for csv in docs/charts/data/*.csv; do
    head -n 1 "$csv" | grep -q '^# [a-z_0-9]*\(,[a-z_0-9]*\)*$' || fail "$csv: no header line"
    awk -F, 'NR == 1 { n = NF; next } /^#/ { next } NF != n { bad = 1 } END { exit bad }' "$csv" ||
        fail "$csv: a row with another number of columns than its header"
done

if ! command -v gnuplot >/dev/null; then
    [ "$FAILED" = 0 ] || exit 1
    echo "SKIP: gnuplot not installed (apt-get install gnuplot-nox)"
    exit 77
fi
TMP=$(mktemp -d /tmp/coapgw-charts.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
bash bench/charts.sh docs/charts/data "$TMP/out" >/dev/null
for svg in docs/charts/*.svg; do
    cmp -s "$svg" "$TMP/out/$(basename "$svg")" || fail "$svg is not what bench/charts.sh makes of docs/charts/data"
done
# a missing series: that chart is skipped, with a note, and the others made
mkdir "$TMP/some"
cp docs/charts/data/http.csv "$TMP/some/"
bash bench/charts.sh "$TMP/some" "$TMP/some-out" >/dev/null 2>"$TMP/err"
[ -s "$TMP/some-out/http_rps.svg" ] && [ ! -e "$TMP/some-out/sse_latency.svg" ] &&
    grep -q "skipped sse_latency" "$TMP/err" || fail "bench/charts.sh with one series"
[ "$FAILED" = 0 ] && echo "ok - charts, series and docs/performance.md agree"
