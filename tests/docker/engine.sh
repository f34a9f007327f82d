# shellcheck shell=bash
# shellcheck disable=SC2034 # OWN_ENGINE, BUILDKIT: read by test_docker.sh
# Container engine helpers for test_docker.sh (sourced after lib.sh).
#
# Build machines here have no running Docker engine and reach no container
# registry, but they reach the Debian archive. So: Debian's docker.io
# provides a dockerd that runs when started by hand, and the debian:SUITE and
# debian:SUITE-slim bases that docker/Dockerfile starts FROM are made locally
# with debootstrap (make-base.sh) and imported under those exact names.
#
# Outside the clone, so that they survive between CI runs:
#   $COAPGW_DOCKER_STATE (default /var/tmp/coapgw-docker): dockerd's data
#     (images, layer and build caches), exec root, socket, pidfile and log;
#   $COAPGW_OCI_CACHE (default /var/cache/coapgw-oci): the base tarballs.

STATE=${COAPGW_DOCKER_STATE:-/var/tmp/coapgw-docker}
OCI_CACHE=${COAPGW_OCI_CACHE:-/var/cache/coapgw-oci}
OWN_SOCK=unix://$STATE/docker.sock
DOCKERD_PID="" # set when this test runs the dockerd: it stops that PID only
OWN_ENGINE=0   # 1 when the engine is this test's (free to prune its images)
D=()           # the docker client, talking to the engine in use
BUILDKIT=0

skip_engine() {
    echo "SKIP: dockerd cannot start: $*"
    exit 77
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

apt_install() { # apt_install PKG...: one `apt-get update` if the lists are stale
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q)
    "${apt[@]}" install --no-install-recommends "$@" >>"$TMP/apt.log" 2>&1 && return 0
    "${apt[@]}" update >>"$TMP/apt.log" 2>&1 &&
        "${apt[@]}" install --no-install-recommends "$@" >>"$TMP/apt.log" 2>&1
}

