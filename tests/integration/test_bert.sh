#!/usr/bin/env bash
# BERT (RFC 8323 §6) against libcoap 4.3.1's TCP tools, a 64 KiB body with
# and without it, the bytes compared and the blocks counted in libcoap's
# -v 7 logs (a BERT block shows as Block2:N/M/BERT(SIZE)):
#  - our server role: coap-client-notls reads coapgw-sim's /firmware over
#    TCP (both CSMs announce Block-Wise-Transfer: BERT; -b 1024 asks for
#    RFC 7959 blocks: no BERT), and coap-client-gnutls over TLS;
#  - our client role: coapgw-client (and --no-bert) and the gateway (/hc/
#    to coap+tcp://) read 64 KiB from coap-server-notls, and upload 64 KiB
#    in BERT blocks, on a new connection (its first block waits for the
#    server's CSM) and over one whose CSMs are in.
. "$(dirname "$0")/lib.sh"
need coap-client-notls coap-server-notls curl python3 stdbuf
C=coap-client-notls

# Blocks with a Block2 of the form N/M/SIZE or N/_/SIZE in a libcoap -v 7
# log (from line $3 on), counted once per block number (a request and its
# response name the same one); $2: BERT, 'BERT\(' (a response: its size
# follows) or 1024. grep -a: payload bytes make the log look binary; no
# c:2.05 on the line: libcoap's stdout and stderr interleave mid-line.
responses() { blocks Block2 "$@"; }
# blocks OPT LOG PATTERN FROM: the same for Block1 (an upload) or Block2
blocks() {
    since "$2" "${4:-1}"
    { grep -aoE "$1:[0-9]+/[M_]/$3" "$TMP/part" || true; } |
        grep -oE "$1:[0-9]+" | sort -u | wc -l
}
lines() { wc -l <"$1"; }
# since LOG FROM: the log from line FROM on, in $TMP/part (grep -q on a
# pipe would end tail early: pipefail)
since() { tail -n +"$2" "$1" >"$TMP/part"; }
# expect_responses N LOG PATTERN FROM: the count reaches N within 2 s (the
# server may log its last block after we have it); expect_blocks1: of
# Block1 blocks
expect_responses() { expect_blocks Block2 "$@"; }
expect_blocks1() { expect_blocks Block1 "$@"; }
expect_blocks() {
    local n _
    for _ in $(seq 1 20); do
        n=$(blocks "$1" "$3" "$4" "$5")
        [ "$n" = "$2" ] && return 0
        sleep 0.1
    done
    echo "$1 $4 blocks: $n, expected $2"
    return 1
}

# --- our server role: coapgw-sim --listen-tcp ---
PORT=$(free_port)
TPORT=$(free_port tcp)
U=coap+tcp://127.0.0.1:$TPORT
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$PORT" --listen-tcp "127.0.0.1:$TPORT"
wait_for "coapgw-sim on TCP" "$BUILD/coapgw-client" -T 1 "$U/sensors/temperature"
"$BUILD/coapgw-client" "coap://127.0.0.1:$PORT/firmware" >"$TMP/fw-udp"

sim_bert() {
    "$C" -v 7 -B 5 -o "$TMP/fw1" "$U/firmware" >"$TMP/c1.log" 2>&1 || return 1
    cmp -s "$TMP/fw1" "$TMP/fw-udp" || return 1
    # 8192 bytes announced by libcoap's client... and 8 MiB: ours (8192)
    # bounds what we send, 7 units a block: 10 blocks, no 1024-byte one
    local n m
    n=$(responses "$TMP/c1.log" 'BERT\(') m=$(responses "$TMP/c1.log" 1024)
    [ "$n" = 10 ] && [ "$m" = 0 ] || { echo "BERT blocks: $n, 1024-byte: $m"; return 1; }
    grep -aq "Block2:7/_/BERT" "$TMP/c1.log" # libcoap asked for the next one with SZX 7
}
check "libcoap -> sim: 64 KiB /firmware in 10 BERT blocks of 7 KiB, the bytes as over UDP" sim_bert

sim_plain() {
    "$C" -v 7 -B 10 -b 1024 -o "$TMP/fw2" "$U/firmware" >"$TMP/c2.log" 2>&1 || return 1
    cmp -s "$TMP/fw2" "$TMP/fw-udp" || return 1
    local n m
    n=$(responses "$TMP/c2.log" BERT) m=$(responses "$TMP/c2.log" 1024)
    [ "$n" = 0 ] && [ "$m" = 64 ] || { echo "BERT blocks: $n, 1024-byte: $m"; return 1; }
}
check "libcoap -b 1024 -> sim: 64 KiB /firmware in 64 blocks of 1024, no BERT" sim_plain

