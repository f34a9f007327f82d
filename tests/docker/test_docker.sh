#!/usr/bin/env bash
# docker/Dockerfile and docker/compose.yaml, built and run for real: the
# image is built unchanged from the top of the checkout; a container on the
# host's network serves a device (a coapgw-sim on the host) through the
# gateway, runs as non-root and stops on SIGTERM within 2 s, serves HTTPS
# with a mounted certificate and takes a new one on SIGHUP; the compose demo
# comes up and its simulated device registers with the gateway.
#
# No container registry is needed (engine.sh: local dockerd, debootstrapped
# base images). Skipped (exit 77) only where dockerd cannot start.
#   COAPGW_DOCKER_STATE  engine state, default /var/tmp/coapgw-docker
#   COAPGW_OCI_CACHE     base image tarballs, default /var/cache/coapgw-oci
# shellcheck source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source=engine.sh
. "$HERE/engine.sh"
IMAGE=coapgw:test # not :latest, which may be the user's own
CTR=coapgw-test-$$
PROJECT=coapgwtest
TIMES=()
COMPOSE_UP=0
C_HTTP="" C_COAP=""
T_START=$(now_ms)

docker_cleanup() {
    local rc=$?
    if [ ${#D[@]} -gt 0 ]; then
        "${D[@]}" rm -f -v "$CTR" "$CTR-flags" "$CTR-env" "$CTR-tls" >/dev/null 2>&1 || true
    fi
    engine_teardown # engine.sh: the compose demo down, the engine stopped
    cleanup # lib.sh: processes started here, then $TMP
    exit "$rc"
}
trap docker_cleanup EXIT
trap 'exit 130' INT TERM

install_tools || { echo "FAIL - installing the tools the test needs"; exit 1; }
need curl python3 openssl
lock_state || { echo "FAIL - another run holds $STATE/lock"; exit 1; }
start_engine
need docker-compose

check "base images debian:bookworm and debian:bookworm-slim are in the engine" \
    ensure_bases "$SRC/docker/Dockerfile"

build_image() {
    local t0 progress=()
    t0=$(now_ms)
    [ "$BUILDKIT" = 1 ] && progress=(--progress=plain)
    DOCKER_BUILDKIT=$BUILDKIT "${D[@]}" build "${progress[@]}" -f "$SRC/docker/Dockerfile" \
        -t "$IMAGE" "$SRC" >"$TMP/build.log" 2>&1 || return 1
    TIMES+=("docker build ($([ "$BUILDKIT" = 1 ] && echo BuildKit || echo legacy)): $(secs_since "$t0") s")
}
# (a failing unit test fails the build stage's RUN, so the build)
check "docker/Dockerfile builds unchanged (unit tests pass in the build stage)" build_image
if [ "$FAILED" -gt 0 ]; then
    tail -n 40 "$TMP/build.log"
    finish
fi

image_size() {
    local size
    size=$("${D[@]}" image inspect -f '{{.Size}}' "$IMAGE")
    echo "image size: $((size / 1000000)) MB"
    [ "$size" -lt 100000000 ]
}
check "runtime image is under 100 MB" image_size

image_config() {
    local cfg
    cfg=$("${D[@]}" image inspect -f \
        '{{.Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Healthcheck.Test}}|{{json .Config.Entrypoint}}' "$IMAGE")
    echo "image config: $cfg"
    case ${cfg%%|*} in "" | 0 | 0:* | root | root:*) return 1 ;; esac
    [[ $cfg == *'"5683/udp"'* && $cfg == *'"8080/tcp"'* ]] || return 1
    [[ $cfg == *'"coapgw","--healthcheck","http://127.0.0.1:8080/healthz"'* ]]
}
check "image: non-root USER, EXPOSE 8080/tcp 5683/udp, HEALTHCHECK coapgw --healthcheck" image_config

# ---- the image's default command, on the host's network, with a mounted
# configuration file naming free ports and a device on the host
HTTP_PORT=$(free_port tcp)
COAP_PORT=$(free_port)
SIM_PORT=$(free_port)
G=http://127.0.0.1:$HTTP_PORT
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
cat >"$TMP/coapgw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:$COAP_PORT" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
chmod 644 "$TMP/coapgw.json" # the container's user reads it
run_container() {
    "${D[@]}" run -d --name "$CTR" --network host \
        -v "$TMP/coapgw.json:/etc/coapgw/coapgw.json:ro" \
        --health-cmd "coapgw --healthcheck $G/healthz" --health-interval 1s \
        "$IMAGE" >/dev/null || return 1
    wait_for "the gateway in the container" curl -sf "$G/healthz"
}
check "container starts with the default command and /etc/coapgw/coapgw.json" run_container

healthz() { [ "$(curl -s "$G/healthz")" = '{"status":"ok"}' ]; }
check "GET /healthz answers {\"status\":\"ok\"}" healthz

device_read() {
    curl -sf "$G/devices/demo/sensors/temperature" >"$TMP/temp" || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/temp"
}
check "GET /devices/demo/sensors/temperature reaches coapgw-sim on the host" device_read

non_root() {
    local pid uid
    [ "$("${D[@]}" exec "$CTR" id -u)" != 0 ] || return 1
    [ "$("${D[@]}" exec "$CTR" cat /proc/1/comm)" = coapgw ] || return 1 # exec'd: PID 1
    pid=$("${D[@]}" inspect -f '{{.State.Pid}}' "$CTR")
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status") # as the host sees it
    echo "gateway: PID 1 in the container, host PID $pid, uid $uid"
    [ "$uid" != 0 ]
}
check "the gateway is PID 1 and runs as a non-root user" non_root

healthy() { [ "$("${D[@]}" inspect -f '{{.State.Health.Status}}' "$CTR")" = healthy ]; }
check "the health check (coapgw --healthcheck) reports healthy" wait_for "healthy" healthy

survives_restart() {
    # the image's volume (/var/lib/coapgw) holds the state file: a
    # registration made before `docker restart` is there after it
    "$BUILD/coapgw-client" -T 3 -m post \
        "coap://127.0.0.1:$COAP_PORT/rd?ep=persist&lt=600&base=coap://127.0.0.1:$SIM_PORT" >/dev/null ||
        return 1
    curl -s "$G/api/devices" | grep -q '"name": *"persist"' || return 1
    [ "$("${D[@]}" exec "$CTR" stat -c '%a %u' /var/lib/coapgw /var/lib/coapgw/state.db | xargs)" = \
        "700 10001 600 10001" ] || return 1
    "${D[@]}" restart -t 10 "$CTR" >/dev/null || return 1
    wait_for "the gateway after docker restart" curl -sf "$G/healthz" || return 1
    curl -s "$G/api/devices" | grep -q '"name": *"persist"' || return 1
    curl -sf "$G/devices/persist/sensors/temperature" >/dev/null
}
check "a registration survives docker restart (state in the /var/lib/coapgw volume, 0700/0600, uid 10001)" \
    survives_restart

stop_in_time() {
    local t0 ms code
    t0=$(now_ms)
    "${D[@]}" stop -t 10 "$CTR" >/dev/null || return 1
    ms=$(($(now_ms) - t0))
    code=$("${D[@]}" inspect -f '{{.State.ExitCode}}' "$CTR")
    echo "docker stop: ${ms} ms, exit code $code"
    TIMES+=("docker stop: $ms ms")
    [ "$ms" -lt 2000 ] && [ "$code" = 0 ]
}
check "docker stop (SIGTERM) ends the gateway gracefully within 2 s" stop_in_time
"${D[@]}" logs "$CTR" >"$TMP/container.log" 2>&1 || true
"${D[@]}" rm -f -v "$CTR" >/dev/null 2>&1 || true

# ---- flags as the command: the gateway with the file, flags winning
HTTP3=$(free_port tcp)
flags_run() {
    "${D[@]}" run -d --name "$CTR-flags" --network host \
        -v "$TMP/coapgw.json:/etc/coapgw/coapgw.json:ro" \
        "$IMAGE" --http-listen "127.0.0.1:$HTTP3" --coap-listen 127.0.0.1:0 >/dev/null || return 1
    wait_for "the gateway in the container" curl -sf "http://127.0.0.1:$HTTP3/healthz" || return 1
    curl -sf "http://127.0.0.1:$HTTP3/devices/demo/sensors/temperature" >"$TMP/temp3" || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/temp3"
}
check "flags as the command: coapgw with the file, the flags winning" flags_run
"${D[@]}" logs "$CTR-flags" >"$TMP/container-flags.log" 2>&1 || true
"${D[@]}" rm -f -v "$CTR-flags" >/dev/null 2>&1 || true

# ---- no file: the embedded defaults, with COAPGW_* variables moving the
# ports and naming the device
HTTP2=$(free_port tcp)
G2=http://127.0.0.1:$HTTP2
env_run() {
    "${D[@]}" run -d --name "$CTR-env" --network host \
        -e COAPGW_HTTP_LISTEN="127.0.0.1:$HTTP2" -e COAPGW_COAP_LISTEN="127.0.0.1:$(free_port)" \
        -e COAPGW_DEVICES="demo=coap://127.0.0.1:$SIM_PORT" "$IMAGE" >/dev/null || return 1
    wait_for "the gateway in the container" curl -sf "$G2/healthz" || return 1
    curl -sf "$G2/devices/demo/sensors/temperature" >"$TMP/temp2" || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/temp2"
}
check "without a file, COAPGW_* variables set the ports and the device" env_run
"${D[@]}" logs "$CTR-env" >"$TMP/container-env.log" 2>&1 || true
"${D[@]}" rm -f -v "$CTR-env" >/dev/null 2>&1 || true

# ---- HTTPS: the certificate and key mounted as a folder (the key the
# container's user's alone), plain HTTP kept on loopback for the health
# check, a new certificate taken on SIGHUP
HTTP4=$(free_port tcp)
HTTPS4=$(free_port tcp)
mkdir -p "$TMP/tls"
tls_cert "$TMP/tls" ca "coapgw test CA" 100 ca
tls_cert "$TMP/tls" cert 127.0.0.1 1001 server ca
tls_cert "$TMP/tls" new 127.0.0.1 2002 server ca
chown 10001:10001 "$TMP/tls/cert.key" "$TMP/tls/new.key" # mode 0600
serial() {
    openssl s_client -connect "127.0.0.1:$HTTPS4" -CAfile "$TMP/tls/ca.crt" </dev/null 2>/dev/null |
        openssl x509 -noout -serial | cut -d= -f2
}
https_run() {
    "${D[@]}" run -d --name "$CTR-tls" --network host -v "$TMP/tls:/etc/coapgw/tls:ro" \
        -e COAPGW_HTTP_LISTEN="127.0.0.1:$HTTP4" -e COAPGW_HTTP_LISTEN_TLS="127.0.0.1:$HTTPS4" \
        -e COAPGW_HTTP_TLS_CERT=/etc/coapgw/tls/cert.crt -e COAPGW_HTTP_TLS_KEY=/etc/coapgw/tls/cert.key \
        -e COAPGW_COAP_LISTEN="127.0.0.1:$(free_port)" -e COAPGW_DEVICES="demo=coap://127.0.0.1:$SIM_PORT" \
        --health-cmd "coapgw --healthcheck http://127.0.0.1:$HTTP4/healthz" --health-interval 1s \
        "$IMAGE" >/dev/null || return 1
    local tls=(--cacert "$TMP/tls/ca.crt")
    wait_for "the gateway in the container" curl -sf "${tls[@]}" "https://127.0.0.1:$HTTPS4/healthz" || return 1
    curl -sf "${tls[@]}" "https://127.0.0.1:$HTTPS4/devices/demo/sensors/temperature" >"$TMP/temp4" || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/temp4" && [ "$(serial)" = 1001 ] || return 1
    wait_for "healthy" eval '[ "$("${D[@]}" inspect -f "{{.State.Health.Status}}" "$CTR-tls")" = healthy ]' || return 1
    cp -p "$TMP/tls/new.crt" "$TMP/tls/cert.crt"
    cp -p "$TMP/tls/new.key" "$TMP/tls/cert.key"
    "${D[@]}" kill -s HUP "$CTR-tls" >/dev/null || return 1
    wait_for "the new certificate" eval '[ "$(serial)" = 2002 ]'
}
check "HTTPS in the container: a mounted certificate and key (uid 10001, 0600), health check on loopback HTTP, SIGHUP takes a new certificate" https_run
"${D[@]}" logs "$CTR-tls" >"$TMP/container-tls.log" 2>&1 || true
"${D[@]}" rm -f -v "$CTR-tls" >/dev/null 2>&1 || true

# A missing host file mounted with -v arrives as a directory: a clear error,
# not a gateway silently on its defaults.
not_a_file() {
    mkdir -p "$TMP/conf-dir"
    local rc=0
    "${D[@]}" run --rm --network host -v "$TMP/conf-dir:/etc/coapgw/coapgw.json:ro" "$IMAGE" \
        >"$TMP/not-a-file.log" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "is not a file" "$TMP/not-a-file.log"
}
check "a mounted config path that is not a file stops the container with a message (exit 2)" not_a_file
stop sim

# ---- the compose demo, as README runs it, on free host ports
compose() {
    env COAPGW_IMAGE="$IMAGE" COAPGW_HTTP_PORT="$C_HTTP" COAPGW_COAP_PORT="$C_COAP" \
        docker-compose --ansi never -f "$SRC/docker/compose.yaml" -p "$PROJECT" "$@"
}
C_HTTP=$(free_port tcp)
C_COAP=$(free_port)
CG=http://127.0.0.1:$C_HTTP
compose down -v --timeout 5 >"$TMP/compose.log" 2>&1 || true # an earlier run's leftovers
compose_up() {
    local t0
    t0=$(now_ms)
    COMPOSE_UP=1
    compose up -d --build >>"$TMP/compose.log" 2>&1 || return 1
    TIMES+=("docker-compose up --build: $(secs_since "$t0") s")
}
check "docker-compose -f docker/compose.yaml up -d --build" compose_up

sim_listed() {
    curl -sf "$CG/api/devices" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("devices", d) if isinstance(d, dict) else d
sys.exit(0 if any(x.get("name") == "sim" for x in d) else 1)' 2>/dev/null
}
registered() {
    local _
    for _ in $(seq 1 60); do # the gateway starts, then the sim registers
        sim_listed && return 0
        sleep 0.5
    done
    curl -s "$CG/api/devices"
    return 1
}
check "the sim registers: /api/devices lists \"sim\"" registered

compose_read() {
    curl -sf "$CG/devices/sim/sensors/temperature" >"$TMP/ctemp" || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/ctemp"
}
check "GET /devices/sim/sensors/temperature reaches the sim container" compose_read

compose_healthy() {
    local svc id _
    for svc in gateway sim; do
        id=$(compose ps -q "$svc")
        for _ in $(seq 1 60); do # both health checks run every 10 s
            [ "$("${D[@]}" inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] && continue 2
            sleep 0.5
        done
        echo "$svc: $("${D[@]}" inspect -f '{{json .State.Health}}' "$id")"
        return 1
    done
}
check "both services turn healthy (the image's HEALTHCHECK; the sim's own)" compose_healthy

check "docker-compose down removes the demo" compose_down

TIMES+=("whole test: $(secs_since "$T_START") s")
printf '  %s\n' "${TIMES[@]}"
finish
