#!/usr/bin/env bash
# README's run command: installs what is missing, builds, starts the demo
# device simulator and the gateway, and prints URLs to try. Ctrl-C stops both.
#
#   bash tools/demo.sh [--secure] [coapgw options...]
#
# --secure: the device speaks DTLS only to the gateway. A fresh PSK is made
# in a temporary directory (removed at exit); the gateway opens its DTLS
# listener on 127.0.0.1:5684 with one identity, "demo", which may register
# the name "demo"; coapgw-sim registers over DTLS with that key and is
# reached back through its own session (docs/rd.md).
set -euo pipefail
cd "$(dirname "$0")/.."
secure=
if [ "${1:-}" = --secure ]; then
    secure=1
    shift
fi
bash tools/deps.sh build
bash tools/build.sh
port=${COAPGW_HTTP_PORT:-8080}
# Registrations persist in state.path: as root the default,
# /var/lib/coapgw/state.db; as anyone else a file in their own state folder
# (the default's folder is root's). COAPGW_STATE_PATH, when set, wins.
if [ "$(id -u)" -ne 0 ] && [ -z "${COAPGW_STATE_PATH+set}" ]; then
    export COAPGW_STATE_PATH=${XDG_STATE_HOME:-$HOME/.local/state}/coapgw/state.db
fi
if [ -z "$secure" ]; then
    ./build/coapgw-sim --listen 127.0.0.1:5783 2>/tmp/coapgw-sim.log &
    sim=$!
    trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
    cat <<TXT
coapgw demo: the simulated device "demo" listens on coap://127.0.0.1:5783 (log: /tmp/coapgw-sim.log)
Open http://localhost:$port/ in a browser: the device page (live values too).
Try, from another terminal:
  curl http://localhost:$port/devices/demo/sensors/temperature
  curl http://localhost:$port/devices/demo/sensors/humidity
  curl -X PUT -H 'Content-Type: text/plain' -d on http://localhost:$port/devices/demo/actuators/led
  curl -o firmware.bin http://localhost:$port/devices/demo/firmware
  curl http://localhost:$port/devices/demo/.well-known/core
  curl http://localhost:$port/hc/coap://127.0.0.1:5783/sensors/temperature
TXT
    ./build/coapgw --http-listen "0.0.0.0:$port" "$@"
    exit
fi
dir=$(mktemp -d /tmp/coapgw-demo.XXXXXX)
key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') # 32 hex digits: the key's bytes as typed
(umask 077 && printf '%s' "$key" >"$dir/demo.psk")
# The key goes to the simulator on its command line (-k, as libcoap's
# tools take it): fine for a demo on one's own machine, not for real use.
./build/coapgw-sim --listen 127.0.0.1:5783 --listen-dtls 127.0.0.1:5785 -u demo -k "$key" \
    --register coaps://127.0.0.1:5684 --name demo 2>/tmp/coapgw-sim.log &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true; rm -rf "$dir"' EXIT
cat <<TXT
coapgw secured demo: the simulated device registers over DTLS (PSK identity "demo", key in
$dir/demo.psk) with the gateway's DTLS listener coaps://127.0.0.1:5684, and is reached
through that session (log: /tmp/coapgw-sim.log).
Open http://localhost:$port/ in a browser: the device page (live values too).
Try, from another terminal:
  curl http://localhost:$port/api/devices/demo       # "uri": "coaps://127.0.0.1:5785", "auth": "psk:demo"
  curl http://localhost:$port/devices/demo/sensors/temperature
  curl -N -H 'Accept: text/event-stream' http://localhost:$port/devices/demo/sensors/temperature
  coap-client-gnutls -u demo -k $key 'coaps://127.0.0.1:5684/.well-known/core'
TXT
./build/coapgw --http-listen "0.0.0.0:$port" --coaps-listen 127.0.0.1:5684 --set devices= \
    --set "dtls.identities=[{\"psk\": \"demo\", \"key_file\": \"$dir/demo.psk\", \"names\": [\"demo\"]}]" \
    "$@"
