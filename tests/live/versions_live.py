#!/usr/bin/env python3
"""Smoke test of the live-test infrastructure on one etcd version.

    versions_live.py VERSION [--optional]     e.g. 3.6
    versions_live.py --upgrade 3.5,3.6,3.7     a rolling upgrade, member by member

It checks etcdcluster.py and tests/etcd/build.sh, not our tools: a
3-member cluster of that version starts, turns auth on, takes writes, adds a
learner and promotes it, compacts, saves a snapshot and stops, and every
assertion is about what etcd itself reports (endpoint status, member list,
hashkv, auth status, `etcdutl snapshot status` on a private copy).

A version that was not built fails the test when CI=true, else skips it
(exit 77, meson's skip) naming the version; --optional (3.5.2) skips it
even in CI.

etcd facts the expectations rest on (3.4.23 … 3.7.3 sources):
- The store revision starts at 1 and every put or effective delete adds 1;
  a compaction keeps the revision. HashKV refuses rev < the compaction
  revision ("mvcc: required revision has been compacted"), and up to 3.5.9
  (3.4.23, 3.5.2) also rev == the compaction revision; 3.5.10+ answer it
  (mvcc hashByRev: `rev < compactRev`), while they still run, with the hash
  the compaction itself stored in memory (hashStorage), whose
  compact_revision is the previous compaction's: -1 for the first.
- A learner answers endpoint status (isLearner true) and appears in member
  list with isLearner; after `member promote` it is a voter like the rest.
- `snapshot save` writes the bbolt file and 32 bytes of sha256 after it,
  so its size % 512 == 32; `etcdutl snapshot status` (3.5+) reports the
  highest main revision in the key bucket, and as totalKey the number of
  live keys from 3.6 on (3.5: every key of every bucket).
- From 3.6 on a member serves HTTP /version with the cluster version, which
  moves to the lowest minor of the members once all run it.
"""
import json
import shutil
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import CtlError, EtcdVersionMissing, etcd_binaries  # noqa: E402
from livecheck import check, member_logs, report, start_cluster, timings, SKIP  # noqa: E402


def http_version(c, i):
    with urllib.request.urlopen(c.member(i).client_url + "/version", timeout=10) as r:
        return json.loads(r.read())


class Model:
    """The store revision etcd must report, from the writes the test made."""

    def __init__(self, c):
        self.c = c
        self.rev = 1
        self.live = set()

    def put(self, i, key, value):
        r = int(self.c.put(i, key, value, user="root")["header"]["revision"])
        self.rev += 1
        self.live.add(key)
        check(r == self.rev, f"put {key} via node{i}: revision {r}, want {self.rev}")
        return r

    def delete(self, i, key):
        n = self.c.delete(i, key, user="root")
        check(n == 1, f"delete {key}: {n} deleted")
        self.rev += 1
        self.live.discard(key)


def keys_ok(b, ss, model):
    """totalKey: live keys from 3.6 on (#19344); 3.5's counts every key of
    every bucket (revisions, meta, auth, members...), more than the live keys."""
    if b.minor >= (3, 6):
        return ss["totalKey"] == len(model.live)
    return ss["totalKey"] > len(model.live)


def converged(c, model, members):
    st = c.wait_converged()
    check(sorted(st) == members, f"running members {sorted(st)}, want {members}")
    revs = {i: s["header"]["revision"] for i, s in st.items()}
    check(set(revs.values()) == {model.rev}, f"endpoint status revisions {revs}, want {model.rev}")
    idx = {i: (s["raftIndex"], s["raftAppliedIndex"]) for i, s in st.items()}
    check(len(set(idx.values())) == 1, f"raft index/applied index differ: {idx}")
    return st


