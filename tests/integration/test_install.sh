#!/usr/bin/env bash
# The engine as a library: install it, compile README's two examples
# against the installed headers with pkg-config, run them against each other.
. "$(dirname "$0")/lib.sh"
need pkg-config cc python3
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PREFIX=$TMP/prefix

readme_shows_examples() {
    python3 - "$SRC" <<'PY'
import sys
src = sys.argv[1]
readme = open(src + "/README.md").read()
for name in ("examples/server.c", "examples/observe.c"):
    marker = "<!-- " + name + " -->\n```c\n"
    start = readme.index(marker) + len(marker)
    shown = readme[start:readme.index("```", start)]
    if shown != open(src + "/" + name).read():
        sys.exit(name + " in README.md differs from the file")
PY
}
check "README shows examples/server.c and examples/observe.c as they are" readme_shows_examples

install_it() { cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log"; }
check "cmake --install puts library, headers and pkg-config file in place" install_it

compile() {
    export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
    local f
    for f in server observe; do
        # shellcheck disable=SC2046
        cc -std=c11 -Wall -Wextra -Werror -o "$TMP/$f" "$SRC/examples/$f.c" \
            $(pkg-config --cflags --libs coapgw-coap) || return 1
    done
}
check "examples/server.c and examples/observe.c compile against the install" compile

# The installed names do not collide with libcoap's (README, "The engine as
# a library"): one translation unit includes both libraries' headers, calls
# both, and links both statically, so a shared symbol would fail the link.
with_libcoap() {
    export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
    local h includes=""
    for h in "$PREFIX"/include/coapgw/*.h; do includes+="#include <$(basename "$h")>"$'\n'; done
    cat >"$TMP/both.c" <<C
#include <coap3/coap.h>
$includes
int main(void)
{
    coap_startup();                               /* libcoap */
    coap_msg_t m;                                 /* coapgw's engine */
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    base_loop_t *loop = base_loop_new();
    base_loop_free(loop);
    coap_cleanup();
    return m.code == COAP_GET ? 0 : 1;
}
C
    # shellcheck disable=SC2046
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$TMP/both" "$TMP/both.c" \
        $(pkg-config --cflags coapgw-coap libcoap-3-notls) \
        "$PREFIX/lib/libcoapgw_coap.a" "$PREFIX/lib/libcoapgw_base.a" \
        /usr/lib/x86_64-linux-gnu/libcoap-3-notls.a && "$TMP/both"
}
if pkg-config --exists libcoap-3-notls && [ -e /usr/lib/x86_64-linux-gnu/libcoap-3-notls.a ]; then
    check "the installed headers and library work beside libcoap's in one program" with_libcoap
else
    echo "skip - libcoap3-dev is not installed: the coexistence check needs it"
fi

run_them() {
    local port
    port=$(free_port)
    start example-server "$TMP/server" "127.0.0.1:$port"
    # the example server is up once it answers (the observer would
    # otherwise get ICMP port unreachable and end at once)
    wait_for "the example server" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$port/counter" || return 1
    timeout 20 "$TMP/observe" "coap://127.0.0.1:$port/counter" >"$TMP/obs.out" || return 1
    [ "$(grep -c . "$TMP/obs.out")" -ge 5 ] || return 1
    [ "$(timeout 10 "$BUILD/coapgw-client" "coap://127.0.0.1:$port/slow")" = "done" ]
}
check "the observing client sees five notifications; /slow answers late" run_them
finish
