#!/usr/bin/env bash
# The OpenAPI description (docs/openapi.yaml, served at /api/openapi.json)
# cannot drift from the gateway:
# - Redocly lints docs/openapi.yaml (tests/openapi/redocly.yaml:
#   recommended-strict), and what /api/openapi.json serves is that file;
# - a gateway with tokens and a simulated device (coapgw-sim) is asked
#   every described operation (a group's through a "members" group whose
#   member is the coapgw-sim), error cases included (400, 401, 403, 404,
#   405, 413, 415, 421, 431, 501, 503 with Retry-After, 504), and each
#   answer's status, headers, Content-Type and body (JSON, event streams)
#   is checked against the description with ajv (tests/openapi/check.mjs),
#   which also fails when a described operation was never answered;
# - every route named in gateway/ (router.c, auth.c, api.c, target.c, the
#   page's files) is a path of the description, and a path outside it is
#   404.
# Installs what it needs (as root): Node.js through tools/deps.sh,
# @redocly/cli, ajv and ajv-formats with npm ci (tests/openapi/).
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OA=$ROOT/tests/openapi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: node or npm missing (tools/deps.sh test, as root, installs them)"
        exit 77
    fi
    bash "$ROOT/tools/deps.sh" test
fi
# npm ci only when the lock file changed since the last install.
if ! cmp -s "$OA/package-lock.json" "$OA/node_modules/.coapgw-lock"; then
    (cd "$OA" && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 ||
        { cat "$TMP/npm.log"; fail "npm ci in tests/openapi"; finish; exit 1; }
    cp "$OA/package-lock.json" "$OA/node_modules/.coapgw-lock"
fi

lint() {
    (cd "$OA" && timeout 120 node node_modules/@redocly/cli/bin/cli.js lint --config redocly.yaml \
        "$ROOT/docs/openapi.yaml") >"$TMP/lint.log" 2>&1 || { cat "$TMP/lint.log"; return 1; }
}
check "redocly lint (recommended-strict): docs/openapi.yaml is a valid OpenAPI 3.1 description" lint

SIM_PORT=$(free_port)
SILENT_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
RW=rw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
RO=ro-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 300
start silent python3 "$HERE/udp_peer.py" silent "$SILENT_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "silent": "coap://127.0.0.1:$SILENT_PORT" },
  "groups": { "sims": { "members": ["coap://127.0.0.1:$SIM_PORT"], "window_ms": 500 } },
  "proxy": { "timeout_ms": 1000, "max_body_bytes": 70000 },
  "sse": { "max_per_target": 1, "retry_ms": 1500 },
  "tokens": [ { "token": "$RW", "name": "operator", "scope": "read-write" },
              { "token": "$RO", "name": "dashboard" } ] }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post

served_is_the_yaml() {
    [ "$(status "$TMP/spec.json" "$G/api/openapi.json")" = 200 ] || return 1
    python3 - "$ROOT/docs/openapi.yaml" "$TMP/spec.json" <<'PY'
import json, sys, yaml
sys.exit(0 if yaml.safe_load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 1)
PY
}
check "GET /api/openapi.json without a token: 200, docs/openapi.yaml as JSON" served_is_the_yaml

same_version() { # info.version is the gateway's version (gateway/gw.h GW_VERSION)
    local v
    v=$("$BUILD/coapgw" --version | awk '{print $2; exit}')
    python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["info"]["version"] != sys.argv[2])' \
        "$TMP/spec.json" "$v"
}
check "info.version is coapgw --version's" same_version

# ask NAME METHOD PATH [CURL-ARGS...]: one request; its answer becomes a
# line of $TMP/cases.jsonl for check.mjs (PATH may carry a query).
N=0
ask() {
    local name=$1 method=$2 url=$3
    shift 3
    N=$((N + 1))
    local how=(-X "$method")
    [ "$method" = HEAD ] && how=(-I)
    local code
    code=$(curl -g -s -N -o "$TMP/body.$N" -D "$TMP/head.$N" -w '%{http_code}' "${how[@]}" "$@" "$G$url" || true)
    python3 - "$name" "$method" "$url" "$code" "$TMP/head.$N" "$TMP/body.$N" >>"$TMP/cases.jsonl" <<'PY'
import json, sys
name, method, url, code, head, body = sys.argv[1:]
headers = {}
for line in open(head, encoding="latin-1").read().splitlines()[1:]:
    if ": " in line:
        k, v = line.split(": ", 1)
        headers.setdefault(k.lower(), v)
print(json.dumps({"name": name, "method": method, "path": url.split("?")[0], "status": int(code),
                  "headers": headers, "body": body}))
PY
}
RWH=(-H "Authorization: Bearer $RW")
ROH=(-H "Authorization: Bearer $RO")
SIM=coap://127.0.0.1:$SIM_PORT
T=/devices/demo/sensors/temperature
STREAM=(--max-time 2 -H 'Accept: text/event-stream')

# --- public: the page, /help, probes, metrics, the description itself ---
for p in / /index.html /app.js /chart.js /resource.js /style.css /favicon.svg /help /healthz /readyz /metrics; do
    ask "public" GET "$p"
