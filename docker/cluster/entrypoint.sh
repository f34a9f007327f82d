#!/bin/sh
# The entry point of docker/cluster/Dockerfile's images (compose.cluster.yaml):
#   haproxy | nginx-stream   fill the example configuration (haproxy.cfg,
#                            nginx-stream.conf: the templates that
#                            tests/cluster/test_cluster.sh fills too) with
#                            the gateways named in the environment, then
#                            become the balancer (exec: PID 1, gets SIGTERM)
#   check-http PORT PATH     health check: GET PATH on 127.0.0.1:PORT is 200
#   check-coap PORT          health check: a CoAP ping (an empty CON,
#                            RFC 7252 §4.3) to 127.0.0.1:PORT is answered
#                            (by the gateway that nginx hashes us to)
# Environment: COAPGW_HTTP_UPSTREAMS "gw1:8080 gw2:8080 ..." (haproxy),
# COAPGW_COAP_UPSTREAMS "gw1:5683 ..." (nginx-stream).
set -eu
TEMPLATES=/etc/coapgw-cluster

# fill TEMPLATE OUT NAME...: @NAME@ replaced by $NAME; none may be left
fill() {
    in=$1 out=$2
    shift 2
    awk -v names="$*" 'BEGIN { n = split(names, k, " ") }
        { for (i = 1; i <= n; i++) gsub("@" k[i] "@", ENVIRON[k[i]]) } 1' "$in" >"$out"
    if grep -v '^[[:space:]]*#' "$out" | grep -q '@[A-Z_]*@'; then
        echo "cluster-entrypoint: $out: a placeholder is left unfilled" >&2
        exit 2
    fi
}

case ${1:-} in
haproxy)
    : "${COAPGW_HTTP_UPSTREAMS:?names the gateways: host:port ...}"
    SERVERS=$(for a in $COAPGW_HTTP_UPSTREAMS; do
        printf '    server %s %s check\n' "${a%%:*}" "$a"
    done)
    STATS_SOCKET=/run/haproxy/admin.sock HTTP_BIND=:8000
    export SERVERS STATS_SOCKET HTTP_BIND
    fill "$TEMPLATES/haproxy.cfg" /tmp/haproxy.cfg STATS_SOCKET HTTP_BIND SERVERS
    # -W: a master process, which handles SIGTERM (`docker stop`) as PID 1;
    # a plain -db HAProxy leaves SIGTERM to its default action, which PID 1
    # does not have (the container would be killed after the stop timeout)
    exec haproxy -W -db -f /tmp/haproxy.cfg
    ;;
nginx-stream)
    : "${COAPGW_COAP_UPSTREAMS:?names the gateways: host:port ...}"
    UPSTREAMS=$(for a in $COAPGW_COAP_UPSTREAMS; do printf '        server %s;\n' "$a"; done)
    STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so PID_FILE=/tmp/nginx.pid
    ERROR_LOG=stderr COAP_LISTEN=5683
    export UPSTREAMS STREAM_MODULE PID_FILE ERROR_LOG COAP_LISTEN
    fill "$TEMPLATES/nginx-stream.conf" /tmp/nginx.conf STREAM_MODULE PID_FILE ERROR_LOG COAP_LISTEN UPSTREAMS
    exec nginx -c /tmp/nginx.conf -p /tmp -e stderr
    ;;
check-http)
    exec bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
        printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$2" >&3 &&
        timeout 3 head -n 1 <&3 | grep -q "^HTTP/1\.[01] 200 "' check "$2" "$3"
    ;;
check-coap)
    exec bash -c 'exec 3<>"/dev/udp/127.0.0.1/$1" && printf "\100\000\123\045" >&3 &&
        [ "$(timeout 3 head -c 4 <&3 | wc -c)" = 4 ]' check "$2"
    ;;
*)
    exec "$@"
    ;;
esac
