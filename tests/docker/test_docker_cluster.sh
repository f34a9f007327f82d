#!/usr/bin/env bash
# docker/compose.cluster.yaml (issue #18, docs/cluster.md "With Docker
# Compose"), checked as a file and then built and run for real: its four
# images are built here from Debian packages (docker/Dockerfile and the
# three stages of docker/cluster/Dockerfile), the composition comes up with
# docker-compose, every service turns healthy, the simulator registers
# through nginx and is listed and served by every gateway, and the failover
# check of tests/cluster (tests/cluster/failover.sh) runs once through
# HAProxy: a gateway killed (SIGKILL) under load.
#
# As test_docker.sh: a local dockerd (engine.sh), debootstrapped bases, no
# registry; skipped (exit 77) only where dockerd cannot start. How the run
# differs from a plain `docker-compose up`: an override file
# ($TMP/override.yaml) publishes each gateway's HTTP on 127.0.0.1 (the test
# reads their /metrics and /api/devices), bind-mounts HAProxy's stats socket
# folder (the test reads HAProxy's view) and sets the gateways' restart
# policy to "no" (a killed gateway stays dead while the test measures).
#   COAPGW_DOCKER_STATE, COAPGW_OCI_CACHE  as test_docker.sh
#   COAPGW_TEST_NET  the compose network's /24 prefix (default 172.30.19)
# shellcheck source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source=engine.sh
. "$HERE/engine.sh"
# shellcheck source=../cluster/failover.sh
. "$HERE/../cluster/failover.sh"
COMPOSE_FILE=$SRC/docker/compose.cluster.yaml
IMAGE=coapgw:test # not :latest, which may be the user's own
CLUSTER_IMAGES=(haproxy:coapgw-haproxy:test nginx-stream:coapgw-nginx-stream:test redis:coapgw-redis:test)
PROJECT=coapgwcluster
NET=${COAPGW_TEST_NET:-172.30.19}
TIMES=()
COMPOSE_UP=0
T_START=$(now_ms)

docker_cleanup() {
    local rc=$?
    engine_teardown # engine.sh: the composition down, the engine stopped
    cleanup         # lib.sh: processes started here, then $TMP
    exit "$rc"
}
trap docker_cleanup EXIT
trap 'exit 130' INT TERM

need curl python3 wrk
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }

# ---- the file itself
structure() {
    python3 - "$COMPOSE_FILE" "$SRC/docs/cluster.md" <<'PY'
import os, re, sys, yaml
path, doc = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
c = yaml.safe_load(text)  # merge keys (<<) resolved
s = c["services"]
bad = []
want = {"redis", "gw1", "gw2", "gw3", "haproxy", "nginx", "sim"}
if set(s) != want:
    bad.append("services %s, not %s" % (sorted(s), sorted(want)))
built = {}
for name, v in s.items():
    if "build" in v:
        b = v["build"]
        # compose: the dockerfile is relative to the context
        f = os.path.join(os.path.dirname(path), b["context"], b.get("dockerfile", "Dockerfile"))
        froms = [l.split()[1] for l in open(f) if l.upper().startswith("FROM ")]
        stages = {l.split()[3] for l in open(f) if l.upper().startswith("FROM ") and len(l.split()) > 3}
        for img in froms:
            if not re.match(r"^debian:[a-z]+(-slim)?$", img) and img not in stages:
                bad.append("%s: FROM %s is not a Debian base" % (name, img))
        if "target" in b and b["target"] not in stages:
            bad.append("%s: target %s is no stage of %s" % (name, b["target"], f))
        built[v["image"]] = name
for name, v in s.items():
    if v.get("image") not in built:
        bad.append("%s: image %s is built by no service (it would be pulled)" % (name, v.get("image")))
    t = v.get("healthcheck", {}).get("test")
    if not t:
        bad.append("%s: no healthcheck" % name)
for g in ("gw1", "gw2", "gw3", "haproxy"):
    if "/readyz" not in " ".join(s[g]["healthcheck"]["test"]):
        bad.append("%s: the healthcheck is not on /readyz" % g)
for g in ("gw1", "gw2", "gw3"):
    env = s[g].get("environment", {})
    if not env.get("COAPGW_CLUSTER_ADVERTISE", "").startswith("http://"):
        bad.append("%s: no cluster.advertise" % g)
    if not s[g].get("env_file"):
        bad.append("%s: no env_file for the cluster token" % g)
if "COAPGW_CLUSTER_TOKEN" in re.sub(r"#.*", "", text):
    bad.append("the cluster token is written into the compose file")
ports = {n: v.get("ports", []) for n, v in s.items() if v.get("ports")}
want_ports = {"haproxy": ["${COAPGW_HTTP_PORT:-8080}:8000"], "nginx": ["${COAPGW_COAP_PORT:-5683}:5683/udp"]}
if ports != want_ports:
    bad.append("published ports %s, not %s" % (ports, want_ports))
for p in ("`COAPGW_HTTP_PORT` (default 8080)", "`COAPGW_COAP_PORT` (default 5683, UDP)"):
    if p not in doc:
        bad.append("docs/cluster.md does not say %s" % p)
print("\n".join("  " + b for b in bad) or "  services: %s; images built here: %s" % (" ".join(sorted(s)), " ".join(sorted(built))))
sys.exit(1 if bad else 0)
PY
}
check "compose.cluster.yaml: the seven services, every image built here FROM Debian, healthchecks (/readyz), token not in the file, ports as docs/cluster.md says" structure

