# shellcheck shell=bash
# Shared by the benchmark scripts (sourced): a temporary folder, processes
# recorded by PID and stopped on exit, free loopback ports, waiting for HTTP.
TMP=$(mktemp -d)
# Gateways keep their state in memory (state.path ""): several run at once
# here, and none should write to /var/lib/coapgw. run-state.sh sets its own.
export COAPGW_STATE_PATH=""
# The series behind the text output go to $CSV_DIR/NAME.csv (a new folder
# under /tmp unless CSV_DIR is set; kept, and named at the end): comma
# separated, the first line "# column,column,..." names the columns.
# bench/charts.sh turns them into the charts of docs/performance.md.
CSV_DIR=${CSV_DIR:-$(mktemp -d /tmp/coapgw-bench-csv.XXXXXX)}
mkdir -p "$CSV_DIR"
CSV_FILES=()
# csv NAME COLUMN...: starts $CSV_DIR/NAME.csv with its header line
csv() {
    local name=$1
    shift
    local IFS=,
    echo "# $*" >"$CSV_DIR/$name.csv"
    CSV_FILES+=("$CSV_DIR/$name.csv")
}
# csv_row NAME VALUE...: appends one row
csv_row() {
    local name=$1
    shift
    local IFS=,
    echo "$*" >>"$CSV_DIR/$name.csv"
}
# csv_kv NAME LABEL "KEY VALUE KEY VALUE ...": a row of LABEL and the values
# of a program's key-value line; the first row of NAME in this run starts
# the file with "label" and the keys as its header
csv_kv() {
    local name=$1 label=$2 w keys=() vals=() i
    read -r -a w <<<"$3"
    for ((i = 0; i + 1 < ${#w[@]}; i += 2)); do
        keys+=("${w[i]}")
        vals+=("${w[i + 1]}")
    done
    [[ " ${CSV_FILES[*]} " == *" $CSV_DIR/$name.csv "* ]] || csv "$name" label "${keys[@]}"
    csv_row "$name" "$label" "${vals[@]}"
}
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
    [ "${#CSV_FILES[@]}" -eq 0 ] || echo "CSV: ${CSV_FILES[*]}"
}
trap cleanup EXIT
# stop PID: ends one of PIDS (SIGTERM, SIGKILL after 5 s), reaped and taken
# off PIDS (scripts may define their own)
stop() {
    local pid=$1 p rest=() _
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
    PIDS=("${rest[@]}")
}

# port udp|tcp: a free port on 127.0.0.1, chosen by the kernel
port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }

# wait_http URL: up to 10 s for any HTTP answer
wait_http() {
    local _
    for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "no answer from $1" >&2
    return 1
}

# http_servers NSTART: run-http.sh's servers, shared with run-syscalls.sh:
# mhd_hello on $HP (PID_MHD), coap_hello on $CP, and two gateways routing
# /devices/hello to it, cache off on $GP1 (PID_GW1) and on on $GP2
# (PID_GW2); returns once all answer. Every wrk connection comes from
# 127.0.0.1: the limit per address (http.max_connections_per_ip, 128 by
# default) is raised for connection sweeps above it.
http_servers() {
    HP=$(port tcp)
    "$BUILD/mhd_hello" "$HP" &
    PID_MHD=$!
    PIDS+=("$PID_MHD")
    CP=$(port udp)
    "$BUILD/coap_hello" "127.0.0.1:$CP" &
    PIDS+=($!)
    GP1=$(port tcp)
    cat >"$TMP/nocache.json" <<JSON
{"http": {"listen": "127.0.0.1:$GP1"}, "coap": {"listen": "127.0.0.1:0"},
 "devices": {"hello": "coap://127.0.0.1:$CP"}, "cache": {"enabled": false}, "log_level": "warn"}
JSON
    local gwargs=(--coap-nstart "$1" --set http.max_connections_per_ip=1000)
    "$BUILD/coapgw" --config "$TMP/nocache.json" "${gwargs[@]}" &
    PID_GW1=$!
    PIDS+=("$PID_GW1")
    GP2=$(port tcp)
    sed -e "s/$GP1/$GP2/" -e 's/"enabled": false/"enabled": true/' "$TMP/nocache.json" >"$TMP/cache.json"
    "$BUILD/coapgw" --config "$TMP/cache.json" "${gwargs[@]}" &
    PID_GW2=$!
    PIDS+=("$PID_GW2")
    wait_http "http://127.0.0.1:$HP/"
    wait_http "http://127.0.0.1:$GP1/devices/hello/hello"
    wait_http "http://127.0.0.1:$GP2/devices/hello/hello"
}
