#!/usr/bin/env python3
"""A tiny service manager for tests: socket activation as systemd does it.

    sd_launch.py [--tcp ADDR:PORT]... [--udp ADDR:PORT]... [--names a:b]
                 [--wrong-pid] [--gap-ms MS] [--no-listen] [--unbound]
                 [--udp-connect ADDR:PORT]
                 [--listen-fds TEXT] [--listen-pid-suffix TEXT]
                 --pidfile FILE -- COMMAND...

Binds the sockets (TCP ones listening), then starts COMMAND with them at
descriptors 3, 4, ... (in the order given: TCP first, then UDP), with
LISTEN_FDS, LISTEN_FDNAMES (when --names) and LISTEN_PID set in the child
to its own pid just before exec (--wrong-pid: to ours instead, which the
child must ignore). The sockets stay open here for the whole run, so while
no COMMAND runs, connections wait in the listen backlog and datagrams in
the receive buffer.

Hostile managers, for the error cases: --no-listen leaves the TCP sockets
unlistened, --unbound leaves the UDP ones unbound, --udp-connect connects
the UDP ones to one peer, --listen-fds sets LISTEN_FDS to TEXT,
--listen-pid-suffix appends TEXT to LISTEN_PID.

Signals: SIGUSR1 restarts COMMAND gracefully (SIGTERM, wait, --gap-ms,
start again), SIGUSR2 the hard way (SIGKILL); SIGTERM ends COMMAND and this
launcher. FILE always holds the running COMMAND's pid.
"""
import argparse
import os
import signal
import socket
import sys
import time


def bind(kind, spec, args):
    host, _, port = spec.rpartition(":")
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_STREAM or not args.unbound:
        s.bind((host, int(port)))
    if kind == socket.SOCK_STREAM and not args.no_listen:
        s.listen(128)
    if kind == socket.SOCK_DGRAM and args.udp_connect:
        host, _, port = args.udp_connect.rpartition(":")
        s.connect((host.strip("[]"), int(port)))
    return s


def spawn(socks, args):
    pid = os.fork()
    if pid:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % pid)
        os.rename(args.pidfile + ".tmp", args.pidfile)
        return pid
    high = [os.dup2(s.fileno(), 200 + i) for i, s in enumerate(socks)]  # out of the way of 3..
    for i, h in enumerate(high):  # descriptors 3.. in order, inheritable
        os.dup2(h, 3 + i, inheritable=True)
    os.closerange(3 + len(socks), 256)
    env = dict(os.environ)
    env["LISTEN_FDS"] = args.listen_fds or str(len(socks))
    env["LISTEN_PID"] = str(os.getppid() if args.wrong_pid else os.getpid())
    env["LISTEN_PID"] += args.listen_pid_suffix
    if args.names:
        env["LISTEN_FDNAMES"] = args.names
    os.execvpe(args.command[0], args.command, env)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tcp", action="append", default=[])
    p.add_argument("--udp", action="append", default=[])
    p.add_argument("--names")
    p.add_argument("--wrong-pid", action="store_true")
    p.add_argument("--no-listen", action="store_true")
    p.add_argument("--unbound", action="store_true")
    p.add_argument("--udp-connect")
    p.add_argument("--listen-fds")
    p.add_argument("--listen-pid-suffix", default="")
    p.add_argument("--gap-ms", type=int, default=0)
    p.add_argument("--pidfile", required=True)
    p.add_argument("command", nargs="+")
    args = p.parse_args()
    socks = [bind(socket.SOCK_STREAM, a, args) for a in args.tcp]
    socks += [bind(socket.SOCK_DGRAM, a, args) for a in args.udp]
    todo = []
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, _f: todo.append(n))
    child = spawn(socks, args)
    while True:
        if not todo:  # until a signal or the child's end
            done, status = os.waitpid(child, os.WNOHANG)
            if done:
                print("sd_launch: child %d ended (status %d)" % (child, status), flush=True)
                return 1
            time.sleep(0.02)
            continue
        sig = todo.pop(0)
        os.kill(child, signal.SIGKILL if sig == signal.SIGUSR2 else signal.SIGTERM)
        _, status = os.waitpid(child, 0)
        print("sd_launch: child %d ended (status %d)" % (child, status), flush=True)
        if sig in (signal.SIGTERM, signal.SIGINT):
            return 0
        time.sleep(args.gap_ms / 1000)
        child = spawn(socks, args)


if __name__ == "__main__":
    sys.exit(main())
