# shellcheck shell=bash
# A small multicast network for the integration tests (sourced after
# lib.sh). Multicast does not work on loopback, so a test that needs it
# runs in a network namespace of its own (the "lab", made by `unshare -n`
# before lib.sh is sourced: see lab_reexec) and builds there:
#
#     lab namespace (the test, the gateway)          member namespaces
#     br0  10.77.0.1/24  fd77::1/64  ---- veth ----  eth0 10.77.0.N  fd77::N
#                                    ---- veth ----  eth0 10.77.0.M  fd77::M
#
# Each member namespace is held by a `sleep` started under `unshare -n` and
# recorded by PID like every process a test starts, so the namespaces end
# with the test. Nothing is connected to the host's network: whatever the
# code under test sends, it cannot leave the machine.

LAB_NET4=10.77.0
LAB_NET6=fd77:
LAB_IF=br0

# lab_reexec "$0" "$@": runs the test again inside a new network namespace
# (once); skips (77) when namespaces cannot be made. Call before lib.sh.
lab_reexec() {
    [ -z "${COAPGW_IN_NETNS:-}" ] || return 0
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    local script=$1
    shift
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$script" "$@"
}

# No duplicate address detection: addresses are usable at once, not after
# a second or two of DAD (this network is ours alone).
lab_sysctls() {
    sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 >/dev/null
}

# lab_init: lo up, the bridge with the lab's addresses, multicast routed to
# it (IPv4 224.0.0.0/4; IPv6 link-local groups need the interface named:
# [ff02::fd%br0]). Snooping off: every port gets every group's traffic.
lab_init() {
    ip link set lo up
    lab_sysctls
    ip link add "$LAB_IF" type bridge mcast_snooping 0
    ip link set "$LAB_IF" up
    ip addr add "$LAB_NET4.1/24" dev "$LAB_IF"
    ip -6 addr add "${LAB_NET6}:1/64" dev "$LAB_IF" nodad
    ip route add 224.0.0.0/4 dev "$LAB_IF"
}

# lab_member NAME N: a namespace with eth0 on the bridge, addresses
# 10.77.0.N and fd77::N, multicast routed to eth0. Sets NS_NAME to the
# PID that holds it (lab_in uses it).
lab_member() {
    local name=$1 n=$2 pid
    unshare -n sleep 3600 &
    pid=$!
    PIDS+=("$pid")
    eval "NS_${name//-/_}=$pid"
    local i
    for i in $(seq 1 50); do # the sleep is in its namespace once it runs
        [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
        sleep 0.02
    done
    ip link add "v$name" type veth peer name eth0 netns "$pid"
    ip link set "v$name" master "$LAB_IF" up
    nsenter -t "$pid" -n bash -c "
        $(declare -f lab_sysctls); lab_sysctls
        ip link set lo up && ip link set eth0 up
        ip addr add $LAB_NET4.$n/24 dev eth0
        ip -6 addr add ${LAB_NET6}:$n/64 dev eth0 nodad
        ip route add 224.0.0.0/4 dev eth0"
}

# lab_in NAME CMD...: runs CMD in member NAME's namespace.
lab_in() {
    local var="NS_${1//-/_}"
    shift
    nsenter -t "${!var}" -n "$@"
}

# lab_start PROC NAME CMD...: lib.sh's start, in member NAME's namespace
# (nsenter execs CMD: the PID recorded is CMD's own).
lab_start() {
    local proc=$1 var="NS_${2//-/_}"
    shift 2
    start "$proc" nsenter -t "${!var}" -n "$@"
}
