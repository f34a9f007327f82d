#!/usr/bin/env python3
"""pty_stderr.py OUT ERR CMD...: runs CMD with its stderr on a pseudo-
terminal (so that isatty(2) holds) and its stdout in the file OUT; writes
what the terminal showed to the file ERR (bytes as they came, \\r and
escapes included) and exits with CMD's status. Bounded: 60 s."""
import os
import pty
import select
import sys
import time

out_path, err_path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
master, slave = pty.openpty()
pid = os.fork()
if pid == 0:
    os.close(master)
    os.dup2(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.dup2(slave, 2)
    os.execvp(cmd[0], cmd)
os.close(slave)
shown = b""
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    ready, _, _ = select.select([master], [], [], 0.5)
    if ready:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        shown += data
    elif os.waitpid(pid, os.WNOHANG)[0]:
        break
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
with open(err_path, "wb") as f:
    f.write(shown)
sys.exit(os.waitstatus_to_exitcode(status))
