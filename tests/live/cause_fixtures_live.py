#!/usr/bin/env python3
"""make_cause_fixtures.py still reproduces on real etcd 3.4.23 (Debian's):
two cases are made again into a temp dir and checked like the committed
fixtures (tests/integration/cause_fixtures.py: every member dir read, dump-db's
numbers equal etcd's answers), and the reproductions must have happened:

- txn-compacted-range-3.4 (etcd 18667): the member that served the txn is
  one revision behind the others, and the txn is the next WAL entry;
- stale-copy-3.4: etcd refuses to run node3 on its older copy (it exits).

usage: cause_fixtures_live.py DUMP_WAL DUMP_DB
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DUMP_WAL, DUMP_DB = sys.argv[1], sys.argv[2]
CASES = ["txn-compacted-range-3.4", "stale-copy-3.4"]


def main():
    failures = []
    work = Path(tempfile.mkdtemp(prefix="kvf-cause-live-", dir=os.environ.get("KVF_FIXTURE_TMP", "/var/tmp")))
    try:
        td = work / "td" / "fixtures"
        fx = work / "fx"
        td.mkdir(parents=True)
        fx.mkdir()
        p = subprocess.run([sys.executable, str(HERE / "make_cause_fixtures.py"), "--out", str(td), *CASES],
                           capture_output=True, text=True, timeout=900)
        print(p.stdout[-3000:], p.stderr[-2000:])
        if p.returncode != 0:
            return 1
        for t in sorted(td.glob("cause-*.tar.gz")):
            subprocess.run(["tar", "-xzf", str(t), "-C", str(fx)], check=True, timeout=300)
        q = subprocess.run([sys.executable, str(HERE.parent / "integration" / "cause_fixtures.py"),
                            DUMP_WAL, DUMP_DB, str(fx), str(td.parent)], capture_output=True, text=True,
                           timeout=600)
        print(q.stdout[-3000:], q.stderr[-1000:])
        if q.returncode != 0:
            failures.append("cause_fixtures.py failed on the fixtures made now")
        t = json.loads((fx / "cause-txn-compacted-range-3.4" / "truth.json").read_text())
        e = {k: v["etcd"] for k, v in t["members"].items()}
        if not (e["node1"]["revision"] - e["node2"]["revision"] == 1 == e["node3"]["revision"] - e["node2"]["revision"]):
            failures.append(f"18667 not reproduced: revisions {[(k, v['revision']) for k, v in e.items()]}")
        ev = next(x for x in t["events"] if x["what"].startswith("txn via node2"))
        if ev["raft_index_after"] != ev["raft_index_before"] + 1 or "compacted" not in json.dumps(ev["response"]):
            failures.append(f"the txn: {ev}")
        t = json.loads((fx / "cause-stale-copy-3.4" / "truth.json").read_text())
        if t["restart_on_copy"]["outcome"] != "exited":
            failures.append(f"etcd ran node3 on the older copy: {t['restart_on_copy']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