# The same over TLS (coaps+tcp://: the same transport, the same CSM).
sim_bert_tls() {
    command -v coap-client-gnutls >/dev/null || { echo "SKIP: no coap-client-gnutls"; return 0; }
    local tp
    tp=$(free_port tcp)
    start simtls "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --listen-tls "127.0.0.1:$tp" \
        -k secret -u device-1
    wait_for "coapgw-sim on TLS" "$BUILD/coapgw-client" -T 1 -k secret -u device-1 \
        "coaps+tcp://127.0.0.1:$tp/sensors/temperature" || return 1
    coap-client-gnutls -v 7 -B 5 -k secret -u device-1 -o "$TMP/fw5" \
        "coaps+tcp://127.0.0.1:$tp/firmware" >"$TMP/c5.log" 2>&1 || return 1
    stop simtls
    cmp -s "$TMP/fw5" "$TMP/fw-udp" && expect_responses 10 "$TMP/c5.log" 'BERT\(' 1
}
check "libcoap (GnuTLS) -> sim over TLS: 64 KiB /firmware in 10 BERT blocks" sim_bert_tls

# Our client against our server, counted in the simulator's request log.
ours_to_sim() {
    local before n
    before=$(grep -c "GET /firmware" "$TMP/sim.log" || true)
    "$BUILD/coapgw-client" "$U/firmware" >"$TMP/fw3" && cmp -s "$TMP/fw3" "$TMP/fw-udp" || return 1
    n=$(($(grep -c "GET /firmware" "$TMP/sim.log") - before))
    before=$((before + n))
    "$BUILD/coapgw-client" --no-bert "$U/firmware" >"$TMP/fw4" && cmp -s "$TMP/fw4" "$TMP/fw-udp" || return 1
    local m=$(($(grep -c "GET /firmware" "$TMP/sim.log") - before))
    [ "$n" = 10 ] && [ "$m" = 64 ] || { echo "requests: $n with BERT, $m without"; return 1; }
}
check "coapgw-client -> sim (our own server, labelled): 10 BERT requests, 64 with --no-bert" ours_to_sim

# --- our client role: coap-server-notls on TCP ---
SPORT=$(free_port tcp)
S=coap+tcp://127.0.0.1:$SPORT
# (stdbuf: libcoap writes its PDUs to a buffered stdout, which would keep
# the last blocks out of the log for a while)
start server stdbuf -oL coap-server-notls -A 127.0.0.1 -p "$SPORT" -d 10 -v 7
wait_for "coap-server-notls on TCP" "$BUILD/coapgw-client" -T 1 "$S/"
head -c 65536 /dev/urandom >"$TMP/big"
# libcoap's client announces 8 MiB: the 64 KiB go in one message
"$C" -B 5 -m put -f "$TMP/big" "$S/big" >/dev/null 2>&1

client_bert() {
    local from
    from=$(lines "$TMP/server.log")
    "$BUILD/coapgw-client" "$S/big" >"$TMP/got1" && cmp -s "$TMP/got1" "$TMP/big" || return 1
    expect_responses 10 "$TMP/server.log" 'BERT\(' "$from" &&
        expect_responses 0 "$TMP/server.log" 1024 "$from"
}
check "coapgw-client -> libcoap: 64 KiB in 10 BERT blocks (our 8192 bytes), the same bytes" client_bert

client_plain() {
    local from
    from=$(lines "$TMP/server.log")
    "$BUILD/coapgw-client" --no-bert "$S/big" >"$TMP/got2" && cmp -s "$TMP/got2" "$TMP/big" || return 1
    expect_responses 64 "$TMP/server.log" 1024 "$from" &&
        expect_responses 0 "$TMP/server.log" BERT "$from" || return 1
    # our CSM said nothing of Block-Wise-Transfer
    since "$TMP/server.log" "$from"
    grep -aq "c:CSM .*Max-Message-Size:8192 \]" "$TMP/part"
}
check "coapgw-client --no-bert -> libcoap: 64 KiB in 64 blocks of 1024, no BERT" client_plain

# An upload's block size is chosen at its first block (and never grows):
# on a new connection that block waits for the server's CSM (RFC 8323
# §3.3), so the upload goes in BERT blocks: 9 of 7 KiB and 1 of 1 KiB.
# bert_put LOG FROM: the PUT's Block1 blocks in the server's log are
# BERT, none of 1024 bytes with more to come.
bert_put() {
    expect_blocks1 10 "$1" 'BERT\(' "$2" && expect_blocks1 0 "$1" 1024 "$2" || return 1
    since "$1" "$2"
    grep -aq "Block1:0/M/BERT(7168)" "$TMP/part" && grep -aq "Block1:63/_/BERT(1024)" "$TMP/part"
}
client_put_fresh() {
    local from
    from=$(lines "$TMP/server.log")
    "$BUILD/coapgw-client" -m put -f "$TMP/big" "$S/big1" || return 1
    "$BUILD/coapgw-client" "$S/big1" >"$TMP/got3" && cmp -s "$TMP/got3" "$TMP/big" || return 1
    bert_put "$TMP/server.log" "$from"
}
check "coapgw-client PUT 64 KiB on a new connection: BERT Block1 blocks (after libcoap's CSM)" \
    client_put_fresh