done
ask "page revalidated" GET / -H "If-None-Match: $(curl -s -o /dev/null -w '%header{etag}' "$G/")"
ask "description" HEAD /api/openapi.json
ask "description" OPTIONS /api/openapi.json
ask "description" POST /api/openapi.json
ask "description revalidated" GET /api/openapi.json \
    -H "If-None-Match: $(curl -s -o /dev/null -w '%header{etag}' "$G/api/openapi.json")"

# --- the API ---
ask "no token" GET /api/devices
ask "read token" GET /api/devices "${ROH[@]}"
ask "a token two ways" GET "/api/devices?access_token=$RO" "${ROH[@]}"
ask "read token" HEAD /api/devices "${ROH[@]}"
ask "read token" OPTIONS /api/devices "${ROH[@]}"
ask "read token writes" POST /api/devices "${ROH[@]}"
ask "not allowed" POST /api/devices "${RWH[@]}"
ask "device" GET /api/devices/demo "${ROH[@]}"
ask "discovery off" GET /api/discovery "${ROH[@]}"
ask "discovery off" HEAD /api/discovery "${ROH[@]}"
ask "discovery" OPTIONS /api/discovery "${ROH[@]}"
ask "discovery off" POST /api/discovery "${RWH[@]}"
ask "read token writes" POST /api/discovery "${ROH[@]}"
ask "RD lookup" GET /api/rd-lookup/ep "${ROH[@]}"
ask "RD lookup" GET "/api/rd-lookup/res?rt=x*&count=2" "${ROH[@]}"
ask "RD lookup, bad page" GET "/api/rd-lookup/ep?page=x" "${ROH[@]}"
ask "RD lookup, no such kind" GET /api/rd-lookup/other "${ROH[@]}"
ask "unknown device" GET /api/devices/nope "${ROH[@]}"
ask "silent device" GET /api/devices/silent "${ROH[@]}"
ask "device" HEAD /api/devices/demo "${ROH[@]}"
ask "device" OPTIONS /api/devices/demo "${ROH[@]}"
ask "not allowed" POST /api/devices/demo "${RWH[@]}"
ask "Host not allowed" GET /api/devices "${ROH[@]}" -H 'Host: evil.example'
ask "template" GET /.well-known/core "${ROH[@]}"
ask "no token" GET /.well-known/core

# --- proxied: /devices/NAME/PATH, /hc/URI, /hc?target_uri= ---
ask "observe" GET "$T" "${ROH[@]}" "${STREAM[@]}"
for base in "$T" "/hc/$SIM/sensors/temperature"; do
    ask "value" GET "$base" "${ROH[@]}"
    ask "value" HEAD "$base" "${ROH[@]}"
    ask "methods" OPTIONS "$base" "${ROH[@]}"
    ask "no CoAP method" TRACE "$base" "${RWH[@]}"
    ask "4.05 from the device" DELETE "$base" "${RWH[@]}"
done
for base in /devices/demo/echo "/hc/$SIM/echo"; do
    for m in POST PUT PATCH; do ask "echo" "$m" "$base" "${RWH[@]}" -H 'Content-Type: text/plain' -d hello; done
done
ask "iPATCH" PATCH /devices/demo/echo "${RWH[@]}" -H 'X-CoAP-Method: iPATCH' -H 'Content-Type: text/plain' -d x
ask "LED on" PUT /devices/demo/actuators/led "${RWH[@]}" -H 'Content-Type: text/plain' -d on
ask "read token writes" PUT /devices/demo/actuators/led "${ROH[@]}" -H 'Content-Type: text/plain' -d on
ask "no token" GET "$T"
ask "unknown device" GET /devices/nope/x "${ROH[@]}"
ask "4.04 from the device" GET /devices/demo/nothing "${ROH[@]}"
ask "silent device" GET /devices/silent/x "${ROH[@]}"
ask "unmapped Content-Type" POST /devices/demo/echo "${RWH[@]}" -H 'Content-Type: application/x-nothing' -d x
head -c 80000 /dev/zero >"$TMP/big"
ask "body too large" POST /devices/demo/echo "${RWH[@]}" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$TMP/big"
ask "header too large" GET "$T" "${ROH[@]}" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
ETAG=$(curl -s -o /dev/null -w '%header{etag}' "${ROH[@]}" "$G/devices/demo/firmware")
ask "firmware revalidated" GET /devices/demo/firmware "${ROH[@]}" -H "If-None-Match: $ETAG"
ask "not allowed" GET /hc/coap://192.0.2.1/x "${ROH[@]}"
ask "not a CoAP scheme" GET /hc/http://127.0.0.1/x "${ROH[@]}"
Q="/hc?target_uri=$SIM/echo"
ask "query form" GET "/hc?target_uri=$SIM/sensors/temperature" "${ROH[@]}"
for m in POST PUT; do ask "query form" "$m" "$Q" "${RWH[@]}" -H 'Content-Type: text/plain' -d hello; done
ask "query form" DELETE "/hc?target_uri=$SIM/sensors/temperature" "${RWH[@]}"
ask "query form" OPTIONS "$Q" "${ROH[@]}"
ask "no target_uri" GET /hc "${ROH[@]}"

