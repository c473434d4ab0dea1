"""What every live test does around its checks: collect failures instead of
stopping at the first, time the phases, and report once at the end.

    from livecheck import check, failures, timings, member_logs, report
"""
import sys

failures = []
timings = {}


def check(cond, what):
    """Record `what` as a failure unless cond; returns cond."""
    if not cond:
        failures.append(what)
    return cond


def member_logs(c, lines):
    """On failure, the tail of every member's etcd log (to stderr)."""
    if failures:
        for m in c.members:
            print(f"--- {m.name} log ({c.log_path(m.index)}):\n{c.log_tail(m.index, lines)}",
                  file=sys.stderr)


def report(summary):
    """Print the timings, the test's summary line and every failure; the exit status."""
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    print(summary)
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0