install_tools || { echo "FAIL - installing the tools the test needs"; exit 1; }
lock_state || { echo "FAIL - another run holds $STATE/lock"; exit 1; }
start_engine
need docker-compose

check "base images debian:bookworm and debian:bookworm-slim are in the engine" \
    eval 'ensure_bases "$SRC/docker/Dockerfile" && ensure_bases "$SRC/docker/cluster/Dockerfile"'

build() { # build DOCKERFILE CONTEXT TAG [TARGET]
    local t0 args=()
    t0=$(now_ms)
    [ "$BUILDKIT" = 1 ] && args+=(--progress=plain)
    [ -n "${4:-}" ] && args+=(--target "$4")
    DOCKER_BUILDKIT=$BUILDKIT "${D[@]}" build "${args[@]}" -f "$1" -t "$3" "$2" >>"$TMP/build.log" 2>&1 || {
        tail -n 30 "$TMP/build.log"
        return 1
    }
    TIMES+=("docker build $3: $(secs_since "$t0") s")
}
build_all() {
    local spec
    build "$SRC/docker/Dockerfile" "$SRC" "$IMAGE" || return 1
    for spec in "${CLUSTER_IMAGES[@]}"; do
        build "$SRC/docker/cluster/Dockerfile" "$SRC/docker/cluster" "${spec#*:}" "${spec%%:*}" || return 1
    done
}
F0=$FAILED
check "the four images build (docker/Dockerfile; docker/cluster/Dockerfile: haproxy, nginx-stream, redis)" build_all
[ "$FAILED" = "$F0" ] || finish

# ---- the composition, as docs/cluster.md runs it, plus the test's override
LB_PORT=$(free_port tcp)
COAP_PORT=$(free_port)
GW_PORT=(x "$(free_port tcp)" "$(free_port tcp)" "$(free_port tcp)")
mkdir -p "$TMP/haproxy-run"
chmod 777 "$TMP/haproxy-run" # HAProxy's user in its container makes the socket
TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf 'COAPGW_CLUSTER_TOKEN=%s\n' "$TOKEN" >"$TMP/cluster.env"
chmod 600 "$TMP/cluster.env"
{
    echo 'version: "3.7"'
    echo 'services:'
    echo '  haproxy:'
    echo "    volumes: [\"$TMP/haproxy-run:/run/haproxy\"]"
    for n in 1 2 3; do
        echo "  gw$n:"
        echo "    ports: [\"127.0.0.1:${GW_PORT[$n]}:8080\"]"
        echo '    restart: "no"'
    done
} >"$TMP/override.yaml"
compose() {
    env COAPGW_IMAGE="$IMAGE" COAPGW_HAPROXY_IMAGE=coapgw-haproxy:test \
        COAPGW_NGINX_IMAGE=coapgw-nginx-stream:test COAPGW_REDIS_IMAGE=coapgw-redis:test \
        COAPGW_HTTP_PORT="$LB_PORT" COAPGW_COAP_PORT="$COAP_PORT" COAPGW_NET="$NET" \
        COAPGW_CLUSTER_ENV="$TMP/cluster.env" \
        docker-compose --ansi never -f "$COMPOSE_FILE" -f "$TMP/override.yaml" -p "$PROJECT" "$@"
}
check "docker-compose config accepts the file (with the test's override)" eval 'compose config -q 2>&1'
compose down -v --timeout 5 >"$TMP/compose.log" 2>&1 || true # an earlier run's leftovers
compose_up() {
    local t0
    t0=$(now_ms)
    COMPOSE_UP=1
    compose up -d --no-build >>"$TMP/compose.log" 2>&1 || { tail -n 20 "$TMP/compose.log"; return 1; }
    TIMES+=("docker-compose up: $(secs_since "$t0") s")
}
check "docker-compose -f docker/compose.cluster.yaml up -d (the images built above)" compose_up
[ "$FAILED" = "$F0" ] || finish

declare -A CID
for svc in redis gw1 gw2 gw3 haproxy nginx sim; do CID[$svc]=$(compose ps -q "$svc"); done
all_healthy() {
    local svc st _ t0
    t0=$(now_ms)
    for svc in redis gw1 gw2 gw3 haproxy nginx sim; do
        for _ in $(seq 1 120); do # the checks run every 5-10 s
            st=$("${D[@]}" inspect -f '{{.State.Health.Status}}' "${CID[$svc]}")
            [ "$st" = healthy ] && continue 2
            sleep 0.5
        done
        echo "  $svc: $("${D[@]}" inspect -f '{{json .State.Health}}' "${CID[$svc]}")"
        return 1
    done
    TIMES+=("every service healthy: $(secs_since "$t0") s after up")
}
check "every service turns healthy (gateways and HAProxy: /readyz; nginx: a CoAP ping; Redis: PING; the sim: a GET)" all_healthy

