#!/usr/bin/env bash
# Group event streams (/groups/NAME/PATH with Accept: text/event-stream,
# with or without ?observe) are event streams like a device's
# (docs/security.md), on the lab network of netns.sh (multicast does not
# work on loopback); the groups are silent (no member answers), so a
# stream without ?observe lasts its window (10 s), one with ?observe for
# as long as its client stays:
#   - they count against sse.max_subscribers with the device streams: the
#     same 503 with Retry-After naming the key, counted in
#     coapgw_sse_refused_total{limit="sse.max_subscribers"}, shown in
#     coapgw_sse_subscribers; a group observation refused by
#     sse.max_observations is counted under that limit;
#   - a reload (SIGHUP) checks them like the hub's: a stream whose token
#     it removed ends with event: error 401 (without ?observe too), one
#     whose group it removed with 404, one whose group address it took
#     out of proxy.allow_targets with 403; the others go on; logged like
#     the hub's ("reload: N event stream(s) closed: ...").
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
need curl python3
lab_init

SIM=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM"
metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
ev() { curl -s -N -H "Accept: text/event-stream" "$@"; } # an event stream, to stdout
code_of() { # code_of URL [CURL-ARGS]: the status of a stream asked for (2 s at most)
    curl -s -o "$TMP/refused.body" -D "$TMP/headers" -w '%{http_code}' --max-time 2 \
        -H "Accept: text/event-stream" "$@" || true
}

# --- sse.max_subscribers 2, sse.max_observations 1 ---
HTTP=$(free_port tcp)
start gw "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP" --coap-listen "127.0.0.1:$(free_port)" \
    --set sse.max_subscribers=2 --set sse.max_observations=1 --allow-target 224.0.1.191 \
    --set 'groups={"silent": {"address": "224.0.1.191", "window_ms": 10000}}'
G=http://127.0.0.1:$HTTP
DEV=$G/hc/coap://127.0.0.1:$SIM/sensors/temperature
wait_for coapgw curl -sf "$G/healthz"

counted() { # the group streams are two of sse.max_subscribers (2)
    local a b plain obs dev body subs refused
    ev --max-time 6 "$G/groups/silent/x" >"$TMP/plain.sse" 2>/dev/null &
    a=$!
    ev --max-time 6 "$G/groups/silent/y?observe" >"$TMP/obs.sse" 2>/dev/null &
    b=$!
    sleep 1.5
    subs=$(metric "$G" coapgw_sse_subscribers)
    plain=$(code_of "$G/groups/silent/z")
    body=$(head -c 120 "$TMP/refused.body")
    local retry
    retry=$(hdr Retry-After)
    obs=$(code_of "$G/groups/silent/w?observe")
    dev=$(code_of "$DEV")
    refused=$(metric "$G" 'coapgw_sse_refused_total{limit="sse.max_subscribers"}')
    wait "$a" "$b" || true
    echo "  two group streams open (coapgw_sse_subscribers $subs); a third group stream: $plain" \
        "(Retry-After $retry: $body); a group observation: $obs; a device's stream: $dev;" \
        "refused (sse.max_subscribers): $refused"
    [ "$subs" = 2 ] && [ "$plain" = 503 ] && [ -n "$retry" ] &&
        [[ "$body" == *"too many event streams open (sse.max_subscribers = 2)"* ]] &&
        [ "$obs" = 503 ] && [ "$dev" = 503 ] && [ "$refused" = 3 ]
}
check "group streams count against sse.max_subscribers: two open, a third (group, group observation, device) gets 503 with Retry-After naming the key, counted" counted

# A client gone from a silent observation is found by the keep-alive
# comment (every 15 s; the write after the peer's close fails), as the
# hub's are; one without ?observe by the window's end.
released() { # once they ended, a stream fits again, and none is left counted
    within 35 eval '[ "$(metric "$G" coapgw_sse_subscribers)" = 0 ]' && [ "$(code_of "$DEV")" = 200 ]
}
check "... once the group streams ended: coapgw_sse_subscribers 0, a device's stream is accepted" \
    released

observations() { # a second group observation beyond sse.max_observations (1): counted
    local a code refused
    within 5 eval '[ "$(metric "$G" coapgw_observations_active)" = 0 ]' || return 1
    ev --max-time 4 "$G/groups/silent/y?observe" >/dev/null 2>&1 &
    a=$!
    sleep 1
    code=$(code_of "$G/groups/silent/v?observe")
    refused=$(metric "$G" 'coapgw_sse_refused_total{limit="sse.max_observations"}')
    wait "$a" || true
    echo "  a second group observation: $code ($(head -c 80 "$TMP/refused.body")); refused (sse.max_observations): $refused"
    [ "$code" = 503 ] && grep -q 'sse.max_observations = 1' "$TMP/refused.body" && [ "$refused" = 1 ]
}
check "a group observation beyond sse.max_observations: 503, counted in coapgw_sse_refused_total{limit=\"sse.max_observations\"}" observations

