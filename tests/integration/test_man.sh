#!/usr/bin/env bash
# man/: the four pages render with no warning from man-db (groff -ww),
# coapgw.json(5) lists every configuration key and is what man/gen_keys.py
# makes from docs/configuration.md, and each program's --help and man page
# name the same flags, both ways (tests/integration/flags.py).
. "$(dirname "$0")/lib.sh"
need man python3
SRC=$(cd "$(dirname "$0")/../.." && pwd)

no_warnings() {
    local page
    for page in "$SRC"/man/coapgw.1 "$SRC"/man/coapgw-client.1 "$SRC"/man/coapgw-sim.1 "$SRC"/man/coapgw.json.5; do
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$TMP/page.txt" 2>"$TMP/warn.log" || return 1
        [ ! -s "$TMP/warn.log" ] || { echo "$page:"; cat "$TMP/warn.log"; return 1; }
        grep -q "SEE ALSO" "$TMP/page.txt" || { echo "$page renders empty"; return 1; }
    done
}
check "man --warnings -l: coapgw(1), coapgw-client(1), coapgw-sim(1), coapgw.json(5), no warning" no_warnings

every_key() {
    local key missing=0
    for key in $("$BUILD/coapgw" --list-keys); do
        grep -qxF ".It Cm $key" "$SRC/man/coapgw.json.5" || { echo "coapgw.json(5) lacks $key"; missing=1; }
    done
    [ "$missing" = 0 ] && [ "$("$BUILD/coapgw" --list-keys | wc -l)" -gt 50 ]
}
check "coapgw.json(5) has an entry for every key of coapgw --list-keys" every_key

check "coapgw.json(5)'s keys are man/gen_keys.py's rendering of docs/configuration.md" \
    python3 "$SRC/man/gen_keys.py" --check

same_flags() {
    local p=$1
    "$BUILD/$p" --help | python3 "$SRC/tests/integration/flags.py" help >"$TMP/$p.help"
    python3 "$SRC/tests/integration/flags.py" man <"$SRC/man/$p.1" >"$TMP/$p.man"
    [ "$(wc -l <"$TMP/$p.help")" -gt 5 ] || return 1
    diff -u --label "$p --help" --label "man/$p.1" "$TMP/$p.help" "$TMP/$p.man"
}
for p in coapgw coapgw-client coapgw-sim; do
    check "$p: --help and $p(1) name the same flags" same_flags "$p"
done
finish
