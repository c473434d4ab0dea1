#!/usr/bin/env python3
"""dump-db against backend dbs a real 3-member etcd cluster wrote during this test.

The test writes a varied workload through all three members (puts with and
without a lease, overwrites, a single and a range delete, a txn, binary keys
and values through etcdctl and through the gRPC gateway, an empty value),
compacts in the middle, writes more, and captures what each live member
reports: `get --prefix "" --consistency=s` now and at two past revisions,
`endpoint hashkv` now and at past revisions, `endpoint status`. It stops the
cluster by PID and checks that dump-db, run on each member's data dir, gives
the same answers and changes no file of the data dir.

etcd 3.4 facts the expectations rest on (sources: etcd 3.4.23):
- consistent_index (meta bucket) is not the applied index: it is written only
  together with a change of the mvcc store (mvcc/kvstore_txn.go,
  storeTxnWrite.End saves it only when the txn has changes) or of the auth
  store, or by kv Commit at a raft snapshot (10000s of entries away here).
  A lease grant, a compaction or a leader's empty entry advance the applied
  index and leave consistent_index behind. The workload therefore ends with
  a put followed by a lease grant: consistent_index must equal the raft
  index of that put (read from the WAL with dump-wal), one less than the
  applied index endpoint status reports.
- HashByRev (mvcc/kvstore.go) refuses rev <= compact revision
  (ErrCompacted), while Range refuses only rev < compact revision: at the
  compaction revision itself `get --rev` answers and `hashkv --rev` does not.
  Below the compaction, HashByRev hashes only the revisions in
  kvindex.Keep(rev): a key kept by the compaction and overwritten or deleted
  afterwards drops out of the hash at later revisions, which is why the
  workload overwrites and deletes such keys after compacting.
- Requests without auth add no raft entries for reads, status or hashkv, so
  the captures after the last write see the state dump-db reads.

What differs from 3.5 on (the test takes the version as its argument, or
$KVF_LIVE_VERSION; sources 3.5.35, 3.6.16, 3.7.3):
- consistent_index and term are written by a backend hook before every
  batch commit (OnPreCommitUnsafe), from the index of the last entry
  applied, whatever it changed: after a clean stop consistent_index is the
  applied index endpoint status reported (the lease grant's), and meta
  term the raft term. meta confState holds the voters (the member IDs).
- 3.6+ write meta storageVersion ("3.6.0"), and endpoint status reports it.
- 3.5.10+ answer hashkv at the compaction revision itself (hashByRev
  refuses only rev < compactRev), from the hash the compaction stored in
  memory: it covers the revisions up to C as they were before compacting,
  with the previous compaction (none: -1) as its compact_revision. It
  cannot be recomputed from the compacted db: dump-db answers, on a db
  with meta term (3.5+), what they compute from the db once restarted
  (compact_revision C), and must then give the same; on a 3.4 db it
  refuses, as 3.4 does (db/version.h kvf_hashkv_at_compaction_ok; the
  data cannot tell 3.5.0-3.5.9, which refuse, from 3.5.10+).
- Every version serves HTTP /version: "etcdcluster" is the cluster version
  that the cluster bucket holds.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from livecheck import (check, etcd_version_arg, member_logs, report,  # noqa: E402
                       start_cluster, timings)

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DUMP_WAL = str(BUILD / "dump-wal" / "dump-wal")


def b(s):
    return s if isinstance(s, bytes) else s.encode()


def ctl_raw(c, i, *args, input=None):
    """etcdctl with byte arguments (non-UTF-8 keys/values); stdout bytes."""
    m = c.member(i)
    argv = [b(c.etcdctl), b"--endpoints", b(m.endpoint), b"--command-timeout=10s",
            b"--dial-timeout=5s", *map(b, args)]
    p = subprocess.run(argv, input=input, capture_output=True, env=c._env, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"etcdctl {args!r} on node{i}: exit {p.returncode}: {p.stderr[-500:]!r}")
    return p.stdout


def gateway_put(c, i, key, value):
    """Put through member i's gRPC gateway (JSON, bytes base64): the only
    way to send a key with a NUL byte, which no argv can carry."""
    body = json.dumps({"key": base64.b64encode(key).decode(),
                       "value": base64.b64encode(value).decode()}).encode()
    req = urllib.request.Request(c.member(i).client_url + "/v3/kv/put", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as r:
        return json.loads(r.read())


def kvs_of(doc):
    """etcdctl get -w json -> [(key, create, mod, version, lease, value)] bytes."""
    d = lambda v: base64.b64decode(v) if v else b""
    return [(d(k["key"]), int(k["create_revision"]), int(k["mod_revision"]), int(k["version"]),
             int(k.get("lease", 0)), d(k.get("value"))) for k in doc.get("kvs", [])]


def ours_bytes(v):
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()


def dump_db(*args, rc=0):
    p = subprocess.run([DUMP_DB, *map(str, args)], capture_output=True, text=True, timeout=120)
    check(p.returncode == rc, f"dump-db {' '.join(map(str, args))}: exit {p.returncode}, want {rc}; "
          f"stderr: {p.stderr.strip()[:300]}")
    return p


def dump_db_keys(*args):
    p = dump_db("-o", "json", "keys", *args)
    return [(ours_bytes(k["key"]), k["create_revision"], k["mod_revision"], k["version"],
             int(k["lease"]), ours_bytes(k["value"])) for k in map(json.loads, p.stdout.splitlines())
            if k]


def tree_fingerprint(d):
    """Every file under a data dir: sha256, size, mtime; plus the file list,
    so that a lock or temp file created beside the db shows up too."""
    out = {}
    for p in sorted(Path(d).rglob("*")):
        st = p.lstat()
        if p.is_file():
            out[str(p.relative_to(d))] = (hashlib.sha256(p.read_bytes()).hexdigest(),
                                          st.st_size, st.st_mtime_ns)
        else:
            out[str(p.relative_to(d))] = ("dir", st.st_mtime_ns)
    return out


class Workload:
    """Writes, spread over the members; remembers revisions it needs."""

    def __init__(self, c):
        self.c = c
        self.n = 0

    def via(self):
        self.n += 1
        return 1 + self.n % 3

    def put(self, key, value, lease=None, member=None):
        m = member or self.via()
        args = ([f"--lease={lease:x}"] if lease is not None else [])
        out = json.loads(ctl_raw(self.c, m, "-w", "json", "put", *args, "--", key, value))
        return int(out["header"]["revision"])

    def delete(self, key, prefix=False, member=None):
        m = member or self.via()
        out = json.loads(ctl_raw(self.c, m, "-w", "json", "del", *(["--prefix"] if prefix else []),
                                 "--", key))
        return int(out.get("deleted", 0)), int(out["header"]["revision"])


def run_workload(c, w):
    marks = {}
    for n in range(1, 11):
        w.put(f"/a/{n:02d}", f"v{n:02d}")
    marks["lease"] = lease = c.lease_grant(2, 3600)
    w.put("/lease/held", "leased-1", lease=lease, member=3)
    w.put("/lease/held2", "leased-2", lease=lease, member=1)
    w.put("/a/02", "v02-second", member=2)
    w.put("/a/02", "v02-third", member=3)
    check(w.delete("/a/03", member=1)[0] == 1, "delete /a/03")
    for n in range(1, 6):
        w.put(f"/r/{n}", f"range-{n}")
    w.put(b"\xff\xfebin", b"\x80\x81val\xff", member=3)            # not UTF-8, via argv
    r = gateway_put(c, 1, b"\x00nul\xffkey", b"\x00\x01\xfe\x00")  # NUL bytes, via the gateway
    marks["gateway_rev"] = int(r["header"]["revision"])
    w.put("/empty", "", member=2)
    resp = c.txn(3, ['value("/a/01") = "v01"'],
                 ["put /tx/ok yes", "del /a/04", "put /a/05 v05-txn"], ["put /tx/else no"])
    check(resp.get("succeeded") is True, f"txn took its success branch: {resp}")
    deleted, rev = w.delete("/r/", prefix=True, member=2)
    check(deleted == 5, f"range delete /r/ removed {deleted}, want 5")
    # compact at the range delete's revision: five tombstones at exactly C
    marks["compact"] = rev
    w.put("/a/08", "v08-before-compact-hash")
    ctl_raw(c, 1, "compaction", str(rev))
    # after the compaction: overwrite and delete keys the compaction kept
    marks["after_compact_first"] = w.put("/a/06", "v06-after-compact", member=1)
    for n in range(1, 4):
        w.put(f"/b/{n:02d}", f"b{n:02d}")
    marks["middle"] = w.put("/a/01", "v01-second", member=3)
    check(w.delete("/a/07", member=2)[0] == 1, "delete /a/07 after the compaction")
    check(w.delete("/lease/held2", member=3)[0] == 1, "delete leased /lease/held2")
    w.put(b"\xff\xfebin", b"", member=1)                           # binary key, now empty
    w.put("/a/09", "v09-second")
    marks["last_put_rev"] = w.put("/final/put", "last mvcc change", member=2)
    # a raft entry that changes no mvcc state: consistent_index stays behind
    marks["lease2"] = c.lease_grant(1, 7200)
    return marks


def main():
    t0 = time.monotonic()
    version = etcd_version_arg()
    c, rc = start_cluster(version, size=3)
    if c is None:
        return rc
    with c:
        timings["start"] = time.monotonic() - t0
        t = time.monotonic()
        w = Workload(c)
        marks = run_workload(c, w)
        timings["workload"] = time.monotonic() - t
        C, M = marks["compact"], marks["middle"]
        status = c.wait_converged()
        head = status[1]["header"]["revision"]
        check(head == marks["last_put_rev"], f"head revision {head} is the last put's {marks['last_put_rev']}")
        check(C < marks["after_compact_first"] < M < head, f"revisions in order: {marks}, head {head}")

        live = {}
        for i in (1, 2, 3):
            L = live[i] = {}
            L["get"] = json.loads(ctl_raw(c, i, "-w", "json", "get", "--prefix", "--consistency=s", "--", ""))
            L["get_a"] = json.loads(ctl_raw(c, i, "-w", "json", "get", "--prefix", "--consistency=s", "--", "/a/"))
            for r in (C, C + 1, M):
                L[f"get@{r}"] = json.loads(ctl_raw(c, i, "-w", "json", "get", "--prefix", "--consistency=s",
                                                   f"--rev={r}", "--", ""))
            for r in (0, C + 1, M, head):
                L[f"hash@{r}"] = c.hashkv(i, r)
            p = c.ctl(i, "-w", "json", "endpoint", "hashkv", f"--rev={C}", check=False)
            if c.bins.release >= (3, 5, 10):
                h = json.loads(p.stdout)[0]["HashKV"] if p.returncode == 0 else {}
                check(h.get("compact_revision") == -1, f"node{i}: etcd {c.version} answers hashkv "
                      f"at the compaction revision {C} from the compaction's own hash: {p.stdout}")
            else:
                check(p.returncode != 0 and "compacted" in p.stderr,
                      f"node{i}: etcd refuses hashkv at the compaction revision {C}: {p.returncode}")
            L["status"] = c.status(i)
            with urllib.request.urlopen(c.member(i).client_url + "/version", timeout=10) as r:
                L["version"] = json.loads(r.read())
        after = c.wait_converged()
        check(all(after[i]["raftIndex"] == status[i]["raftIndex"] for i in (1, 2, 3)),
              "reads, status and hashkv added no raft entries")
        applied = {i: after[i]["raftAppliedIndex"] for i in (1, 2, 3)}
        ids = {i: after[i]["header"]["member_id"] for i in (1, 2, 3)}
        # the three members agree while live: the dbs must too
        for key in ("get", f"get@{M}"):
            check(kvs_of(live[1][key]) == kvs_of(live[2][key]) == kvs_of(live[3][key]),
                  f"live members disagree on {key}")
        check(len({live[i]["hash@0"]["hash"] for i in (1, 2, 3)}) == 1, "live hashes agree")
        want_keys = {k[0] for k in kvs_of(live[1]["get"])}
        check({b"\x00nul\xffkey", b"\xff\xfebin", b"/empty", b"/tx/ok", b"/final/put"} <= want_keys
              and not want_keys & {b"/a/03", b"/a/04", b"/a/07", b"/r/1", b"/tx/else", b"/lease/held2"},
              f"the workload left the keys it should: {sorted(want_keys)}")
        check(kvs_of(live[1]["get@" + str(M)]) != kvs_of(live[1]["get"]), "the middle revision differs from head")

        t = time.monotonic()
        codes = c.stop_all()
        timings["stop_all"] = time.monotonic() - t
        check(sorted(codes) == [1, 2, 3] and all(rc == -15 for rc in codes.values()),
              f"every member stopped on SIGTERM: {codes}")

        t = time.monotonic()
        for i in (1, 2, 3):
            d = c.data_dir(i)
            before = tree_fingerprint(d)
            L = live[i]

            st = json.loads(dump_db("-o", "json", "status", d).stdout)
            # the WAL says at which raft index the last put was applied
            p = subprocess.run([DUMP_WAL, "-o", "json", "--no-snap", "--key-prefix", "/final/", str(d)],
                               capture_output=True, text=True, timeout=120)
            ents = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
            ents = [e for e in ents if e.get("record") == "entry"]
            last_put_index = ents[-1]["index"] if len(ents) == 1 else None
            check(last_put_index is not None, f"node{i}: one WAL entry for /final/put: {len(ents)}")
            if c.bins.minor >= (3, 5):
                check(st["consistent_index"] == applied[i],
                      f"node{i}: consistent_index {st['consistent_index']} is not the applied index "
                      f"{applied[i]} (etcd {c.version} saves it at every commit)")
                check(st.get("term") == L["status"]["raftTerm"],
                      f"node{i}: meta term {st.get('term')}, etcd's raft term {L['status']['raftTerm']}")
                # dump-db gives confState's member ids in hex, as etcdctl does
                cs = st.get("conf_state") or {}
                check(sorted(int(v, 16) for v in cs.get("voters", [])) == sorted(ids.values()),
                      f"node{i}: confState {st.get('conf_state')}, member ids {sorted(ids.values())}")
            else:
                check(st["consistent_index"] == last_put_index,
                      f"node{i}: consistent_index {st['consistent_index']} is not the index of the last "
                      f"mvcc change {last_put_index} (applied index {applied[i]})")
                check(st.get("term") is None and not st.get("conf_state"),
                      f"node{i}: etcd 3.4 writes no meta term or confState: {st.get('term')}, "
                      f"{st.get('conf_state')}")
            # endpoint status's storageVersion is etcd's DetectSchemaVersion of
            # the db (server.go StorageVersion): meta/storageVersion, or 3.5.0
            # from term before the monitor has written the key
            # (3.5's status has no storageVersion: its db says 3.5 by its term;
            # 3.4's neither, and its db has no term)
            want_schema = (L["status"].get("storageVersion") if c.bins.minor >= (3, 6) else
                           "3.5.0" if c.bins.minor == (3, 5) else None)
            check(st["schema"]["version"] == want_schema,
                  f"node{i}: schema {st['schema']}, endpoint status storageVersion "
                  f"{L['status'].get('storageVersion')} (etcd {c.version})")
            check(st.get("storage_version") in (None, L["status"].get("storageVersion")),
                  f"node{i}: meta storageVersion {st.get('storage_version')}, endpoint status says "
                  f"{L['status'].get('storageVersion')}")
            check(st.get("cluster_version") == L["version"]["etcdcluster"],
                  f"node{i}: cluster version {st.get('cluster_version')}, /version says {L['version']}")
            check(last_put_index is not None and applied[i] == last_put_index + 1,
                  f"node{i}: applied index {applied[i]} is the lease grant right after the last put "
                  f"{last_put_index}")
            want = {"revision": L["status"]["header"]["revision"], "compact_revision": C,
                    "scheduled_compact_revision": C, "auth_enabled": False, "leases": 2,
                    "live": len(L["get"].get("kvs", []))}
            got = {k: st.get(k) for k in want}
            got["live"] = st["keys"]["live"]
            check(got == want, f"node{i}: status {got}, want {want}")
            got_m = sorted((int(m["id"], 16), m["name"]) for m in st["members"])
            check(got_m == sorted((ids[j], f"node{j}") for j in (1, 2, 3)),
                  f"node{i}: members {got_m}, endpoint status ids {ids}")
            leases = [json.loads(l) for l in dump_db("-o", "json", "dump", "lease", d).stdout.splitlines() if l]
            got_l = sorted((int(x["id"], 16), x["ttl"]) for x in leases)
            check(got_l == sorted([(marks["lease"], 3600), (marks["lease2"], 7200)]),
                  f"node{i}: leases {got_l}")

            got_kv = dump_db_keys(d)
            want_kv = kvs_of(L["get"])
            check(got_kv == want_kv, f"node{i}: keys differ from etcdctl get: "
                  f"{[(g, w) for g, w in zip(got_kv, want_kv) if g != w][:2] or (len(got_kv), len(want_kv))}")
            check(dump_db_keys("--prefix", "/a/", d) == kvs_of(L["get_a"]), f"node{i}: keys --prefix /a/")
            for r in (C, C + 1, M):
                got_r = dump_db_keys("--rev", r, d)
                check(got_r == kvs_of(L[f"get@{r}"]), f"node{i}: keys --rev {r} differ from etcdctl get "
                      f"--rev {r}: {len(got_r)} vs {len(kvs_of(L[f'get@{r}']))}")
            dump_db("-o", "json", "keys", "--rev", C - 1, d, rc=2)

            for r in (0, C + 1, M, head):
                hk = json.loads(dump_db("-o", "json", "hashkv", *(["--rev", r] if r else []), d).stdout)
                lv = L[f"hash@{r}"]
                got_h = (hk["hash"], hk["compact_revision"], hk["current_revision"])
                want_h = (lv["hash"], lv["compact_revision"], lv["header"]["revision"])
                check(got_h == want_h, f"node{i}: hashkv --rev {r}: {got_h}, etcd said {want_h}")
            hashes = {L[f"hash@{r}"]["hash"] for r in (C + 1, M, head)}
            check(len(hashes) == 3, f"node{i}: the three revisions hash differently (else the check is weak)")
            if c.bins.minor >= (3, 5):
                hk = json.loads(dump_db("-o", "json", "hashkv", "--rev", C, d).stdout)
                check(hk["compact_revision"] == C, f"node{i}: dump-db hashkv --rev {C} is computed "
                      f"from the db, with compact revision {C}: {hk}")
            else:
                dump_db("-o", "json", "hashkv", "--rev", C, d, rc=2)

            for cmd in (["buckets"], ["dump", "key"], ["dump", "meta"], ["pages"], ["check"]):
                dump_db("-o", "json", *cmd, d)
                dump_db(*cmd, d)
            after_fp = tree_fingerprint(d)
            check(after_fp == before, f"node{i}: dump-db changed the data dir: "
                  f"{sorted(k for k in set(before) | set(after_fp) if before.get(k) != after_fp.get(k))}")
        timings["dump-db checks"] = time.monotonic() - t

        # Restarted, a member has no compaction hash in memory: 3.5.10+
        # compute hashkv at the compaction revision from the db (as dump-db
        # could), with compact_revision C; 3.4 and 3.5 up to 3.5.9 refuse.
        t = time.monotonic()
        c.restart_all()
        at_c = {}
        for i in (1, 2, 3):
            p = c.ctl(i, "-w", "json", "endpoint", "hashkv", f"--rev={C}", check=False)
            at_c[i] = json.loads(p.stdout)[0]["HashKV"] if p.returncode == 0 else p.stderr.strip()[-200:]
        codes = c.stop_all()
        check(all(rc == -15 for rc in codes.values()), f"stop after the restart: {codes}")
        for i in (1, 2, 3):
            if c.bins.release >= (3, 5, 10):
                ok = isinstance(at_c[i], dict) and at_c[i]["compact_revision"] == C
                check(ok, f"node{i}: restarted etcd {c.version} answers hashkv --rev {C}: {at_c[i]}")
                p = dump_db("-o", "json", "hashkv", "--rev", C, c.data_dir(i))
                hk = json.loads(p.stdout) if p.returncode == 0 else {}
                got_h = (hk.get("hash"), hk.get("compact_revision"))
                want_h = (at_c[i]["hash"], at_c[i]["compact_revision"]) if ok else None
                check(got_h == want_h, f"node{i}: dump-db hashkv --rev {C} (the compaction revision) "
                      f"after the restart: {got_h if p.returncode == 0 else 'exit ' + str(p.returncode)}, "
                      f"etcd {c.version} said {want_h}")
            else:
                check(isinstance(at_c[i], str) and "compacted" in at_c[i],
                      f"node{i}: restarted etcd {c.version} refuses hashkv --rev {C}: {at_c[i]}")
                # a 3.5.0-3.5.9 db looks like 3.5.10+'s: dump-db answers as those do
                dump_db("-o", "json", "hashkv", "--rev", C, c.data_dir(i),
                        rc=0 if c.bins.minor >= (3, 5) else 2)
        timings["restart + hashkv at C"] = time.monotonic() - t
        member_logs(c, 10)
    timings["total"] = time.monotonic() - t0
    return report(f"revisions: compact {marks['compact']}, middle {marks['middle']}, head {head}; "
          f"live keys {len(want_keys)}; applied index {applied}", known=("dump_db_live", c.bins.name))


if __name__ == "__main__":
    sys.exit(main())
