#!/usr/bin/env bash
# The Debian package (cmake/package.cmake, docs/operations.md "The Debian
# package"): cpack builds coapgw and coapgw-dev from the build directory,
# dpkg -i installs them into this machine's /usr and /etc, the installed
# programs check the installed configuration and answer a request through
# the gateway (run as the package's coapgw user, its state in
# /var/lib/coapgw), and dpkg --purge leaves nothing behind. As root only
# (as CI runs it); the cleanup purges whatever happens.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: installs a package: needs root"; exit 77; }
need cpack dpkg dpkg-shlibdeps adduser curl
if dpkg-query -W -f='${Status}' coapgw 2>/dev/null | grep -q installed ||
    dpkg-query -W -f='${Status}' coapgw-dev 2>/dev/null | grep -q installed; then
    echo "SKIP: a coapgw package is installed already; this test would remove it"
    exit 77
fi
# the purge removes these: someone else's (a gateway run by hand with the
# default state.path) are not this test's to delete
for f in /etc/coapgw /var/lib/coapgw /var/lib/private/coapgw; do
    [ ! -e "$f" ] || { echo "SKIP: $f exists; the purge this test ends with would remove it"; exit 77; }
done
if getent passwd coapgw >/dev/null || getent group coapgw >/dev/null; then
    echo "SKIP: a user or group coapgw exists; the purge this test ends with would remove it"
    exit 77
fi

# dpkg with its lock: another installer running (tools/deps.sh) is waited for, a while
dpkg_locked() {
    local _
    for _ in $(seq 1 60); do
        "$@" >>"$TMP/dpkg.log" 2>&1 && return 0
        grep -q "lock" "$TMP/dpkg.log" || return 1
        sleep 1
    done
    return 1
}
purge() { dpkg_locked dpkg --purge coapgw coapgw-dev; }
# the processes first (deluser refuses a user that runs one), then the purge
on_exit() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    purge || true
    cleanup
}
trap on_exit EXIT

# the packages' files, named as Debian does: NAME_VERSION_ARCH.deb
VERSION=$("$BUILD/coapgw" --version | cut -d' ' -f2)
DEB=$TMP/pkg/coapgw_${VERSION}_$(dpkg --print-architecture).deb
DEV=$TMP/pkg/coapgw-dev_${VERSION}_$(dpkg --print-architecture).deb
build_it() {
    if (cd "$TMP" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$TMP/pkg") >"$TMP/cpack.log" 2>&1 &&
        [ -f "$DEB" ] && [ -f "$DEV" ]; then
        return 0
    fi
    cat "$TMP/cpack.log"
    return 1
}
check "cpack -G DEB builds coapgw and coapgw-dev" build_it

control() {
    local deps
    deps=$(dpkg-deb -f "$DEB" Depends)
    echo "  Depends: $deps"
    [[ $deps == *adduser* && $deps == *libmicrohttpd* && $deps == *libgnutls* ]] &&
        dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/coapgw/coapgw.json
}
check "coapgw's Depends come from dpkg-shlibdeps (and adduser); /etc/coapgw/coapgw.json is a conffile" control

install_it() { dpkg_locked dpkg -i "$DEB" "$DEV"; }
check "dpkg -i installs both" install_it

installed() {
    local f
    for f in /usr/bin/coapgw /usr/bin/coapgw-client /usr/bin/coapgw-sim /usr/share/man/man1/coapgw.1.gz \
        /usr/share/man/man1/coapgw-client.1.gz /usr/share/man/man1/coapgw-sim.1.gz /usr/share/man/man5/coapgw.json.5.gz \
        /usr/share/bash-completion/completions/coapgw /usr/lib/systemd/system/coapgw.service \
        /usr/lib/systemd/system/coapgw.socket /usr/lib/systemd/system/coapgw-coap.socket \
        /usr/include/coapgw/coap_msg.h /usr/lib/libcoapgw_coap.a /usr/lib/pkgconfig/coapgw-coap.pc; do
        [ -f "$f" ] || { echo "no $f"; return 1; }
    done
    grep -qx 'ExecStart=/usr/bin/coapgw --config /etc/coapgw/coapgw.json' /usr/lib/systemd/system/coapgw.service &&
        man -w coapgw.json >/dev/null || return 1
    # not enabled by the install: the example listens on every address
    ! compgen -G '/etc/systemd/system/*.wants/coapgw*' >/dev/null
}
check "programs, man pages, completions, units (ExecStart /usr/bin/coapgw, not enabled), headers and library in place" installed

the_user() {
    getent passwd coapgw >/dev/null && getent group coapgw >/dev/null &&
        [ "$(stat -c %U:%G:%a /var/lib/coapgw)" = coapgw:coapgw:700 ] &&
        [ "$(getent passwd coapgw | cut -d: -f7)" != /bin/bash ]
}
check "postinst: system user and group coapgw, /var/lib/coapgw theirs (0700), no login shell" the_user

check_config() { [ "$(/usr/bin/coapgw --check-config /etc/coapgw/coapgw.json)" = "/etc/coapgw/coapgw.json: ok" ]; }
check "the installed coapgw --check-config /etc/coapgw/coapgw.json: ok" check_config

# The installed gateway as the coapgw user, on the installed configuration
# with free loopback ports, its state in /var/lib/coapgw (as the service's)
serve() {
    local http coap dev
    http=$(free_port tcp) coap=$(free_port) dev=$(free_port)
    start sim /usr/bin/coapgw-sim --listen "127.0.0.1:$dev"
    COAPGW_STATE_PATH=/var/lib/coapgw/state.db start gw setpriv --reuid coapgw --regid coapgw --clear-groups \
        /usr/bin/coapgw --config /etc/coapgw/coapgw.json --http-listen "127.0.0.1:$http" \
        --coap-listen "127.0.0.1:$coap" --device "sim=coap://127.0.0.1:$dev"
    wait_for "the installed gateway" curl -sf "http://127.0.0.1:$http/healthz" || return 1
    [ "$(curl -s "http://127.0.0.1:$http/devices/sim/actuators/led" -X PUT -H 'Content-Type: text/plain' -d on -o /dev/null -w '%{http_code}')" = 204 ] ||
        return 1
    [ "$(curl -s "http://127.0.0.1:$http/devices/sim/actuators/led")" = on ] &&
        [ "$(stat -c %U /var/lib/coapgw/state.db)" = coapgw ]
}
check "the installed coapgw (as user coapgw) answers through the installed coapgw-sim; state.db is coapgw's" serve
stop gw
stop sim

purged() {
    dpkg -L coapgw coapgw-dev >"$TMP/files" 2>/dev/null || return 1
    purge || { cat "$TMP/dpkg.log"; return 1; }
    local f left=0
    while read -r f; do
        [ -d "$f" ] && continue # shared directories (/usr/bin) stay
        [ ! -e "$f" ] || { echo "left: $f"; left=1; }
    done <"$TMP/files"
    for f in /etc/coapgw /var/lib/coapgw /usr/include/coapgw; do
        [ ! -e "$f" ] || { echo "left: $f"; left=1; }
    done
    getent passwd coapgw >/dev/null && { echo "user coapgw left"; left=1; }
    getent group coapgw >/dev/null && { echo "group coapgw left"; left=1; }
    [ "$left" = 0 ] && ! dpkg-query -W coapgw >/dev/null 2>&1
}
check "dpkg --purge: every file dpkg -L listed, /etc/coapgw, /var/lib/coapgw, user and group coapgw gone" purged
finish