# --- a reload checks open group streams ---
HTTP2=$(free_port tcp)
COAP2=$(free_port)
conf() { # conf TOKENS ALLOWED GROUPS: the reloaded gateway's configuration
    cat >"$TMP/gwr.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP2" }, "coap": { "listen": "127.0.0.1:$COAP2" },
  "proxy": { "allow_targets": [$2] },
  "tokens": [ $1 ], "groups": { $3 } }
JSON
}
T_GONE='{ "token": "gone-token-0123456789", "scope": "read" }'
T_KEPT='{ "token": "kept-token-0123456789", "scope": "read" }'
SILENT='"silent": { "address": "224.0.1.191", "window_ms": 10000 }'
OTHER='"other": { "address": "224.0.1.192", "window_ms": 10000 }'
LOCKED='"locked": { "address": "224.0.1.193", "window_ms": 10000 }'
conf "$T_GONE, $T_KEPT" '"224.0.1.191", "224.0.1.192", "224.0.1.193"' "$SILENT, $OTHER, $LOCKED"
start gwr "$BUILD/coapgw" --config "$TMP/gwr.json"
G2=http://127.0.0.1:$HTTP2
wait_for "coapgw with tokens" curl -sf "$G2/healthz"
KEPT=(-H "Authorization: Bearer kept-token-0123456789")
GONE=(-H "Authorization: Bearer gone-token-0123456789")

ended_with() { # ended_with FILE STATUS: the stream's last event is an error with STATUS
    grep -q '^event: error' "$TMP/$1" && grep '^data:' "$TMP/$1" | tail -1 | grep -q "\"status\":$2"
}
rechecked() {
    local t0 p1 p2 p3 p4 p5 t_revoked t_removed t_locked alive
    ev --max-time 12 "${GONE[@]}" "$G2/groups/silent/x" >"$TMP/r1.sse" 2>/dev/null &
    p1=$!
    ev --max-time 12 "${KEPT[@]}" "$G2/groups/other/x?observe" >"$TMP/r2.sse" 2>/dev/null &
    p2=$!
    ev --max-time 12 "${KEPT[@]}" "$G2/groups/other/y" >"$TMP/r3.sse" 2>/dev/null &
    p3=$!
    ev --max-time 12 "${KEPT[@]}" "$G2/groups/locked/x?observe" >"$TMP/r4.sse" 2>/dev/null &
    p4=$!
    ev --max-time 12 "${KEPT[@]}" "$G2/groups/silent/y" >"$TMP/r5.sse" 2>/dev/null &
    p5=$!
    sleep 1.5
    conf "$T_KEPT" '"224.0.1.191", "224.0.1.192"' "$SILENT, $LOCKED"
    t0=$(date +%s)
    kill -HUP "$PID_gwr"
    wait "$p1" "$p2" "$p3" "$p4" || true
    t_done=$(($(date +%s) - t0))
    alive=no
    kill -0 "$p5" 2>/dev/null && alive=yes
    wait "$p5" || true
    echo "  ended $t_done s after the reload; revoked token: $(tail -c 160 "$TMP/r1.sse" | tr '\n' ' ')"
    echo "  removed group: $(tail -c 120 "$TMP/r2.sse" | tr '\n' ' '); address no longer allowed: $(tail -c 160 "$TMP/r4.sse" | tr '\n' ' ')"
    echo "  the stream with a kept token on a kept group still open after them: $alive"
    [ "$t_done" -le 5 ] && ended_with r1.sse 401 && ended_with r2.sse 404 && ended_with r3.sse 404 &&
        ended_with r4.sse 403 && [ "$alive" = yes ] && ! grep -q '^event: error' "$TMP/r5.sse"
}
check "SIGHUP: group streams end with event: error: 401 for a removed token (without ?observe too), 404 for a removed group, 403 for an address no longer allowed; the others go on" rechecked
check "... logged as the hub's: 1 closed for its token, 3 for their group" bash -c "
    grep -q 'reload: 1 event stream(s) closed: token revoked' '$TMP/gwr.log' &&
    grep -q 'reload: 3 event stream(s) closed: group removed or not allowed' '$TMP/gwr.log'"
check "... a new stream of the removed group: 404; of the address no longer allowed: 403" bash -c "
    [ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Accept: text/event-stream' \
        -H 'Authorization: Bearer kept-token-0123456789' '$G2/groups/other/x?observe')\" = 404 ] &&
    [ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Accept: text/event-stream' \
        -H 'Authorization: Bearer kept-token-0123456789' '$G2/groups/locked/x?observe')\" = 403 ]"

finish
