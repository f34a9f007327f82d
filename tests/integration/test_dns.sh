#!/usr/bin/env bash
# Host names resolved without blocking (issue #16): devices and targets by
# name through a small DNS server of our own (dns_server.py, dns.servers),
# answered from the cache until the record's TTL and asked again after;
# a name that does not resolve: 502; one query however many requests
# wait; the allowlist on the resolved address every time (rebinding); the
# loop never waits for DNS. In a network namespace with only loopback:
# the second simulator listens on 127.0.0.2, and the names resolve to
# addresses no one else has.
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
ip link set lo up
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
C=$BUILD/coapgw-client

# Two simulators on one port, at two addresses: a name that moves from
# one to the other is followed.
SIM=$(free_port)
start simA "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM" --period-ms 200
start simB "$BUILD/coapgw-sim" --listen "127.0.0.2:$SIM" --period-ms 200
T=$TMP/table
cat >"$T" <<EOF
sensor.lab.test A 127.0.0.1 60
other.lab.test A 127.0.0.1 60
fresh.lab.test A 127.0.0.1 60
once.lab.test A 127.0.0.1 60
ev.lab.test A 127.0.0.1 60
fwd.lab.test A 127.0.0.1 60
grp1.lab.test A 127.0.0.1 60
grp2.lab.test A 127.0.0.2 60
brief.lab.test A 127.0.0.1 3
moving.lab.test A 127.0.0.1 1
low.lab.test A 127.0.0.1 60
self.lab.test A 127.0.0.1 60
meta.lab.test A 169.254.169.254 60
hang.lab.test HANG
gone.lab.test HANG
EOF
start dns python3 "$HERE/dns_server.py" --table "$T" --log "$TMP/queries"
wait_for "dns_server.py" grep -q '^[0-9]' "$TMP/dns.log"
DNS=127.0.0.1:$(head -1 "$TMP/dns.log")
queries() { grep -c "^$1 A\$" "$TMP/queries" || true; }
executed_on() { grep -c "counter: executed" "$TMP/$1.log" || true; }

HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
start gw "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP_PORT" --coap-listen "127.0.0.1:$GW_COAP" \
    --set "dns.servers=$DNS" --set proxy.timeout_ms=3000 --allow-target '*.lab.test' \
    --device "dev=coap://sensor.lab.test:$SIM" --device "lowdev=coap://low.lab.test:99" \
    --device "nodev=coap://nodev.lab.test:$SIM" \
    --set "groups={\"g\": {\"members\": [\"coap://grp1.lab.test:$SIM\", \"coap://grp2.lab.test:$SIM\"]}}"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
http() { curl -g -s -o "$TMP/body" -w '%{http_code}' "$@"; }
lookups() { curl -s "$G/metrics" | awk '$1 == "coapgw_dns_lookups_total" {print $2}'; }