HAPROXY_SOCK=$TMP/haproxy-run/admin.sock
LB=http://127.0.0.1:$LB_PORT
fo_url() { echo "http://127.0.0.1:${GW_PORT[$1]}"; }
check "HAProxy: the three gateways UP (its stats socket)" \
    wait_for "HAProxy: all three up" eval '[ "$(hastate gw1)$(hastate gw2)$(hastate gw3)" = UPUPUP ]'

registered() {
    local n
    within 30 eval '[ "$(names "$LB")" = sim ]' || { echo "  listed: $(names "$LB")"; return 1; }
    for n in 1 2 3; do
        within 3 eval '[ "$(names "$(fo_url $n)")" = sim ]' || { echo "  gw$n lists: $(names "$(fo_url "$n")")"; return 1; }
        curl -sf "$(fo_url "$n")/devices/sim/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$' || return 1
    done
    # its registration came through nginx, with its own address as base
    curl -s "$LB/api/devices/sim" | grep -q "\"uri\":\"coap://$NET.20:5783\""
}
check "the sim registers through nginx (with --base): listed and served by every gateway and through HAProxy" registered

token_kept() {
    # the token reaches the gateways from the env file, and no log shows it
    "${D[@]}" inspect -f '{{json .Config.Env}}' "${CID[gw1]}" | grep -q "COAPGW_CLUSTER_TOKEN=$TOKEN" || return 1
    ! compose logs --no-color 2>&1 | grep -q "$TOKEN"
}
check "cluster.token comes from the env file, and no service logs it" token_kept

FO_LB_HOST=127.0.0.1 FO_LB_PORT=$LB_PORT FO_TARGET=/devices/sim/sensors/temperature FO_SSE=200
FO_PATHS=(/devices/sim/sensors/temperature /devices/sim/sensors/humidity /devices/sim/ticks
    /devices/sim/cbor /devices/sim/senml /devices/sim/actuators/led)
FO_GATEWAYS=(1 2 3)
FO_NAMES=sim
# SIGKILL to the gateway (PID 1 in its container), by its host PID: at
# once, without the docker client's own delay in the figure
fo_kill() { kill -KILL "$("${D[@]}" inspect -f '{{.State.Pid}}' "${CID[gw$1]}")"; }
fo_haproxy_log() { "${D[@]}" logs "${CID[haproxy]}" 2>/dev/null; }
KILLED=""
check "failover: a gateway killed under load: out of HAProxy within 2 s, no failed request but those in flight on it, every subscriber back within 3 s, the registration listed" \
    failover_check

back_again() {
    # the killed gateway started again (as `restart: unless-stopped` does
    # after a crash; the test's override turned that off), at its fixed
    # address: HAProxy takes it back, and a device registers through nginx
    # (CoAP/UDP; the source nginx hashed to the dead gateway got no answer
    # meanwhile: docs/cluster.md, Limits) and is listed by all three
    local try n t0
    t0=$(now_ms)
    "${D[@]}" start "${CID[gw$KILLED]}" >/dev/null || return 1
    within 15 eval '[ "$(hastate gw$KILLED)" = UP ]' || { echo "  gw$KILLED: $(hastate "gw$KILLED")"; return 1; }
    echo "  gw$KILLED UP in HAProxy again $(secs_since "$t0") s after docker start"
    for try in 1 2 3; do
        "$BUILD/coapgw-client" -T 3 -m post \
            "coap://127.0.0.1:$COAP_PORT/rd?ep=late&lt=600&base=coap://$NET.20:5783" >"$TMP/late.out" 2>&1 && break
    done
    echo "  registered through nginx at try $try: $(head -c 60 "$TMP/late.out")"
    for n in "${FO_GATEWAYS[@]}"; do
        within 3 eval '[ "$(names "$(fo_url $n)")" = "late sim" ]' || { echo "  gw$n lists $(names "$(fo_url "$n")")"; return 1; }
    done
    curl -sf "$LB/devices/late/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$'
}
check "the killed gateway started again: UP in HAProxy, a device registers through nginx (CoAP/UDP) and is listed by all three" back_again

stops_gracefully() {
    # `docker-compose stop` (SIGTERM, then SIGKILL after 10 s): every
    # service handles SIGTERM as PID 1 and exits 0 (HAProxy: -W)
    local t0 svc code bad=0
    t0=$(now_ms)
    compose stop -t 10 >>"$TMP/compose.log" 2>&1 || return 1
    TIMES+=("docker-compose stop: $(secs_since "$t0") s")
    for svc in redis gw1 gw2 gw3 haproxy nginx sim; do
        code=$("${D[@]}" inspect -f '{{.State.ExitCode}}' "${CID[$svc]}")
        [ "$code" = 0 ] || { echo "  $svc: exit code $code"; bad=1; }
    done
    return $bad
}
check "docker-compose stop: every service ends on SIGTERM with exit code 0" stops_gracefully
check "docker-compose down removes the composition" compose_down

TIMES+=("whole test: $(secs_since "$T_START") s")
printf '  %s\n' "${TIMES[@]}"
finish
