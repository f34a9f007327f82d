#!/bin/sh
# The image's entry point: the gateway by default, any other program on demand.
#   (no arguments)         coapgw, with --config /etc/coapgw/coapgw.json when
#                          that file is there (the embedded defaults otherwise)
#   -FLAG ...              the same, with these flags after it (flags win)
#   PROGRAM ARGS...        that program (coapgw-sim, coapgw-client, sh, ...)
# exec: the program becomes PID 1 and gets `docker stop`'s SIGTERM itself.
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
    if [ -f /etc/coapgw/coapgw.json ]; then
        set -- --config /etc/coapgw/coapgw.json "$@"
    fi
    set -- coapgw "$@"
fi
exec "$@"
