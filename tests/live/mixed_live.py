#!/usr/bin/env python3
"""diff-db on a healthy cluster in the middle of a rolling upgrade.

    mixed_live.py FROM,TO      e.g. 3.6,3.7

Three members of etcd FROM take writes; node2 is restarted on TO's binary
on the same data dir (one step of a rolling upgrade); more writes, a
compaction, a last write; the cluster stops by PID. etcd itself says the
replicas agree: the same HashKV on every member, the same keys and values
(`get --consistency=s`). diff-db, run on the three data dirs with their
WALs, must say so too: exit 0, no divergent key, verdict "agree".

etcd facts the test rests on (3.4.23 … 3.7.3 sources; shared/ETCD-VERSIONS.md
§1.2): what a member writes to meta besides the key space depends on its
version, not on the data: 3.5+ add term and confState to a 3.4 db at their
first commit, 3.6+ storageVersion only once the cluster version is 3.6, and
confState is json.Marshal of raft's ConfState, whose voters come in the
order that raft version keeps them. None of these is in HashKV.

A version that was not built: as the other live tests (fail with CI=true,
else skip with 77).
"""
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import EtcdVersionMissing, etcd_binaries  # noqa: E402
from livecheck import check, failures, member_logs, report, start_cluster, timings  # noqa: E402

BUILD = Path(os.environ["KVF_BUILD"])
DIFF_DB = str(BUILD / "diff-db" / "diff-db")


def kvs(c, i):
    doc = c.ctl_json(i, "get", "--prefix", "--consistency=s", "--", "")
    d = lambda v: base64.b64decode(v) if v else b""
    return [(d(k["key"]), int(k["mod_revision"]), d(k.get("value"))) for k in doc.get("kvs", [])]


def main(argv):
    t0 = time.monotonic()
    if len(argv) != 1 or argv[0].count(",") != 1:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = argv[0].split(",")
    c, rc = start_cluster(old, size=3)
    if c is None:
        return rc
    try:
        etcd_binaries(new)
    except EtcdVersionMissing:
        c.close()
        return start_cluster(new)[1]
    with c:
        timings["start"] = time.monotonic() - t0
        for n in range(10):
            c.put(1 + n % 3, f"/k/{n:02d}", f"v{n}")
        c.stop_member(2)
        c.restart_member(2, version=new)
        versions = {i: c.status(i)["version"] for i in (1, 2, 3)}
        check(versions[2] == etcd_binaries(new).version and versions[1] == versions[3] == c.version,
              f"versions running: {versions}")
        for n in range(10, 20):
            c.put(1 + n % 3, f"/k/{n:02d}", f"v{n}")
        c.delete(3, "/k/03")
        rev = c.status(1)["header"]["revision"]
        c.ctl(1, "compaction", rev - 3)
        c.put(1, "/last", "x")
        st = c.wait_converged()
        hk = {i: c.hashkv(i)["hash"] for i in (1, 2, 3)}
        check(len(set(hk.values())) == 1, f"etcd's hashkv differs between members: {hk}")
        got = {i: kvs(c, i) for i in (1, 2, 3)}
        check(got[1] == got[2] == got[3], "the members serve different keys")
        codes = c.stop_all()
        check(all(rc == -15 for rc in codes.values()), f"stopped on SIGTERM: {codes}")

        args = ["-o", "json"]
        for i in (1, 2, 3):
            args += ["--wal", f"node{i}={c.data_dir(i) / 'member' / 'wal'}"]
        p = subprocess.run([DIFF_DB, *args, *(f"node{i}={c.data_dir(i)}" for i in (1, 2, 3))],
                           capture_output=True, text=True, timeout=120)
        d = json.loads(p.stdout) if p.stdout.strip() else {}
        v = d.get("verdict", {})
        other = {b: [x["key"] for x in rows] for b, rows in d.get("buckets", {}).items()
                 if isinstance(rows, list) and rows}
        check(p.returncode == 0 and not v.get("differ") and not d.get("divergent_keys"),
              f"diff-db on a healthy {old}/{new} cluster: exit {p.returncode}, verdict "
              f"{v.get('explanation')!r}, differing keys outside the key space {other}; "
              f"etcd: hashkv {sorted(set(hk.values()))} on all members, same keys")
        if failures:
            print(p.stdout[:3000], p.stderr[:500], file=sys.stderr)
        member_logs(c, 10)
    timings["total"] = time.monotonic() - t0
    return report(f"mixed {c.version} + {versions.get(2)}: raft index {st[1]['raftIndex']}, "
                  f"hashkv {hk[1]}", known=("mixed_live", argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
