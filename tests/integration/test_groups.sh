#!/usr/bin/env bash
# Group requests over HTTP (RFC 7390, groupcomm-bis §3) in a lab network
# (tests/integration/netns.sh): three libcoap servers in group 224.0.1.187
# (10.77.0.11-13; libcoap delays its answers to a multicast request by up
# to its Leisure, 5 s, RFC 7252 §8.2: that group's window is 6 s), and two
# Python members in group 224.0.1.190, one answering at once (10.77.0.14),
# one 1.5 s late (10.77.0.15).
# GET /groups/NAME/time gathers every answer as JSON and as SSE; a member
# answering after the window is left out; window_ms is honoured and
# bounded; a group write needs a write token and goes as NON; a "members"
# group (unicast) gathers the same; Observe on the group streams
# notifications tagged by member, and two clients of one group observation
# share one registration (10.77.0.11 logs the requests it gets: -v 7),
# forgotten when the last leaves; an IPv6 link-local group
# ([ff02::fd%br0], a libcoap member at 10.77.0.16); a responder outside
# the allowlist (a Python member answering from 198.51.100.7, 10.77.0.17)
# is counted in "refused" and not shown; an unlisted group address is
# refused.
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
need curl coap-server-notls python3 nsenter
lab_init
for n in 11 12 13; do
    lab_member "m$n" "$n"
    verbose=()
    [ "$n" = 11 ] && verbose=(-v 7) # logs each request (c:GET ... [ Observe:0, ... ])
    lab_start "srv$n" "m$n" coap-server-notls -g 224.0.1.187 "${verbose[@]}"
done
lab_member m16 16
lab_start srv16 m16 coap-server-notls -g ff02::fd -G eth0
# m17 answers from 198.51.100.7, an address outside the private ranges
# (routed in the lab only: nothing leaves it)
lab_member m17 17
lab_in m17 ip addr add 198.51.100.7/24 dev eth0
ip route add 198.51.100.0/24 dev "$LAB_IF"
lab_start py17 m17 python3 "$(dirname "$0")/group_member.py" 224.0.1.191 10.77.0.17 far 0.1 198.51.100.7
lab_member m14 14
lab_start py14 m14 python3 "$(dirname "$0")/group_member.py" 224.0.1.190 10.77.0.14 ontime 0.1
lab_member m15 15
lab_start py15 m15 python3 "$(dirname "$0")/group_member.py" 224.0.1.190 10.77.0.15 late 1.5

HTTP=$(free_port tcp)
HTTP_DEF=$(free_port tcp)
HTTP_NOTOK=$(free_port tcp)
GROUPS_JSON='{ "all": { "address": "224.0.1.187", "window_ms": 6000 },
    "py": { "address": "224.0.1.190", "window_ms": 700 },
    "uni": { "members": ["coap://10.77.0.11", "coap://10.77.0.12", "coap://10.77.0.13"],
             "window_ms": 500 },
    "v6": { "address": "[ff02::fd%br0]", "window_ms": 6000 },
    "far": { "address": "224.0.1.191", "window_ms": 700 },
    "blocked": { "address": "224.0.1.188" } }'
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP" }, "coap": { "listen": "127.0.0.1:$(free_port)" },
  "proxy": { "allow_targets": ["224.0.1.187", "224.0.1.190", "224.0.1.191", "ff02::fd"] },
  "tokens": [ { "token": "reader-0123456789abcdef", "scope": "read" },
              { "token": "writer-0123456789abcdef", "scope": "read-write" } ],
  "groups": $GROUPS_JSON }
JSON
cat >"$TMP/def.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_DEF" }, "coap": { "listen": "127.0.0.1:$(free_port)" } }
JSON
cat >"$TMP/notok.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_NOTOK" }, "coap": { "listen": "127.0.0.1:$(free_port)" },
  "proxy": { "allow_targets": ["224.0.1.187", "224.0.1.190"] }, "groups": $GROUPS_JSON }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
