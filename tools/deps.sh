#!/usr/bin/env bash
# Installs the Debian packages coapgw needs that are missing (as root, on
# Debian 12). Quick and silent when everything is there.
#   tools/deps.sh build   what building and running needs
#   tools/deps.sh test    plus the real peers and tools the tests use
set -euo pipefail

# python3-yaml: the build turns docs/openapi.yaml into /api/openapi.json's JSON;
# libc-ares-dev: target host names resolved on the event loop (gateway/dns.c);
# libcurl4-gnutls-dev: libcurl's GnuTLS flavour, as docker/Dockerfile has, so
# the reverse path's HTTPS uses the TLS library the DTLS transport and the
# HTTPS front end use already (it replaces libcurl4-openssl-dev when that is
# installed: the two conflict)
build_pkgs=(gcc make cmake pkg-config libmicrohttpd-dev libcurl4-gnutls-dev libjansson-dev libcbor-dev python3-yaml
    libgnutls28-dev libsqlite3-dev libhiredis-dev libc-ares-dev check)
# openssl makes the DTLS and HTTPS tests' keys and certificates; systemd brings
# systemd-analyze, which checks packaging/'s units (no running systemd needed);
# iptables drops datagrams at random for the loss test (its statistic match);
# dpkg-dev (dpkg-shlibdeps: the package's Depends) and adduser for the Debian
# package's test, man-db and groff-base render the man pages with warnings on;
# gnuplot-nox remakes docs/performance.md's charts from their series
# (bench/charts.sh; test_charts compares them with the committed ones)
# redis-server: test_redis.sh runs two gateways on one Redis (state.redis);
# haproxy, nginx with its stream module and wrk: test_cluster.sh runs three
# gateways behind HAProxy (HTTP) and nginx (CoAP/UDP) under load; strace:
# bench/run-syscalls.sh counts system calls per request; gnutls-bin:
# gnutls-cli offers a PSK identity of 1000 bytes to the TLS listener
# (test_adversarial_tls.sh)
test_pkgs=(redis-server haproxy nginx libnginx-mod-stream wrk libcoap3-bin libcoap3-dev curl clang libclang-rt-14-dev valgrind iproute2 iptables util-linux python3
    openssl chromium systemd dpkg-dev adduser man-db groff-base gnuplot-nox strace gnutls-bin)
# The browser test's Node.js: Debian's nodejs and npm, unless a node and npm
# are there already (NodeSource's nodejs carries npm and conflicts with
# Debian's npm package).
command -v node >/dev/null || test_pkgs+=(nodejs)
command -v npm >/dev/null || test_pkgs+=(npm)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "coapgw: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi
echo "coapgw: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