# --- the gateway: /hc/ to coap+tcp:// ---
HP=$(free_port tcp)
GT=$(free_port tcp) # the gateway's coap.listen_tcp
G=http://127.0.0.1:$HP
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" },
  "coap": { "listen": "127.0.0.1:$(free_port)", "listen_tcp": "127.0.0.1:$GT" },
  "state": { "path": "" },
  "proxy": { "allow_targets": ["localhost"] } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
wait_for "the gateway" curl -sf "$G/healthz"

gw_put_fresh() { # the gateway's first request to the target: a new connection
    local from st
    from=$(lines "$TMP/server.log")
    st=$(status "$TMP/b" -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary @"$TMP/big" "$G/hc/$S/big3")
    [ "${st:0:1}" = 2 ] || { echo "PUT: $st"; return 1; }
    bert_put "$TMP/server.log" "$from" || return 1
    since "$TMP/server.log" "$from" # the gateway's CSM, as libcoap logged it
    grep -aq "c:CSM .*Max-Message-Size:8192, Block-Wise-Transfer: \]" "$TMP/part" || return 1
    "$BUILD/coapgw-client" "$S/big3" >"$TMP/got6" && cmp -s "$TMP/got6" "$TMP/big"
}
check "HTTP PUT 64 KiB to /hc/coap+tcp://libcoap/big3 on a new connection: BERT Block1, stored equal" \
    gw_put_fresh

gw_get() {
    local from
    from=$(lines "$TMP/server.log")
    [ "$(status "$TMP/got4" "$G/hc/$S/big")" = 200 ] && cmp -s "$TMP/got4" "$TMP/big" || return 1
    expect_responses 10 "$TMP/server.log" 'BERT\(' "$from"
}
check "HTTP GET /hc/coap+tcp://libcoap/big: 64 KiB in 10 BERT blocks, the same bytes" gw_get

gw_put() { # the connection of gw_get is open: BERT from the first block
    local from st
    from=$(lines "$TMP/server.log")
    st=$(status "$TMP/b" -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary @"$TMP/big" "$G/hc/$S/big2")
    [ "${st:0:1}" = 2 ] || { echo "PUT: $st"; return 1; }
    since "$TMP/server.log" "$from"
    grep -aq "Block1:0/M/BERT(7168)" "$TMP/part" && ! grep -aq "Block1:[0-9]*/M/1024" "$TMP/part" ||
        return 1
    "$BUILD/coapgw-client" "$S/big2" >"$TMP/got5" && cmp -s "$TMP/got5" "$TMP/big"
}
check "HTTP PUT 64 KiB to /hc/coap+tcp://libcoap/big2 over the open connection: BERT Block1, stored equal" gw_put

# Every CSM of ours announces Block-Wise-Transfer, with no configuration:
# the gateway's as it connects out (gw_put_fresh) and as it accepts (its
# coap.listen_tcp, read by libcoap), the simulator's as it accepts (the
# BERT checks above) and as it connects out to register (to libcoap's
# server, which logs the CSM whatever it answers to the POST).
csm_announces() {
    "$C" -v 7 -B 5 "coap+tcp://127.0.0.1:$GT/.well-known/core" >"$TMP/c7.log" 2>&1
    grep -aq "c:CSM .*Max-Message-Size:8192, Block-Wise-Transfer: \]" "$TMP/c7.log" ||
        { echo "the gateway's listener: no Block-Wise-Transfer"; return 1; }
    local from ok=
    from=$(lines "$TMP/server.log")
    start simreg "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" \
        --listen-tcp "127.0.0.1:$(free_port tcp)" --register "$S" --name bert1
    for _ in $(seq 1 30); do
        since "$TMP/server.log" "$from"
        grep -aq "c:CSM .*Max-Message-Size:8192, Block-Wise-Transfer: \]" "$TMP/part" && ok=1 && break
        sleep 0.1
    done
    stop simreg
    [ "$ok" ] || { echo "the simulator registering: no Block-Wise-Transfer"; return 1; }
}
check "our CSMs announce Block-Wise-Transfer: the gateway's listener, the simulator connecting out" \
    csm_announces

finish
