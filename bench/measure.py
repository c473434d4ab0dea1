#!/usr/bin/env python3
"""Run one command with stdout to /dev/null and report, on one line:
wall microseconds (monotonic clock), peak RSS in KiB (the kernel's
ru_maxrss, the number GNU time prints as %M), and the peak of RssAnon in
KiB (anonymous memory: heap and stacks, without the pages of mapped files),
sampled from /proc/PID/status every 20 ms (seldom enough not to
compete with the command on a small machine).

    measure.py OUT_FILE COMMAND [ARG...]

Exits with the command's status. Shared by bench/db.sh and bench/diff.sh."""
import os, subprocess, sys, time

out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic_ns()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
anon = 0
status = "/proc/%d/status" % p.pid
while True:
    try:
        with open(status) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]))
                    break
    except OSError:
        pass
    pid, st, ru = os.wait4(p.pid, os.WNOHANG)
    if pid:
        break
    time.sleep(0.02)
t = time.monotonic_ns() - t0
with open(out, "w") as f:
    f.write("%d %d %d\n" % (t // 1000, ru.ru_maxrss, anon))
sys.exit(os.waitstatus_to_exitcode(st))
