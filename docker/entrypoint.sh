#!/bin/sh
# The image's entry point: the gateway by default, any other program on demand.
#   (no arguments)         coapgw, with --config /etc/coapgw/coapgw.json when
#                          that file is there (the embedded defaults otherwise)
#   -FLAG ...              the same, with these flags after it (flags win)
#   PROGRAM ARGS...        that program (coapgw-sim, coapgw-client, sh, ...)
# exec: the program becomes PID 1 and gets `docker stop`'s SIGTERM itself.
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
    conf=/etc/coapgw/coapgw.json
    if [ -f "$conf" ]; then
        set -- --config "$conf" "$@"
    elif [ -e "$conf" ]; then
        # docker run -v makes a directory when the host file is missing:
        # say so rather than run on the defaults.
        echo "coapgw: $conf is not a file (was the file missing on the host?)" >&2
        exit 2
    fi
    set -- coapgw "$@"
fi
exec "$@"
