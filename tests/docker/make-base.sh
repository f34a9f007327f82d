#!/usr/bin/env bash
# make-base.sh OUT.tar [SUITE]
#
# Makes a stand-in for the official debian:SUITE-slim image on a machine that
# reaches the Debian archive but no container registry: a minbase debootstrap
# (the variant the official images use), trimmed the way debian:*-slim is
# (no docs, man pages or translations, and dpkg told to keep it that way),
# written as a tarball for `docker import`. The result is about 75 MB, like
# the official image; test_docker.sh imports it under the names that
# docker/Dockerfile's FROM lines use, so the Dockerfile is built unchanged.
set -euo pipefail

out=${1:?usage: make-base.sh OUT.tar [SUITE]}
suite=${2:-bookworm}
work=$(mktemp -d /var/tmp/coapgw-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

if ! debootstrap --variant=minbase "$suite" "$root" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    echo "make-base.sh: debootstrap $suite failed" >&2
    exit 1
fi

# The image's apt uses the same archive as this host (deb822 sources, as the
# official image has), with SUITE, SUITE-updates and SUITE-security.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    sed "s/\\b${host_suite:-$suite}\\b/$suite/g" \
        /etc/apt/sources.list.d/debian.sources >"$root/etc/apt/sources.list.d/debian.sources"
    rm -f "$root/etc/apt/sources.list"
fi
# Archive quirks this host lives with (an expired Valid-Until on a snapshot
# mirror) and the official image's apt/dpkg settings, when the host has them.
for f in /etc/apt/apt.conf.d/99artifact-registry /etc/apt/apt.conf.d/docker-*; do
    [ -f "$f" ] && cp "$f" "$root/etc/apt/apt.conf.d/"
done
[ -f /etc/dpkg/dpkg.cfg.d/docker-apt-speedup ] && cp /etc/dpkg/dpkg.cfg.d/docker-apt-speedup "$root/etc/dpkg/dpkg.cfg.d/"

# -slim: what packages install later stays slim too.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
EOF
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$root"/usr/share/{info,man,groff,lintian/overrides}/*

# Nothing the official image leaves out: package lists, caches, logs, ids.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/* \
    "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname"
: >"$root/etc/resolv.conf"

mkdir -p "$(dirname "$out")"
tar --numeric-owner --xattrs -C "$root" -cf "$out.part" .
mv "$out.part" "$out"
