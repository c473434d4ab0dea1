#!/usr/bin/env python3
"""Run one command with stdout to /dev/null and report, on one line:
wall microseconds (monotonic clock), CPU microseconds (user + system, from
wait4), the peak of RssAnon and the peak of RssFile in KiB, sampled from
/proc/PID/status every 20 ms.

    measure_mem.py OUT_FILE COMMAND [ARG...]

RssAnon is the anonymous memory: the heap (malloc, including its large
mmap'd blocks) and the stacks. RssFile is the resident pages of mapped
files: for a tool that maps the db it is the page cache's memory, shared,
never allocated, and it grows with the part of the file touched (the
kernel's ru_maxrss counts both, which is why it is not reported here).
Exits with the command's status. Used by bench/scale.sh."""
import os, subprocess, sys, time

out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic_ns()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
anon = filepages = 0
status = "/proc/%d/status" % p.pid
while True:
    try:
        with open(status) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]))
                elif line.startswith("RssFile:"):
                    filepages = max(filepages, int(line.split()[1]))
                    break
    except OSError:
        pass
    pid, st, ru = os.wait4(p.pid, os.WNOHANG)
    if pid:
        break
    time.sleep(0.02)
t = time.monotonic_ns() - t0
cpu = int((ru.ru_utime + ru.ru_stime) * 1e6)
with open(out, "w") as f:
    f.write("%d %d %d %d\n" % (t // 1000, cpu, anon, filepages))
sys.exit(os.waitstatus_to_exitcode(st))