def smoke(version, optional):
    c, rc = start_cluster(version, optional, size=3)
    if c is None:
        return rc
    b = c.bins
    with c:
        timings["start"] = time.monotonic() - T0
        model = Model(c)
        st = converged(c, model, [1, 2, 3])
        ids = c.member_ids()
        check(all(s["version"] == b.version for s in st.values()),
              f"servers report {[s['version'] for s in st.values()]}, binaries are {b.version}")
        check(len(set(ids.values())) == 3, f"member ids {ids}")

        t = time.monotonic()
        c.user_add(1, "root", "rootpw")
        c.user_add(2, "alice", "alicepw")
        c.role_add(3, "alice-rw")
        c.grant_permission(1, "alice-rw", "readwrite", "/alice/", prefix=True)
        c.grant_role(2, "alice", "alice-rw")
        c.enable_auth(3)
        if b.minor >= (3, 5):
            a = c.auth_status(1)
            check(a == {"enabled": True, "authRevision": c.auth_revision},
                  f"auth status {a}, the module computed revision {c.auth_revision}")
        try:
            c.put(1, "/nobody", "x")
            check(False, "a put without credentials was accepted with auth on")
        except CtlError as e:
            check("user name is empty" in e.stderr or "invalid auth token" in e.stderr
                  or "permission denied" in e.stderr, f"unauthenticated put refused: {e}")
        timings["auth"] = time.monotonic() - t

        t = time.monotonic()
        for n in range(1, 10):
            model.put(1 + n % 3, f"/k/{n}", f"v{n}")
        model.delete(2, "/k/3")
        model.put(3, "/k/1", "v1-second")
        r = int(c.put(1, "/alice/a", "by alice", user="alice")["header"]["revision"])
        model.rev += 1
        model.live.add("/alice/a")
        check(r == model.rev, f"alice's put: revision {r}")
        timings["writes"] = time.monotonic() - t

        t = time.monotonic()
        new = c.add_learner(via=2)
        members = c.member_list(1)
        learners = [m for m in members if m.get("isLearner")]
        check(len(members) == 4 and [m["name"] for m in learners] == [f"node{new}"],
              f"member list after member add --learner: {members}")
        s4 = c.status(new)
        check(s4.get("isLearner") is True, f"node{new} endpoint status isLearner: {s4.get('isLearner')}")
        c.promote(new)
        members = c.member_list(new, user="root")
        check(len(members) == 4 and not any(m.get("isLearner") for m in members)
              and {m["name"] for m in members} == {"node1", "node2", "node3", f"node{new}"},
              f"member list after promote: {members}")
        check(int(next(m["ID"] for m in members if m["name"] == f"node{new}")) == c.member(new).id,
              "the promoted member keeps the ID member add gave it")
        check(not c.status(new).get("isLearner"), f"node{new} is a voter after promote")
        model.put(new, "/k/via-promoted", "yes")
        timings["learner"] = time.monotonic() - t

        t = time.monotonic()
        compact = model.rev
        c.ctl(1, "compaction", compact, user="root")
        model.put(2, "/k/after-compact", "1")
        model.delete(3, "/k/2")
        st = converged(c, model, [1, 2, 3, 4])
        hk = {i: c.hashkv(i, 0) for i in (1, 2, 3, 4)}
        check(len({h["hash"] for h in hk.values()}) == 1, f"hashkv differs: {hk}")
        check(all(h["compact_revision"] == compact for h in hk.values()),
              f"hashkv compact_revision {[h['compact_revision'] for h in hk.values()]}, want {compact}")
        has_hr = {"hash_revision" in h for h in hk.values()}
        if b.minor >= (3, 6):
            check(all(h.get("hash_revision") == model.rev for h in hk.values()),
                  f"3.6+ hashkv hash_revision {[h.get('hash_revision') for h in hk.values()]}")
        else:
            check(has_hr == {False}, f"etcd {b.version} hashkv has no hash_revision: {hk[1]}")
        p = c.ctl(1, "-w", "json", "endpoint", "hashkv", f"--rev={compact}", user="root", check=False)
        if b.release >= (3, 5, 10):
            # from the compaction's own hash, kept in memory: it covers the
            # revisions up to C before compacting, so its compact revision is
            # the previous compaction's (none: -1)
            h = json.loads(p.stdout)[0]["HashKV"] if p.returncode == 0 else {}
            check(h.get("compact_revision") == -1,
                  f"etcd {b.version} answers hashkv at the compaction revision from the "
                  f"compaction's hash: {p.stdout} {p.stderr}")
        else:
            check(p.returncode != 0 and "compacted" in p.stderr,
                  f"etcd {b.version} refuses hashkv at the compaction revision: {p.stdout} {p.stderr}")
        p = c.ctl(1, "-w", "json", "endpoint", "hashkv", f"--rev={compact - 1}", user="root", check=False)
        check(p.returncode != 0 and "compacted" in p.stderr, f"hashkv below the compaction revision: {p.stderr}")
        timings["compaction"] = time.monotonic() - t

        t = time.monotonic()
        snap = c.snapshot_save(2, c.dir / "snapshot.db")
        size = snap.stat().st_size
        check(size % 512 == 32, f"snapshot file size {size} % 512 = {size % 512}, want 32 (sha256 after the db)")
        private = Path(c.dir) / "private"
        private.mkdir()
        if b.etcdutl:
            cp = shutil.copy(snap, private / "snapshot.db")
            ss = c.snapshot_status(cp)
            check(ss["revision"] == model.rev and keys_ok(b, ss, model),
                  f"etcdutl snapshot status {ss}, want revision {model.rev}, {len(model.live)} keys")
            print(f"etcdutl snapshot status: {ss}")
        timings["snapshot"] = time.monotonic() - t

        codes = c.stop_all()
        check(sorted(codes) == [1, 2, 3, 4] and all(rc == -15 for rc in codes.values()),
              f"every member stopped on SIGTERM: exit codes {codes}")
        if b.etcdutl:
            db = shutil.copy(c.data_dir(new) / "member" / "snap" / "db", private / "db")
            ss = c.snapshot_status(db)
            check(ss["revision"] == model.rev and keys_ok(b, ss, model),
                  f"etcdutl snapshot status of node{new}'s db copy {ss}")
        member_logs(c, 15)
    timings["total"] = time.monotonic() - T0
    return report(f"etcd {b.version}: revision {model.rev}, compacted at {compact}, "
                  f"{len(model.live)} live keys, 4 members (node{new} added as learner, promoted)")


