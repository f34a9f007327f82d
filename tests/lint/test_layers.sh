#!/usr/bin/env bash
# The rooms and which may use which (docs/architecture.md): every
# #include "..." of a room's sources must name a header of the room itself
# or of a room it may use. Fails naming the file and the header otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
declare -A may=(
    [base]="base"
    [coap]="coap base"
    [dtls]="dtls coap base"
    [http]="http base"
    [config]="config coap base"
    [gateway]="gateway http coap dtls config base"
    [tools]="tools dtls coap base"
)
room_of() { # the room that holds header $1, or "" when none does
    local r
    for r in base coap dtls http config gateway tools; do
        [ -e "$r/$1" ] && { echo "$r"; return; }
    done
    echo ""
}
bad=0
for room in "${!may[@]}"; do
    for f in "$room"/*.c "$room"/*.h; do
        [ -e "$f" ] || continue
        while IFS= read -r h; do
            owner=$(room_of "$h")
            [ -n "$owner" ] || continue # generated (web_assets) or a system header
            case " ${may[$room]} " in
            *" $owner "*) ;;
            *) echo "$f includes $owner/$h: $room may use only ${may[$room]}"; bad=1 ;;
            esac
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
done
# Nothing includes gateway/ but gateway/ itself (checked above for the
# rooms; the tests and benchmarks may, they test it).
[ "$bad" = 0 ] && echo "ok: every room uses only what it may"
exit "$bad"