# --- groups: a members group (unicast) whose member is coapgw-sim ---
GS=/groups/sims
ask "group" GET "$GS/sensors/temperature" "${ROH[@]}"
ask "group, as events" GET "$GS/sensors/temperature" "${ROH[@]}" -H 'Accept: text/event-stream' --max-time 3
ask "group observe" GET "$GS/sensors/temperature?observe" "${ROH[@]}" "${STREAM[@]}"
ask "group write" PUT "$GS/actuators/led" "${RWH[@]}" -H 'Content-Type: text/plain' -d on
ask "group write" POST "$GS/echo" "${RWH[@]}" -H 'Content-Type: text/plain' -d hello
ask "group write" DELETE "$GS/sensors/temperature" "${RWH[@]}"
ask "group write, read token" PUT "$GS/actuators/led" "${ROH[@]}" -H 'Content-Type: text/plain' -d on
ask "group, window out of bounds" GET "$GS/x?window_ms=5" "${ROH[@]}"
ask "unknown group" GET /groups/nope/x "${ROH[@]}"
ask "not a group method" PATCH "$GS/echo" "${RWH[@]}" -H 'Content-Type: text/plain' -d x
ask "no token" GET "$GS/sensors/temperature"

# --- event streams: /events, and a refused one (sse.max_per_target 1) ---
ask "stream" GET "/events?target=$T&target=/devices/demo/sensors/humidity&access_token=$RO" --max-time 2
ask "no target" GET /events "${ROH[@]}"
ask "unknown device" GET "/events?target=/devices/nope/x" "${ROH[@]}"
ask "access_token elsewhere" GET "/api/devices?access_token=$RO"
curl -s -N --max-time 20 "${ROH[@]}" -H 'Accept: text/event-stream' -o "$TMP/ticks" "$G/devices/demo/ticks" &
PIDS+=($!)
wait_for "the first stream of /ticks" grep -q '^event: notification' "$TMP/ticks"
ask "second stream of a target" GET /devices/demo/ticks "${ROH[@]}" "${STREAM[@]}"
ask "second target on /events" GET "/events?target=/devices/demo/ticks" "${ROH[@]}" --max-time 2

answers_match() {
    (cd "$OA" && node check.mjs "$TMP/spec.json" "$TMP/cases.jsonl") >"$TMP/check.log" 2>&1
    local rc=$?
    grep -v '^ok ' "$TMP/check.log"
    return $rc
}
check "every answer ($N) matches the description (ajv), and every described operation was answered" \
    answers_match

some_statuses() { # the cases meant to reach each error did reach it
    local want
    for want in 304 400 401 403 404 405 413 415 421 431 501 503 504; do
        grep -q "\"status\": $want," "$TMP/cases.jsonl" || { echo "no $want answer"; return 1; }
    done
    grep '"status": 503,' "$TMP/cases.jsonl" | grep -qi '"retry-after": "2"'
}
check "the error cases were reached: 304 400 401 403 404 405 413 415 421 431 501 503 (Retry-After 2) 504" \
    some_statuses

# Every route literal in gateway/ is a described path (or a prefix of
# one); the compiled-in page's files too.
routes_described() {
    python3 - "$ROOT" "$TMP/spec.json" <<'PY'
import json, re, sys
root, spec = sys.argv[1], json.load(open(sys.argv[2]))
paths = list(spec["paths"])
src = lambda f: open(f"{root}/gateway/{f}").read()
found = set(re.findall(r'strcmp\(path, "(/[^"]*)"\)', src("router.c") + src("auth.c")))
found |= set(re.findall(r'#define \w+_(?:PREFIX|PATH)\s+"(/[^"]*)"', src("api.c")))
found |= set(re.findall(r'(?:after_prefix\(\w+, |strcmp\(path, )"(/[^"]*)"', src("target.c")))
found |= {"/" + f for f in re.findall(r'\$\{PROJECT_SOURCE_DIR\}/web/([\w.]+)', src("CMakeLists.txt"))}
found.add("/")
missing = [r for r in sorted(found)
           if not any(p == r or p.startswith(r.rstrip("/") + "/") or p == r.rstrip("/") for p in paths)]
print("routes in gateway/:", " ".join(sorted(found)))
if missing:
    print("not in docs/openapi.yaml:", " ".join(missing))
sys.exit(1 if missing or len(found) < 15 else 0)
PY
}
check "every route in gateway/ (router.c, auth.c, api.c, target.c, the page's files) is described" \
    routes_described

not_described_404() {
    [ "$(status "$TMP/nf" "${ROH[@]}" "$G/devicez")" = 404 ] && grep -q 'no such resource' "$TMP/nf" &&
        [ "$(status "$TMP/nf" "${ROH[@]}" "$G/api/other")" = 404 ] && grep -q '"status":404' "$TMP/nf"
}
check "a path outside the description is 404 (text; JSON under /api/)" not_described_404

finish