start def "$BUILD/coapgw" --config "$TMP/def.json"
start notok "$BUILD/coapgw" --config "$TMP/notok.json"
G=http://127.0.0.1:$HTTP
R=(-H "Authorization: Bearer reader-0123456789abcdef")
W=(-H "Authorization: Bearer writer-0123456789abcdef")
wait_for coapgw curl -sf "$G/healthz"
wait_for "the default coapgw" curl -sf "http://127.0.0.1:$HTTP_DEF/healthz"
wait_for "the coapgw without tokens" curl -sf "http://127.0.0.1:$HTTP_NOTOK/healthz"

# addrs FILE: the responders' addresses of a JSON answer, sorted, one line
addrs() { python3 -c 'import json,sys; print(" ".join(sorted(r["address"] for r in json.load(open(sys.argv[1]))["responses"])))' "$1"; }
LIBCOAP="10.77.0.11:5683 10.77.0.12:5683 10.77.0.13:5683"
PY="10.77.0.14:5683 10.77.0.15:5683"
py_up() { curl -sf "${R[@]}" -o "$TMP/up.json" "$G/groups/py/x?window_ms=2500" && [ "$(addrs "$TMP/up.json")" = "$PY" ]; }
wait_for "the Python members" py_up

code=$(status "$TMP/all.json" "${R[@]}" "$G/groups/all/time")
check "GET /groups/all/time: 200 (got $code)" [ "$code" = 200 ]
check "three libcoap members answered: $(addrs "$TMP/all.json")" \
    [ "$(addrs "$TMP/all.json")" = "$LIBCOAP" ]
check "each answer has its code, Max-Age and text payload" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["group"]=="all" and d["request"]["method"]=="GET" and d["request"]["window_ms"]==6000
assert all(r["code"]=="2.05" and "max_age" in r and isinstance(r["payload"],str) for r in d["responses"])' "$TMP/all.json"

code=$(status "$TMP/py.json" "${R[@]}" "$G/groups/py/x")
check "window 700 ms: the member answering 1.5 s late is left out ($(addrs "$TMP/py.json"))" \
    [ "$(addrs "$TMP/py.json")" = "10.77.0.14:5683" ]
code=$(status "$TMP/wide.json" "${R[@]}" "$G/groups/py/x?window_ms=2500")
check "window_ms=2500: the late member is in ($(addrs "$TMP/wide.json"))" \
    [ "$(addrs "$TMP/wide.json")" = "$PY" ]
check "its payload is its own" grep -q '"payload":"late"' "$TMP/wide.json"
for w in 99 10001 x; do
    code=$(status "$TMP/out" "${R[@]}" "$G/groups/py/x?window_ms=$w")
    check "window_ms=$w out of bounds: 400 (got $code)" [ "$code" = 400 ]
done
check "window_ms is the gateway's: the members never see it" \
    bash -c "! grep -q window_ms '$TMP/py14.log'"

# SSE: one event per answer as it comes, then `event: end` and the close
curl -s -N --max-time 9 "${R[@]}" -H "Accept: text/event-stream" "$G/groups/all/time" >"$TMP/sse" || true
check "SSE: three response events" [ "$(grep -c '^event: response' "$TMP/sse")" = 3 ]
check "SSE: then an end event, and the stream closes" bash -c "tail -4 '$TMP/sse' | grep -q '^event: end'"

code=$(status "$TMP/uni.json" "${R[@]}" "$G/groups/uni/time")
check "a members group (unicast) gathers the same ($(addrs "$TMP/uni.json"))" \
    [ "$code" = 200 -a "$(addrs "$TMP/uni.json")" = "$LIBCOAP" ]

# writes: a write token only, and as NON to the group
code=$(status "$TMP/out" "${R[@]}" -X PUT --data-binary 21 "$G/groups/py/setpoint")
check "group PUT with a read token: 403 (got $code)" [ "$code" = 403 ]
code=$(status "$TMP/out" -X PUT --data-binary 21 "http://127.0.0.1:$HTTP_NOTOK/groups/py/setpoint")
check "group PUT on a gateway without tokens: 403 (got $code)" [ "$code" = 403 ]
code=$(status "$TMP/put.json" "${W[@]}" -X PUT -H "Content-Type: text/plain" --data-binary 21 \
    "$G/groups/py/setpoint")
