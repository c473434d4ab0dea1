#!/usr/bin/env python3
"""dump-db against what a live 3-member etcd said about its own data.

The test writes a varied load through different members (puts with and
without a lease, overwrites, a single and a range delete, a txn, keys and
values that are not UTF-8, an empty value), compacts at a middle revision,
writes more, and records while the cluster runs:
- `etcdctl endpoint hashkv` of each member, at the head and at revisions
  between the compaction and the head (`--rev`);
- `etcdctl get --prefix "" -w json --consistency=s` of each member, at the
  head and at a revision between the compaction and the head;
- `etcdctl endpoint status` of each member.
After the members are stopped (by PID), dump-db on each data dir must give
the same answers, change nothing in the directory, and find the db sound.

consistent_index: etcd 3.4 saves it with each write that changes the key
space (mvcc storeTxnWrite.End), so it is the raft index of the last such
entry, not raftAppliedIndex (Authenticate, lease and no-op entries come
later). The test knows which index that is from the WAL: dump-wal gives the
index of the last put/delete/txn entry, which must equal it on every member.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import Cluster, EtcdMissing  # noqa: E402

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DUMP_WAL = str(BUILD / "dump-wal" / "dump-wal")

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def run(*argv, want=0):
    p = subprocess.run(list(argv), capture_output=True, timeout=120)
    if p.returncode != want:
        raise SystemExit(f"{' '.join(map(str, argv))}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode()


def ours_bytes(v):
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()


def kvs_of_etcdctl(doc):
    return [(base64.b64decode(kv["key"]), kv["create_revision"], kv["mod_revision"], kv["version"],
             kv.get("lease", 0), base64.b64decode(kv.get("value", ""))) for kv in doc.get("kvs", [])]


def kvs_of_dump_db(out):
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    return [(ours_bytes(r["key"]), r["create_revision"], r["mod_revision"], r["version"],
             int(r["lease"]), ours_bytes(r["value"])) for r in rows]


def etcd_get_all(c, i, rev=None):
    """Every key of member i, from its own store (etcdctl turns the empty
    key with --prefix into the whole key space)."""
    extra = [f"--rev={rev}"] if rev else []
    return c.ctl_json(i, "get", "--prefix", "--consistency=s", *extra, "--", "")


def fingerprint(d):
    out = {}
    for p in sorted(Path(d).rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(d))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


def workload(c):
    lease = c.lease_grant(2, 3600)
    for k in range(20):
        c.put(1 + k % 3, f"/registry/pods/default/web-{k}", f'{{"kind":"Pod","n":{k}}}')
    c.put(1, "/leased/a", "with a lease", lease=lease)
    c.put(2, "/empty", "")
    for k in range(0, 20, 3):
        c.put(3, f"/registry/pods/default/web-{k}", f'{{"kind":"Pod","n":{k},"v":2}}')
    c.delete(1, "/registry/pods/default/web-1")
    c.delete(2, "/registry/pods/default/web-1", prefix=True)   # web-1, web-10..web-19
    c.txn(3, ['value("/empty") = ""'], ["put /txn/yes 1", "del /registry/pods/default/web-2"], ["put /txn/no 1"])
    # not UTF-8: surrogateescape makes these str arguments the raw bytes in argv
    c.ctl(1, "put", "--", b"/bin/\xff\xfe".decode("utf-8", "surrogateescape"),
          b"\x01\x02\xc0\x7f".decode("utf-8", "surrogateescape"))


def main():
    try:
        cluster = Cluster(size=3)
    except EtcdMissing as e:
        raise SystemExit(f"etcd is needed for this test: {e}")
    with cluster as c:
        workload(c)
        c.wait_converged()
        mid = c.status(1)["header"]["revision"]
        compact_at = mid - 10
        c.ctl(1, "compaction", "--physical", str(compact_at))
        for k in range(8):
            c.put(1 + k % 3, f"/after/{k}", "x" * (k * 100))
        c.delete(3, "/after/3")
        sts = c.wait_converged()
        head = sts[1]["header"]["revision"]
        between = (compact_at + head) // 2
        live = {}
        for i in (1, 2, 3):
            live[i] = {
                "get": etcd_get_all(c, i),
                "get_between": etcd_get_all(c, i, between),
                # etcd refuses HashKV at the compaction revision itself (ErrCompacted)
                "hashkv": {r: c.hashkv(i, r) for r in (0, compact_at + 1, between, head)},
                "status": c.status(i),
            }
        c.stop_all()

        for i in (1, 2, 3):
            d = c.data_dir(i)
            before = fingerprint(d)
            st = json.loads(run(DUMP_DB, "-o", "json", "status", str(d)))
            check(st["revision"] == head and st["compact_revision"] == compact_at
                  and st["scheduled_compact_revision"] == compact_at,
                  f"node{i}: revision {st['revision']} (etcd {head}), compaction {st['compact_revision']} "
                  f"(compacted at {compact_at})")
            wal = [json.loads(l) for l in run(DUMP_WAL, "-o", "json", "--kind", "put,delete_range,txn", str(d)).splitlines()]
            last_write = max(r["index"] for r in wal if r.get("index"))
            check(st["consistent_index"] == last_write,
                  f"node{i}: consistent_index {st['consistent_index']} is the index of the last write "
                  f"entry in the WAL ({last_write}; raftAppliedIndex was {live[i]['status']['raftAppliedIndex']})")
            got = kvs_of_dump_db(run(DUMP_DB, "-o", "json", "keys", str(d)))
            want = kvs_of_etcdctl(live[i]["get"])
            check(got == want, f"node{i}: keys at head equal etcdctl get ({len(want)} keys; "
                               f"first difference {next(((g, w) for g, w in zip(got, want) if g != w), None)})")
            got = kvs_of_dump_db(run(DUMP_DB, "-o", "json", "--rev", str(between), "keys", str(d)))
            want = kvs_of_etcdctl(live[i]["get_between"])
            check(got == want, f"node{i}: keys at revision {between} equal etcdctl get --rev ({len(want)} keys)")
            for r, h in live[i]["hashkv"].items():
                args = ["--rev", str(r)] if r else []
                ours = json.loads(run(DUMP_DB, "-o", "json", *args, "hashkv", str(d)))
                check((ours["hash"], ours["compact_revision"]) == (h["hash"], h["compact_revision"]),
                      f"node{i}: hashkv at {r or 'head'} {ours['hash']} equals etcd's {h['hash']}")
            run(DUMP_DB, "check", str(d))
            below = subprocess.run([DUMP_DB, "--rev", str(compact_at - 1), "keys", str(d)],
                                   capture_output=True, text=True, timeout=60)
            check(below.returncode != 0 and "compact" in below.stderr,
                  f"node{i}: keys below the compaction are refused: {below.stderr.strip()}")
            at = subprocess.run([DUMP_DB, "--rev", str(compact_at), "hashkv", str(d)],
                                capture_output=True, text=True, timeout=60)
            check(at.returncode != 0 and "compact" in at.stderr,
                  f"node{i}: hashkv at the compaction revision is refused, as etcd does: {at.stderr.strip()}")
            check(fingerprint(d) == before, f"node{i}: nothing in the data dir changed")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
