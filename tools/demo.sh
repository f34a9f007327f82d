#!/usr/bin/env bash
# README's run command: installs what is missing, builds, starts the demo
# device simulator and the gateway, and prints URLs to try. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh build
bash tools/build.sh
./build/coapgw-sim --listen 127.0.0.1:5783 2>/tmp/coapgw-sim.log &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
port=${COAPGW_HTTP_PORT:-8080}
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