check "group PUT with a write token: 200 (got $code)" [ "$code" = 200 ]
check "... sent as NON (the Python member's log)" grep -q "^NON 3 setpoint" "$TMP/py14.log"
check "... its 2.04 gathered" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert any(r["address"]=="10.77.0.14:5683" and r["code"]=="2.04" for r in d["responses"])' "$TMP/put.json"

# Observe on the group (groupcomm-bis §3.7): notifications tagged by member
curl -s -N --max-time 8 "${R[@]}" -H "Accept: text/event-stream" "$G/groups/all/time?observe" >"$TMP/obs" || true
nmembers=$( (grep -A3 '^event: notification' "$TMP/obs" | grep -o '"address":"[^"]*"' || true) | sort -u | wc -l)
check "observe: notifications from every libcoap member ($nmembers members)" [ "$nmembers" -ge 3 ]

# two clients of the same group, path and query: one registration
# (registrations: tokens of GETs with Observe 0; libcoap logs the stored
# request again before each notification, with the same token)
regs() { (grep 'c:GET.*Observe:0.*Uri-Query:ticks' "$TMP/srv11.log" || true) | grep -o '{[0-9a-f]*}' | sort -u | wc -l; }
registered() { [ "$(regs)" -ge 1 ]; }
OBS=(-s -N "${R[@]}" -H "Accept: text/event-stream" "$G/groups/all/time?observe&ticks")
curl --max-time 9 "${OBS[@]}" >"$TMP/obs1" &
first=$!
PIDS+=("$first")
wait_for "the first registration" registered
curl --max-time 8 "${OBS[@]}" >"$TMP/obs2" || true
wait "$first" || true
n=$(regs)
check "observe: two subscribers, one registration reaches a member (got $n)" [ "$n" = 1 ]
for f in obs1 obs2; do
    check "observe: subscriber $f got notifications" grep -q '^event: notification' "$TMP/$f"
done
# the gateway sees a client gone at the next write to its stream
both_gone() { [ "$(grep -c 'GET /groups/all/time 200 .* group observe' "$TMP/gw.log")" -ge 3 ]; }
wait_for "the gateway to see both subscribers gone" both_gone
curl --max-time 2 "${OBS[@]}" >/dev/null || true
n=$(regs)
check "observe: after the last left, the next subscriber registers anew (got $n)" [ "$n" = 2 ]

# an IPv6 link-local group, its interface named after %
code=$(status "$TMP/v6.json" "${R[@]}" "$G/groups/v6/time")
check "IPv6 group [ff02::fd%br0]: 200 (got $code)" [ "$code" = 200 ]
check "... the libcoap member answered ($(addrs "$TMP/v6.json"))" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["request"]["uri"].startswith("coap://[ff02::fd]:5683/time"), d["request"]
assert d["responders"]==1 and d["responses"][0]["code"]=="2.05", d' "$TMP/v6.json"

# a responder the allowlist refuses: counted, not shown
code=$(status "$TMP/far.json" "${R[@]}" "$G/groups/far/x")
check "a responder outside the allowlist: counted in refused, not shown" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["refused"]==1 and d["responders"]==0 and d["responses"]==[], d' "$TMP/far.json"
check "... the member did answer (its log)" grep -q "^NON 1 x" "$TMP/py17.log"

code=$(status "$TMP/out" "${R[@]}" "$G/groups/blocked/time")
check "a group address not in proxy.allow_targets: 403 (got $code)" [ "$code" = 403 ]
code=$(status "$TMP/out" "${R[@]}" "$G/groups/nosuch/time")
check "an unknown group: 404 (got $code)" [ "$code" = 404 ]

groups_effect() {
    [ "$(status "$TMP/e1" "${R[@]}" "$G/groups/py/x")" = 200 ] &&
        [ "$(status "$TMP/e2" "http://127.0.0.1:$HTTP_DEF/groups/all/time")" = 404 ]
}
effect groups "a configured group answers /groups/NAME/PATH; none by default (404)" groups_effect
finish
