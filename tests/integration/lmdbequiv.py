#!/usr/bin/env python3
"""The LMDB reader gives the same answers as the bbolt reader.

For every member db of the fixtures, bolt2lmdb writes its LMDB twin (one named
database per bucket, the same pairs). dump-db must then say the same thing
about both: status (every etcd field), buckets (names and entry counts),
every bucket's dump, keys and hashkv now and at a middle revision, and a
clean check. The twin is then made read-only (directory 0555, file 0444) and
read again: no lock file appears, nothing in it changes.

usage: lmdbequiv.py DUMP_DB BOLT2LMDB FIXTURES_DIR
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# status fields that describe the container, not the etcd state in it
CONTAINER_FIELDS = {"path", "format", "page_size", "file_size", "txid", "meta_in_use", "meta_fallback",
                    # the detectors' verdicts read the data dir around the db
                    # (.snap files, WAL, leftovers), which the twin lacks
                    "verdicts"}


def run(cmd, want_rc=0):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != want_rc:
        sys.exit(f"{' '.join(map(str, cmd))} exited {p.returncode}: {p.stderr}")
    return p.stdout


def answers(dump_db, db, mid_rev):
    """Everything dump-db says about db that should not depend on the format."""
    status = json.loads(run([dump_db, "-o", "json", "status", str(db)]))
    got = {"status": {k: v for k, v in status.items() if k not in CONTAINER_FIELDS}}
    buckets = json.loads(run([dump_db, "-o", "json", "buckets", str(db)]))["buckets"]
    got["buckets"] = [(b["name"], b["entries"]) for b in buckets]
    for b in buckets:
        # value_offset is where the bytes sit in this file: the one field that must differ
        rows = [json.loads(line) for line in run([dump_db, "-o", "json", "dump", b["name"], str(db)]).splitlines()]
        for row in rows:
            row.pop("value_offset", None)
        got["dump " + b["name"]] = rows
    got["keys"] = run([dump_db, "-o", "json", "keys", str(db)])
    got["hashkv"] = json.loads(run([dump_db, "-o", "json", "hashkv", str(db)]))
    if mid_rev:
        got["keys@mid"] = run([dump_db, "-o", "json", "--rev", str(mid_rev), "keys", str(db)])
        got["hashkv@mid"] = json.loads(run([dump_db, "-o", "json", "--rev", str(mid_rev), "hashkv", str(db)]))
    run([dump_db, "check", str(db)])
    return got, status


def snapshot(d):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(Path(d).iterdir())}


def damaged(db):
    """A member dir its fixture's truth.json says was damaged on purpose
    (cause-damaged-page): no clean twin can be made of it."""
    truth = db.parents[3] / "truth.json"
    if not truth.is_file():
        return False
    m = json.loads(truth.read_text()).get("members", {}).get(db.parents[2].name, {})
    return bool(m.get("damaged"))


def main():
    dump_db, bolt2lmdb, fixtures = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    dbs = sorted(db for db in fixtures.glob("*/node*/member/snap/db") if not damaged(db))
    if not dbs:
        sys.exit(f"no member dbs under {fixtures}")
    failures = []
    with tempfile.TemporaryDirectory(prefix="kvf-lmdbequiv-") as tmp:
        for db in dbs:
            label = f"{db.parents[3].name}/{db.parents[2].name}"
            twin = Path(tmp) / label.replace("/", "-")
            run([bolt2lmdb, str(db), str(twin)])
            # bolt2lmdb used liblmdb to write; the reader must not need its lock file
            (twin / "lock.mdb").unlink()
            os.chmod(twin / "data.mdb", 0o444)
            os.chmod(twin, 0o555)
            before = snapshot(twin)

            status = json.loads(run([dump_db, "-o", "json", "status", str(db)]))
            rev, compact = status["revision"], status["compact_revision"] or 0
            mid = (compact + rev) // 2 if rev > compact + 1 else 0
            bolt, _ = answers(dump_db, db, mid)
            lmdb, lstatus = answers(dump_db, twin, mid)
            if lstatus["format"] != "lmdb":
                failures.append(f"{label}: twin read as {lstatus['format']}")
            for what in bolt:
                if bolt[what] != lmdb.get(what):
                    failures.append(f"{label}: {what} differs between bbolt and LMDB:\n"
                                    f"  bbolt {str(bolt[what])[:300]}\n  lmdb  {str(lmdb.get(what))[:300]}")
            if snapshot(twin) != before:
                failures.append(f"{label}: reading the LMDB twin changed its directory")
            os.chmod(twin, 0o755)
            print(f"{label}: {len(bolt)} answers equal (revision {rev}, middle {mid})")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
