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
# completions/: each script's flag list is --help's; a completion of each
# (COMP_WORDS and COMP_CWORD set, the function called, COMPREPLY read)
completion_flags() {
    local p=$1
    bash -c '. "$1" && complete -p "$2" | grep -q " -F $3 "' _ "$SRC/completions/$p" "$p" "_${p//-/_}" || return 1
    sed -n '/local flags="/,/"$/p' "$SRC/completions/$p" | grep -oE -- '(^|[ "])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' "' | sort >"$TMP/$p.comp"
    "$BUILD/$p" --help | python3 "$SRC/tests/integration/flags.py" help >"$TMP/$p.help"
    diff -u --label "$p --help" --label "completions/$p" "$TMP/$p.help" "$TMP/$p.comp"
}
for p in coapgw coapgw-client coapgw-sim; do
    check "completions/$p: defines its function for $p and completes the flags of --help" completion_flags "$p"
done

# complete SCRIPT FUNCTION WORD...: COMPREPLY for the last WORD, one a line
complete_words() {
    local script=$1 fn=$2
    shift 2
    PATH=$BUILD:$PATH bash -c '. "$1"; fn=$2; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        "$fn"; printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$fn" "$@"
}
completes() {
    local out
    out=$(complete_words "$SRC/completions/coapgw" _coapgw coapgw --set proxy.time) &&
        [ "$out" = "proxy.timeout_ms=" ] || { echo "coapgw --set proxy.time: '$out'"; return 1; }
    out=$(complete_words "$SRC/completions/coapgw" _coapgw coapgw --check-c) &&
        [ "$out" = "--check-config" ] || { echo "coapgw --check-c: '$out'"; return 1; }
    out=$(complete_words "$SRC/completions/coapgw-client" _coapgw_client coapgw-client -m fe) &&
        [ "$out" = "fetch" ] || { echo "coapgw-client -m fe: '$out'"; return 1; }
    out=$(complete_words "$SRC/completions/coapgw-client" _coapgw_client coapgw-client --psk-i) &&
        [ "$out" = "--psk-identity" ] || { echo "coapgw-client --psk-i: '$out'"; return 1; }
    out=$(complete_words "$SRC/completions/coapgw-sim" _coapgw_sim coapgw-sim --list) &&
        [ "$(echo $out)" = "--listen --listen-dtls --listen-tcp --listen-tls" ] || { echo "coapgw-sim --list: '$out'"; return 1; }
}
check "completion: coapgw --set proxy.time, coapgw --check-c, coapgw-client -m fe and --psk-i, coapgw-sim --list" completes
finish
