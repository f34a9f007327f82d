#!/usr/bin/env bash
# Every documented configuration key changes what the gateway does (issue
# #13: two keys were parsed and never used). The keys are the first column
# of the table in docs/configuration.md; they must be exactly those
# `coapgw --list-keys` prints (config/cfg.c's table), in that order, and
# each must have an `effect KEY ...` check in one of the integration tests
# (tests/integration/, or tests/cluster/ for the cluster's keys)
# (lib.sh's effect: a check counted for KEY; the check itself passes or
# fails in its own test). A key added without one fails here, by name,
# and so does a check of a key the table does not list.
# Usage: test_config_keys.sh PATH-TO-coapgw
set -euo pipefail
GW=$1
cd "$(dirname "$0")/../.."
DOC=docs/configuration.md
doc=$(sed -n '/^## Keys/,/^## /p' "$DOC" | sed -n 's/^| `\([^`]*\)` |.*/\1/p')
known=$("$GW" --list-keys)
# effect KEY "WHAT" FUNCTION: the key is the first word after "effect"
checked=$(grep -hoE '^[[:space:]]*effect [a-z_.]+ ' tests/integration/*.sh tests/cluster/*.sh | awk '{print $2}' | sort -u)
listed() { grep -qx -- "$1" <<<"$2"; }
ok=0
[ -n "$doc" ] || { echo "no keys table in $DOC"; exit 1; }
for k in $known; do
    listed "$k" "$doc" || { echo "$k: coapgw knows it; $DOC does not list it"; ok=1; }
done
for k in $doc; do
    listed "$k" "$known" || { echo "$k: $DOC lists it; coapgw does not know it"; ok=1; }
    listed "$k" "$checked" || { echo "$k: documented, but no integration test checks an effect of it"; ok=1; }
done
for k in $checked; do
    listed "$k" "$doc" || { echo "$k: an integration test checks it, but $DOC does not list it"; ok=1; }
done
if [ "$ok" = 0 ] && [ "$doc" != "$known" ]; then
    echo "the table's order differs from coapgw --list-keys"
    ok=1
fi
[ "$ok" = 0 ] && echo "ok - $(wc -l <<<"$doc") keys, each documented, known and checked"
exit $ok