def upgrade(chain):
    """A rolling upgrade through the versions in chain, one member at a time,
    writing between the steps; then one member is SIGKILLed and restarted."""
    c, rc = start_cluster(chain[0], size=3, snapshot_count=50)
    if c is None:
        return rc
    try:
        bins = [etcd_binaries(v) for v in chain]
    except EtcdVersionMissing:
        c.close()
        return start_cluster(next(v for v in chain if not _built(v)))[1]
    with c:
        model = Model(c)
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        n = 0
        for step, b in enumerate(bins):
            for i in (1, 2, 3):
                if step > 0:
                    c.stop_member(i)
                    c.restart_member(i, version=b.name)
                    check(c.status(i)["version"] == b.version, f"node{i} runs {b.version}")
                for _ in range(30):   # past --snapshot-count: each version snapshots
                    n += 1
                    model.put(1 + n % 3, f"/u/{n % 7}", f"{b.version}-{n}")
            c.use_etcdctl(b.name)
            converged(c, model, [1, 2, 3])
            if b.minor >= (3, 6):
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    v = {i: http_version(c, i)["etcdcluster"] for i in (1, 2, 3)}
                    if set(v.values()) == {f"{b.minor[0]}.{b.minor[1]}.0"}:
                        break
                    time.sleep(1)
                check(set(v.values()) == {f"{b.minor[0]}.{b.minor[1]}.0"},
                      f"cluster version after all run {b.version}: {v}")
            print(f"all members on {b.version}: revision {model.rev}")
        rc = c.kill_member(2)
        check(rc == -9, f"SIGKILL of node2: exit {rc}")
        model.put(1, "/u/while-killed", "x")
        c.restart_member(2)
        converged(c, model, [1, 2, 3])
        hk = {i: c.hashkv(i)["hash"] for i in (1, 2, 3)}
        check(len(set(hk.values())) == 1, f"hashkv after the upgrade: {hk}")
        c.stop_all()
        member_logs(c, 15)
    timings["total"] = time.monotonic() - T0
    return report(f"rolling upgrade {' -> '.join(b.version for b in bins)}: revision {model.rev}")


def _built(v):
    try:
        etcd_binaries(v)
        return True
    except EtcdVersionMissing:
        return False


def main(argv):
    global T0
    T0 = time.monotonic()
    optional = "--optional" in argv
    argv = [a for a in argv if a != "--optional"]
    if len(argv) == 2 and argv[0] == "--upgrade":
        return upgrade(argv[1].split(","))
    if len(argv) == 1:
        return smoke(argv[0], optional)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