# Installs what the test needs when it is missing (as root). docker.io brings
# dockerd and a docker client (20.10) with BuildKit built in.
install_tools() {
    local want=() t0
    { command -v dockerd && [ -x /usr/bin/docker ]; } >/dev/null || want+=(docker.io)
    command -v docker-compose >/dev/null || want+=(docker-compose)
    command -v iptables >/dev/null || want+=(iptables)
    command -v debootstrap >/dev/null || want+=(debootstrap)
    command -v curl >/dev/null || want+=(curl)
    command -v openssl >/dev/null || want+=(openssl) # test certificates
    [ ${#want[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "note: missing ${want[*]}; not root, so not installing them"
        return 0
    fi
    echo "installing ${want[*]}"
    t0=$(now_ms)
    if ! apt_install "${want[@]}"; then
        tail -n 5 "$TMP/apt.log"
        command -v dockerd >/dev/null ||
            skip_engine "docker.io cannot be installed: $(tail -n 1 "$TMP/apt.log")"
        return 1
    fi
    TIMES+=("install ${want[*]}: $(secs_since "$t0") s")
}

answers() { "$1" -H "$2" version >/dev/null 2>&1; }

# One run at a time per state folder: the engine, the image and the compose
# project names are shared. (A user who may not write there has no dockerd
# of ours to share either.)
lock_state() {
    mkdir -p "$STATE" "$OCI_CACHE" 2>/dev/null || true
    ( : >>"$STATE/lock") 2>/dev/null || return 0
    exec 9>>"$STATE/lock"
    flock -w 1200 9
}

# Picks the client, then an engine that answers, else starts dockerd; skips
# (exit 77) only when no engine answers and dockerd cannot start.
start_engine() {
    local cli sock s t0 why how="already running"
    cli=/usr/bin/docker
    [ -x "$cli" ] || cli=$(command -v docker) || skip_engine "no docker client (docker.io is not installed and this is not root)"
    for s in "${DOCKER_HOST:-}" unix:///var/run/docker.sock "$OWN_SOCK"; do
        [ -n "$s" ] && answers "$cli" "$s" && { sock=$s; break; }
    done
    if [ -n "${sock:-}" ] && [ "$sock" = "$OWN_SOCK" ]; then
        # a dockerd an earlier run of this test left behind (killed by a
        # timeout): adopt it, so that this run stops it
        DOCKERD_PID=$(cat "$STATE/dockerd.pid" 2>/dev/null || true)
        OWN_ENGINE=1
        how="left by an earlier run, PID ${DOCKERD_PID:-unknown}: this run stops it"
    elif [ -z "${sock:-}" ]; then
        [ "$(id -u)" -eq 0 ] || skip_engine "not root, and no running engine answers"
        command -v dockerd >/dev/null || skip_engine "dockerd is not installed (package docker.io)"
        t0=$(now_ms)
        dockerd --data-root "$STATE/data" --exec-root "$STATE/exec" -H "$OWN_SOCK" \
            --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 9>&- & # not the lock
        DOCKERD_PID=$!
        OWN_ENGINE=1
        for _ in $(seq 1 120); do
            answers "$cli" "$OWN_SOCK" && break
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.5
        done
        if ! answers "$cli" "$OWN_SOCK"; then
            why=$(grep -E 'level=(error|fatal)' "$STATE/dockerd.log" | tail -n 1 | sed 's/.*msg=//' || true)
            if kill -0 "$DOCKERD_PID" 2>/dev/null; then
                why=${why:-no answer within 60 s}
            else
                why=${why:-$(tail -n 1 "$STATE/dockerd.log")}
                why=${why:-exited at once}
            fi
            stop_engine
            skip_engine "$why (log: $STATE/dockerd.log)"
        fi
        sock=$OWN_SOCK
        how="started by this test, PID $DOCKERD_PID"
        TIMES+=("dockerd start: $(secs_since "$t0") s")
    fi
    export DOCKER_HOST=$sock # for docker-compose too
    D=("$cli" -H "$sock")
    # BuildKit: the 20.10 client has it built in; newer ones need buildx.
    if [ "$("$cli" version -f '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)" -lt 23 ] ||
        "$cli" buildx version >/dev/null 2>&1; then BUILDKIT=1; fi
    echo "engine: docker $("${D[@]}" version -f '{{.Server.Version}}') at $sock ($how)"
}

# Stops the dockerd this test started (by PID), then drops the mounts it
# leaves under the state folder (its network namespace's bind mount).
stop_engine() {
    [ -n "$DOCKERD_PID" ] || return 0
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    awk -v d="$STATE/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    DOCKERD_PID=""
}

# The debian:SUITE[-slim] images docker/Dockerfile names in FROM: made with
# make-base.sh once (cached tarball), imported once per engine (a label
# records which tarball). An image already there without that label (the
# official one, on a machine that can pull) is used as it is.
ensure_bases() {
    local dockerfile=$1 img suite tarball stamp have t0
    local -a imgs
    mapfile -t imgs < <(awk 'toupper($1) == "FROM" { print $2 }' "$dockerfile" | sort -u)
    for img in "${imgs[@]}"; do
        if ! [[ $img =~ ^(docker\.io/(library/)?)?debian:([a-z]+)(-slim)?$ ]]; then
            "${D[@]}" image inspect "$img" >/dev/null 2>&1 && continue
            echo "FROM $img: not in the engine, and only debian:SUITE[-slim] can be made here"
            return 1
        fi
        suite=${BASH_REMATCH[3]}
        have=$("${D[@]}" image inspect -f '{{index .Config.Labels "coapgw.base"}}' "$img" 2>/dev/null) ||
            have=absent
        [ "$have" = "" ] && continue # not ours: use it as it is
        tarball=$OCI_CACHE/debian-$suite-slim.tar
        if [ ! -s "$tarball" ]; then
            echo "making the $suite base with debootstrap -> $tarball"
            t0=$(now_ms)
            bash "$HERE/make-base.sh" "$tarball" "$suite" || return 1
            TIMES+=("debootstrap $suite: $(secs_since "$t0") s")
        fi
        stamp=$(stat -c '%s-%Y' "$tarball")
        [ "$have" = "$stamp" ] && continue
        echo "importing $tarball as $img"
        t0=$(now_ms)
        "${D[@]}" import -c "LABEL coapgw.base=$stamp" -c 'CMD ["bash"]' "$tarball" "$img" >/dev/null ||
            return 1
        TIMES+=("import $img: $(secs_since "$t0") s")
    done
}

# At exit: the compose project (the caller's `compose` function) down when
# it is up (COMPOSE_UP=1), the engine's disk use bounded when the engine is
# this test's, then that engine stopped.
engine_teardown() {
    if [ ${#D[@]} -gt 0 ]; then
        if [ "${COMPOSE_UP:-0}" = 1 ]; then
            compose logs --no-color >"$TMP/compose-services.log" 2>&1 || true
            compose down -v --timeout 5 >>"$TMP/compose.log" 2>&1 || true
        fi
        if [ "$OWN_ENGINE" = 1 ]; then # bound the engine's disk use across runs
            # (recent untagged images are the legacy builder's layer cache)
            "${D[@]}" image prune -f --filter until=72h >/dev/null 2>&1 || true
            "${D[@]}" builder prune -f --keep-storage 3GB >/dev/null 2>&1 || true
        fi
    fi
    stop_engine
}

# `docker-compose down`, timed (TIMES), with the services' logs kept in
# $TMP/compose-services.log: true when nothing of PROJECT is left.
compose_down() {
    local t0
    compose logs --no-color >"$TMP/compose-services.log" 2>&1 || true
    t0=$(now_ms)
    compose down -v --timeout 10 >>"$TMP/compose.log" 2>&1 || return 1
    COMPOSE_UP=0
    TIMES+=("docker-compose down: $(secs_since "$t0") s")
    [ -z "$("${D[@]}" ps -aq --filter "label=com.docker.compose.project=$PROJECT")" ]
}
