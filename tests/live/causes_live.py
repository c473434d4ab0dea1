#!/usr/bin/env python3
"""dump-db verify on a member whose db was replaced by an older copy while
its WAL and raft snapshots went on (issue 13, acceptance: "a db older than
the member's newest raft snapshot"). A real etcd writes every file; the only
step is an operator's: the db is put back from a copy taken earlier.

etcd's own answer is the reference: started on that data dir, it refuses to
run (3.4 recoverSnapshotBackend looks for the db of the snapshot, a
<index>.snap.db, and exits when there is none). dump-db verify must report
the stale db (consistent_index below the newest .snap index) and exit 1;
on the data dir before the swap it must be clean.

usage: causes_live.py [VERSION]   (default 3.4)
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import Cluster, ClusterError  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def verify(path):
    build = Path(os.environ.get("KVF_BUILD", Path(__file__).resolve().parents[2] / "build"))
    p = subprocess.run([str(build / "dump-db" / "dump-db"), "-o", "json", "verify", str(path)],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "3.4"
    with Cluster(1, version=version, snapshot_count=100) as c:
        for n in range(40):
            c.put(1, f"/stale/early/{n:03d}", f"v{n}")
        c.stop_member(1)
        data = Path(c.data_dir(1))
        db = data / "member" / "snap" / "db"
        old = Path(c.dir) / "db.old"
        shutil.copy2(db, old)
        c.restart_member(1)
        for n in range(300):
            c.put(1, f"/stale/late/{n:03d}", f"v{n}")
        c.stop_member(1)
        rc, v, err = verify(data)
        check(rc == 0 and v and not v["stale_db"] and v["checked"]["missing"] == 0 and v["snap"]["index"],
              f"before the swap: verify exit {rc}, stale {v and v['stale_db']}, {err}")
        snaps = sorted(p.name for p in (data / "member" / "snap").glob("*.snap"))
        newest = int(snaps[-1].split("-")[1].split(".")[0], 16) if snaps else 0
        shutil.copy2(old, db)
        rc, v, err = verify(data)
        check(rc == 1, f"after the swap: verify exit {rc}, want 1 ({err})")
        if v:
            check(v["stale_db"] and v["snap"]["index"] == newest and v["consistent_index"] < newest,
                  f"stale db: consistent_index {v['consistent_index']}, snap {v['snap']['index']}, newest {newest}")
            kinds = [x["kind"] for x in v["verdicts"] if x["divergence"]]
            check(kinds == ["stale_db"], f"verdicts {kinds}")
            check(any("refuses to start" in x["headline"] for x in v["verdicts"]), "the verdict says etcd refuses it")
        # etcd's answer on the same dir
        refused = False
        try:
            c.restart_member(1, timeout=30)
        except ClusterError as e:
            refused = True
            log = Path(c.log_path(1)).read_text(errors="replace")
            check("snap.db" in log or "snapshot" in log, f"etcd's log names the snapshot: {str(e)[:300]}")
        check(refused, "etcd started on a db older than its snapshot (expected a refusal)")
        c.stop_member(1)
    for f in failures:
        print("FAIL:", f)
    print(f"causes-live: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
