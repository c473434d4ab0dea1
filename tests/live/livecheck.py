"""What every live test does around its checks: collect failures instead of
stopping at the first, time the phases, and report once at the end; which
etcd version it runs.

    from livecheck import check, failures, timings, member_logs, report
    version = etcd_version_arg()            # argv[1], $KVF_LIVE_VERSION, or 3.4
    c, rc = start_cluster(version, size=3)  # rc: exit status when c is None
"""
import os
import sys

from etcdcluster import DEFAULT_VERSION, Cluster, EtcdMissing, EtcdVersionMissing

SKIP = 77  # meson's exit status for a skipped test

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


def report(summary, known=None):
    """Print the timings, the test's summary line and every failure; the exit status.

    known: (test name, etcd version name): failures listed for it in
    known_failures.KNOWN are printed as KNOWN and do not fail the test, but
    an entry that matched nothing does (see known_failures.py)."""
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    print(summary)
    entries = []
    if known and os.environ.get("KVF_LIVE_NO_KNOWN") != "1":
        import re
        from known_failures import KNOWN
        entries = [(e[0], re.compile(e[1]), "intermittent" in e[2:])
                   for e in KNOWN.get(tuple(known), [])]
    hit = set()
    real = []
    for f in failures:
        match = [what for what, rx, _ in entries if rx.search(f)]
        if match:
            hit.update(match)
            print(f"KNOWN ({match[0]}; tests/etcd/NOTES-versions.md):", f)
        else:
            real.append(f)
    for what, _, intermittent in entries:
        if what not in hit and not intermittent:
            real.append(f"known failure no longer fails on etcd {known[1]}: {what} "
                        f"(remove it from tests/live/known_failures.py and the notes)")
    for f in real:
        print("FAIL:", f, file=sys.stderr)
    return 1 if real else 0


def etcd_version_arg(argv=None):
    """The etcd version a live test runs: its first argument, else
    $KVF_LIVE_VERSION, else 3.4 (Debian's)."""
    argv = sys.argv[1:] if argv is None else argv
    return argv[0] if argv else os.environ.get("KVF_LIVE_VERSION", DEFAULT_VERSION)


def start_cluster(version, optional=False, **kw):
    """(Cluster, None) or (None, exit status). Debian's 3.4 missing fails
    (as the live tests always did); another version that was not built
    fails with CI=true unless optional, and is skipped (77) elsewhere."""
    try:
        return Cluster(version=version, **kw), None
    except EtcdVersionMissing as e:
        if version != DEFAULT_VERSION and (optional or os.environ.get("CI") != "true"):
            print(f"SKIP: etcd {e.version} is not available: {e.reason}")
            return None, SKIP
        print(f"FAIL: {e}" + (" (CI=true: every required version must be built)"
                              if version != DEFAULT_VERSION else ""), file=sys.stderr)
        return None, 1
    except EtcdMissing as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return None, 1