# --- names resolve: a configured device and a /hc/ target ---
by_name() {
    [ "$(http "$G/devices/dev/sensors/temperature")" = 200 ] || return 1
    [ "$(http "$G/hc/coap://other.lab.test:$SIM/sensors/temperature")" = 200 ] || return 1
    # the device's name was asked once, at start, and not again
    [ "$(queries sensor.lab.test)" = 1 ]
}
check "a device and a /hc/ target by host name answer (coapgw-sim behind the names)" by_name

api_by_name() {
    [ "$(http "$G/api/devices/dev")" = 200 ] && grep -q '"/sensors/temperature"' "$TMP/body" || return 1
    # a device whose name does not resolve (its query started at start)
    [ "$(http "$G/api/devices/nodev")" = 502 ] && grep -q "cannot resolve nodev.lab.test" "$TMP/body" ||
        return 1
    [ "$(http "$G/devices/nodev/x")" = 502 ] && grep -q "cannot resolve nodev.lab.test" "$TMP/body"
}
check "the API's discovery of a device by host name; a device whose name does not resolve: 502" api_by_name

group_by_name() {
    # both members' names are looked up first, then each gets the request once
    [ "$(http "$G/groups/g/counter")" = 200 ] || return 1
    grep -q '127.0.0.1' "$TMP/body" && grep -q '127.0.0.2' "$TMP/body" || { cat "$TMP/body"; return 1; }
    [ "$(grep -c "GET /counter" "$TMP/simA.log")" = 1 ] && [ "$(grep -c "GET /counter" "$TMP/simB.log")" = 1 ] ||
        return 1
    [ "$(queries grp1.lab.test)" = 1 ] && [ "$(queries grp2.lab.test)" = 1 ]
}
check "a group of members by host name: resolved first, then each member asked once" group_by_name

unknown() {
    [ "$(http "$G/hc/coap://nope.lab.test:$SIM/x")" = 502 ] || return 1
    grep -q "cannot resolve nope.lab.test" "$TMP/body" || return 1
    # the negative answer is cached: a second request sends no query
    [ "$(http "$G/hc/coap://nope.lab.test:$SIM/x")" = 502 ] || return 1
    [ "$(queries nope.lab.test)" = 1 ]
}
check "an unknown name: 502 \"cannot resolve HOST\", cached (one query for two requests)" unknown

# --- one query for many waiting requests ---
concurrent() {
    local i codes pids=() before
    before=$(lookups)
    for i in $(seq 1 20); do
        curl -s -o /dev/null -w '%{http_code}\n' "$G/hc/coap://fresh.lab.test:$SIM/sensors/temperature" \
            >"$TMP/c.$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
    codes=$(cat "$TMP"/c.* | sort | uniq -c | tr -s ' ')
    [ "$codes" = " 20 200" ] || { echo "codes: $codes"; return 1; }
    [ "$(queries fresh.lab.test)" = 1 ] && [ "$(lookups)" = $((before + 1)) ]
}
check "20 concurrent requests for a new name: all answered, one query (coapgw_dns_lookups_total +1)" concurrent

headers_once() {
    # a request that waited was routed twice: its headers are there once
    curl -s -o /dev/null -D "$TMP/h" "$G/hc/coap://once.lab.test:$SIM/sensors/temperature" || return 1
    grep -q "^HTTP/1.1 200" "$TMP/h" && [ "$(grep -ci '^Content-Security-Policy:' "$TMP/h")" = 1 ] &&
        [ "$(grep -ci '^X-Content-Type-Options:' "$TMP/h")" = 1 ]
}
check "a request that waited for its name has each header once" headers_once

# --- an event stream and the CoAP forward proxy by name ---
events() {
    curl -s -N --max-time 2 "$G/events?target=coap://ev.lab.test:$SIM/sensors/temperature" \
        >"$TMP/ev" || true
    grep -q '^data:' "$TMP/ev"
}
check "/events?target= with a host name streams" events

forward() {
    local rc=0
    # the first request finds the query running: 5.03, Max-Age 1
    "$C" -T 3 -P "127.0.0.1:$GW_COAP" "coap://fwd.lab.test:$SIM/sensors/temperature" \
        >"$TMP/fwd.out" 2>"$TMP/fwd.err" || rc=$?
    [ "$rc" != 0 ] && grep -q "5.03" "$TMP/fwd.err" || return 1
    sleep 0.3
    "$C" -T 3 -P "127.0.0.1:$GW_COAP" "coap://fwd.lab.test:$SIM/sensors/temperature" >"$TMP/fwd.out" ||
        return 1
    # a name that does not resolve: 5.03 first, then 5.02 "cannot resolve"
    "$C" -T 3 -P "127.0.0.1:$GW_COAP" "coap://nofwd.lab.test:$SIM/x" >/dev/null 2>&1 && return 1
    sleep 0.3
    rc=0
    "$C" -T 3 -P "127.0.0.1:$GW_COAP" "coap://nofwd.lab.test:$SIM/x" >"$TMP/fwd.out" 2>"$TMP/fwd.err" ||
        rc=$?
    [ "$rc" != 0 ] && grep -q "5.02" "$TMP/fwd.err" && grep -q "cannot resolve nofwd.lab.test" "$TMP/fwd.out" "$TMP/fwd.err"
}
check "Proxy-Uri with a host name: 5.03 Max-Age 1 while resolving, then forwarded (or 5.02 cannot resolve)" forward

# --- the address follows DNS after the TTL ---
follows() {
    post() { http -X POST -H 'Content-Type: text/plain' --data "$1" "$G/hc/coap://moving.lab.test:$SIM/counter"; }
    [ "$(post a)" = 200 ] || return 1
    [ "$(executed_on simA)" = 1 ] && [ "$(executed_on simB)" = 0 ] || return 1
    sed -i 's/^moving.lab.test A 127.0.0.1 1$/moving.lab.test A 127.0.0.2 1/' "$T"
    sleep 1.2
    [ "$(post b)" = 200 ] || return 1
    [ "$(executed_on simA)" = 1 ] && [ "$(executed_on simB)" = 1 ]
}
check "a name whose record (TTL 1) changes is followed: the new address's simulator answers" follows

# --- rebinding cannot widen access: the allowlist on every address ---
rebind() {
    sed -i 's/^moving.lab.test A 127.0.0.2 1$/moving.lab.test A 169.254.169.254 1/' "$T"
    sleep 1.2
    [ "$(http "$G/hc/coap://moving.lab.test:$SIM/x")" = 403 ] || return 1
    grep -q "metadata" "$TMP/body" && grep -q "moving.lab.test resolves to 169.254.169.254" "$TMP/body" ||
        return 1
    [ "$(http "$G/hc/coap://meta.lab.test:5683/x")" = 403 ] || return 1
    [ "$(http "$G/hc/coap://low.lab.test:22/x")" = 403 ] || return 1
    grep -q "below 1024" "$TMP/body" || return 1
    [ "$(http "$G/hc/coap://self.lab.test:$GW_COAP/x")" = 403 ] || return 1
    grep -q "the gateway itself" "$TMP/body" || return 1
    # a configured device's name gets the guards too (an IP literal would
    # open exactly its address and port)
    [ "$(http "$G/devices/lowdev/x")" = 403 ]
}
check "a name rebound to the metadata address, a low port, the gateway itself: 403" rebind

# --- the loop never waits for DNS ---
never_blocks() {
    local t0 t1 slow i
    curl -s -o "$TMP/hang.body" -w '%{http_code} %{time_total}\n' \
        "$G/hc/coap://hang.lab.test:$SIM/x" >"$TMP/hang.out" &
    local hang=$!
    sleep 0.3
    for i in 1 2 3 4 5; do
        t0=$(date +%s%N)
        [ "$(http "$G/hc/coap://127.0.0.1:$SIM/sensors/temperature")" = 200 ] || return 1
        [ "$(http "$G/hc/coap://other.lab.test:$SIM/sensors/temperature")" = 200 ] || return 1
        t1=$(date +%s%N)
        slow=$(((t1 - t0) / 1000000))
        [ "$slow" -lt 500 ] || { echo "two requests took $slow ms"; return 1; }
    done
    wait "$hang"
    # the query was given up (about 3 s): 502, cached as negative
    grep -q '^502 ' "$TMP/hang.out" && grep -q "cannot resolve hang.lab.test" "$TMP/hang.body"
}
check "a query that hangs: other requests answered at once meanwhile; then 502" never_blocks

client_leaves() {
    curl -s --max-time 0.3 "$G/hc/coap://gone.lab.test:$SIM/x" >/dev/null || true
    sleep 3.5 # its query ends after the client left
    [ "$(http "$G/healthz")" = 200 ]
}
check "a client that leaves while its name resolves is forgotten (the gateway goes on)" client_leaves

# --- dns.servers: the default asks the system's resolver, which knows
# none of these names (and has no network here) ---
GW2=$(free_port tcp)
start gwdefault "$BUILD/coapgw" --http-listen "127.0.0.1:$GW2" --coap-listen "127.0.0.1:$(free_port)" \
    --allow-target '*.lab.test' --allow-target localhost
# localhost from /etc/hosts, whichever family it names first
start sim6 "$BUILD/coapgw-sim" --listen "[::1]:$SIM" --period-ms 200
wait_for "coapgw (default)" curl -sf "http://127.0.0.1:$GW2/healthz"
servers_effect() {
    [ "$(http "$G/hc/coap://other.lab.test:$SIM/sensors/temperature")" = 200 ] || return 1
    [ "$(http --max-time 20 "http://127.0.0.1:$GW2/hc/coap://other.lab.test:$SIM/sensors/temperature")" = 502 ]
}
effect dns.servers "the configured server resolves the name; with the default the name does not resolve (502)" servers_effect

hosts_file() {
    [ "$(http "http://127.0.0.1:$GW2/hc/coap://localhost:$SIM/sensors/temperature")" = 200 ]
}
check "/etc/hosts answers first (localhost, with no DNS server reachable)" hosts_file

reload_waits() {
    local port
    port=$(free_port tcp)
    printf '{"http": {"listen": "127.0.0.1:%s"}, "coap": {"listen": "127.0.0.1:%s"}, "dns": {"servers": ["%s"]},
  "proxy": {"allow_targets": ["*.lab.test"]}}\n' "$port" "$(free_port)" "$DNS" >"$TMP/r.json"
    start gwreload "$BUILD/coapgw" --config "$TMP/r.json"
    wait_for "coapgw (reload)" curl -sf "http://127.0.0.1:$port/healthz" || return 1
    sed -i "s/\"$DNS\"/\"127.0.0.1:1\"/" "$TMP/r.json"
    kill -HUP "$PID_gwreload"
    wait_for "the reload's log line" grep -q "reload: dns.servers changed: takes effect after a restart" \
        "$TMP/gwreload.log" || return 1
    [ "$(http "http://127.0.0.1:$port/hc/coap://other.lab.test:$SIM/sensors/temperature")" = 200 ]
}
check "dns.servers waits for a restart: a reload logs it and the running servers stay" reload_waits

bad_servers() {
    ! "$BUILD/coapgw" --check-config /dev/null --set dns.servers=not-an-ip >"$TMP/bad.out" 2>&1 &&
        grep -q "bad DNS server" "$TMP/bad.out"
}
check "dns.servers with a host name is refused by the configuration check" bad_servers

# --- the server stops: cached names last until their TTL ---
server_gone() {
    [ "$(http "$G/hc/coap://brief.lab.test:$SIM/sensors/temperature")" = 200 ] || return 1
    stop dns
    [ "$(http "$G/hc/coap://brief.lab.test:$SIM/sensors/temperature")" = 200 ] || return 1
    sleep 3.2
    [ "$(http --max-time 10 "$G/hc/coap://brief.lab.test:$SIM/sensors/temperature")" = 502 ] || return 1
    grep -q "cannot resolve brief.lab.test" "$TMP/body"
}
check "the DNS server stopped: a cached name works until its TTL (3 s), then 502" server_gone

finish
