#!/usr/bin/env python3
"""Writes testdata/fixtures/detect-*.tar.gz: real etcd reproductions of what
analysis/membership.c and analysis/detectors.c look for, each with etcd's
own answers in truth/ and a README saying how it was made.

    tests/tools/make-detector-fixtures.py OUT_DIR [CASE...]

Cases (all on 127.0.0.1, tests/live/etcdcluster.py, members stopped by PID):
  zombie       etcd 3.4.23. Cluster A (3 members) takes writes; `etcdctl
               snapshot save` from A's node1; A stops; `etcdctl snapshot
               restore` writes 3 data dirs for cluster B (other names, other
               peer URLs: other member ids); B starts on them and takes
               writes. 3.4's restore copies A's db, bucket members included,
               and writes B's membership into the new WAL and .snap only:
               A's records stay in B's bucket members (the zombies of etcd
               13196 / 20967). truth/: `member list` of A and of B.
  lease-auth   etcd 3.4.23, auth on (root). A lease with a key attached is
               revoked by `etcdctl lease revoke` with no user: etcd proposes
               the revoke with an empty header username, and every member
               refuses it at apply ("user name is empty"). A second lease
               expires by its TTL: the leader revokes it as root. truth/:
               etcdctl's answers, the lease ids, which member took the revoke.
  compaction   etcd 3.5.35. 30000 revisions of 1000 keys, then `etcdctl
               compact` of all of them with --experimental-compaction-batch-
               limit 100 and a 10 ms sleep between batches: node1 is SIGKILLed
               (by PID) 0.5 s after etcdctl returns, while it is still
               compacting. truth/: the compaction revision, each member's
               status before the kill.
  txn-range    etcd 3.4.23: a txn with a range at a compacted revision (18667).
  learner      etcd 3.5.2 and 3.5.35: a learner added and promoted (etcd 19557).
  alarm        PLANTED (see its README): the healthy fixture's three members
               (testdata/fixtures/healthy.tar.gz, etcd 3.4.23) with a CORRUPT
               alarm for node1 added to bucket alarm by tests/tools/plant
               (bbolt 1.3.6, the version 3.4.23 uses). The false alarm of
               etcd 15919 needs 3.5.5-3.5.9 with the compact hash check,
               which this machine does not have, and a real CORRUPT alarm
               needs members that really differ.
  compaction also writes planted-17780: a copy of node1 whose
               scheduledCompactRev was raised past its newest key revision
               (the state 17780 leaves when compaction removed the newest
               revision, a tombstone, before finishedCompactRev was saved:
               3.5.16+ keep that tombstone, so 3.5.35 cannot leave it).
Nothing else in a data dir is edited afterwards.
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "live"))
from etcdcluster import Cluster, Member  # noqa: E402


def save(dst, name, obj):
    (dst / "truth").mkdir(parents=True, exist_ok=True)
    (dst / "truth" / name).write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def copy_member(src, dst):
    shutil.copytree(src, dst, symlinks=True)
    # preallocated WAL files are all zeros: keep them (etcd left them) but
    # they compress to nothing


def plant_tool():
    """Build tests/tools/plant (Go, bbolt from the module cache, offline)."""
    exe = Path(tempfile.mkdtemp(prefix="kvf-plant-")) / "plant"
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    subprocess.run([go, "build", "-o", str(exe), "."], cwd=HERE / "plant", env=env, check=True, timeout=300)
    return exe


def member_list(c, i, user=None):
    return c.ctl_json(i, "member", "list", user=user)["members"]


def case_zombie(out):
    dst = out / "detect-zombie"
    with Cluster(size=3, version="3.4") as a:
        for k in range(20):
            a.put(1 + k % 3, f"/a/{k}", f"v{k}")
        save(dst, "cluster-a-members.json", member_list(a, 1))
        snap = a.dir / "a.snapshot.db"
        a.ctl(1, "snapshot", "save", str(snap))
        a.stop_all()
        b = Cluster(size=3, version="3.4")
        try:
            b._layout(1)
            ic = b._initial_cluster()
            for m in b.members:
                argv = [b.etcdctl, "snapshot", "restore", str(snap), "--name", f"{m.name}",
                        "--data-dir", str(m.data_dir), "--initial-cluster", ic,
                        "--initial-cluster-token", b.token, "--initial-advertise-peer-urls", m.peer_url]
                p = subprocess.run(argv, capture_output=True, text=True, env=b._env, timeout=60)
                if p.returncode:
                    raise SystemExit(f"restore: {p.stderr}")
            for m in b.members:
                b._spawn(m, "new")
            b.wait_ready(timeout=60)
            for k in range(10):
                b.put(1 + k % 3, f"/b/{k}", f"w{k}")
            save(dst, "cluster-b-members.json", member_list(b, 1))
            save(dst, "cluster-b-status.json", [b.status(i) for i in (1, 2, 3)])
            b.stop_all()
            for m in b.members:
                copy_member(m.data_dir, dst / m.name)
        finally:
            b.close()
    (dst / "README.md").write_text(README_ZOMBIE)
    return dst


def case_lease_auth(out):
    dst = out / "detect-lease-auth"
    with Cluster(size=3, version="3.4") as c:
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        held = c.lease_grant(1, 3600, user="root")
        c.put(1, "/held/key", "attached", user="root", lease=held)
        ttl = c.lease_grant(1, 5, user="root")
        c.put(1, "/ttl/key", "expires", user="root", lease=ttl)
        # the revoke with no user, through node2
        p = c.ctl(2, "lease", "revoke", f"{held:x}", check=False)
        answer = {"returncode": p.returncode, "stdout": p.stdout, "stderr": p.stderr.strip()}
        # let the second lease expire (TTL 5 s; etcd's minimum TTL is larger
        # for short elections, so wait for the key to go)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and c.get(1, "/ttl/key", user="root"):
            time.sleep(0.5)
        expired = not c.get(1, "/ttl/key", user="root")
        leases = c.ctl_json(1, "lease", "list", user="root")
        save(dst, "lease-auth.json", {
            "held_lease": held, "ttl_lease": ttl, "revoke_without_user_via": "node2",
            "etcdctl_revoke_without_user": answer, "ttl_lease_expired": expired,
            "lease_list_after": leases,
            "held_key_after": c.get(1, "/held/key", user="root"),
            "members": member_list(c, 1, user="root"),
        })
        c.stop_all()
        for i in (1, 2, 3):
            copy_member(c.data_dir(i), dst / f"node{i}")
    (dst / "README.md").write_text(README_LEASE)
    return dst


def case_compaction(out):
    dst = out / "detect-compaction"
    extra = ["--experimental-compaction-batch-limit", "100"]
    with Cluster(size=3, version="3.5", extra_args=extra) as c:
        # many revisions, cheaply: txns of 100 puts each
        rev = 0
        for t in range(300):
            ops = [f"put /c/{(t * 100 + j) % 1000} v{t}-{j}" for j in range(100)]
            # (a compare that always holds: with none, etcdctl's txn syntax
            # would take the puts for the failure branch)
            r = c.txn(1 + t % 3, ['mod("/c/none") = "0"'], ops)
            if not r.get("succeeded"):
                raise SystemExit(f"txn {t} did not succeed: {r}")
            rev = int(r["header"]["revision"])
        status_before = [c.status(i) for i in (1, 2, 3)]
        t0 = time.monotonic()
        c.ctl(1, "compact", str(rev))
        time.sleep(0.5)
        c.kill_member(1)
        killed_after = time.monotonic() - t0
        # the others finish it (300 batches, 10 ms apart): a stop in the
        # middle would leave theirs unfinished too
        time.sleep(20)
        c.stop_all()
        save(dst, "compaction.json", {"compact_revision": rev, "killed": "node1",
                                      "killed_after_s": round(killed_after, 3),
                                      "status_before": status_before})
        for i in (1, 2, 3):
            copy_member(c.data_dir(i), dst / f"node{i}")
    p = dst / "planted-17780"
    copy_member(dst / "node1", p)
    subprocess.run([str(plant_tool()), "scheduled", str(p / "member" / "snap" / "db"),
                    str(t_rev(dst) + 1)], check=True, timeout=60)
    (dst / "README.md").write_text(README_COMPACTION)
    return dst


def case_learner(out):
    dst = out / "detect-learner"
    answers = {}
    for version in ("3.5.2", "3.5.35"):
        with Cluster(size=3, version=version) as c:
            for k in range(10):
                c.put(1 + k % 3, f"/l/{k}", f"v{k}")
            i = c.add_learner(1)
            for k in range(10):
                c.put(1 + k % 3, f"/m/{k}", f"w{k}")
            c.promote(i)
            for k in range(10):
                c.put(1 + k % 4, f"/n/{k}", f"x{k}")
            answers[version] = {"promoted": f"{c.member(i).id:x}", "promoted_name": f"node{i}",
                                "members": member_list(c, 1)}
            c.stop_all()
            for j in range(1, i + 1):
                copy_member(c.data_dir(j), dst / version / f"node{j}")
    save(dst, "learner.json", answers)
    (dst / "README.md").write_text(README_LEARNER)
    return dst


def case_txn_range(out):
    dst = out / "detect-txn-range"
    with Cluster(size=3, version="3.4") as c:
        for k in range(10):
            c.put(1 + k % 3, f"/a/{k}", f"v{k}")
        rev = int(c.put(1, "/a/last", "x")["header"]["revision"])
        c.ctl(1, "compact", str(rev - 2))
        # a txn through node2 whose success branch reads /a/0 at a revision
        # below the compaction, and writes /b
        body = 'mod("/b") = "0"\n\nput /b written-by-txn\nget /a/0 --rev=3\n\n\n'
        p = c.ctl(2, "txn", input=body, check=False)
        answer = {"returncode": p.returncode, "stdout": p.stdout.strip(), "stderr": p.stderr.strip()[-400:]}
        for k in range(3):
            c.put(1 + k % 3, f"/c/{k}", f"after{k}")
        time.sleep(2)
        views = {f"node{i}": c.get(i, "/b", serializable=True) for i in (1, 2, 3)}
        revs = {f"node{i}": c.status(i)["header"]["revision"] for i in (1, 2, 3)}
        save(dst, "txn-range.json", {"compacted_to": rev - 2, "txn_via": "node2", "range_revision": 3,
                                     "etcdctl_txn": answer, "get_b_serializable": views,
                                     "revision_per_member": revs})
        c.stop_all()
        for i in (1, 2, 3):
            copy_member(c.data_dir(i), dst / f"node{i}")
    (dst / "README.md").write_text(README_TXN)
    return dst


def t_rev(dst):
    return json.loads((dst / "truth" / "compaction.json").read_text())["compact_revision"]


def case_alarm(out):
    dst = out / "detect-alarm"
    src = HERE.parent.parent / "testdata" / "fixtures" / "healthy.tar.gz"
    tmp = Path(tempfile.mkdtemp(prefix="kvf-alarm-"))
    with tarfile.open(src) as t:
        t.extractall(tmp, filter="data")
    exe = plant_tool()
    # node1's member id: the first WAL record's metadata (dump-wal would
    # say the same); read it from the members list etcd answered
    for n in ("node1", "node2", "node3"):
        copy_member(tmp / "healthy" / n, dst / n)
    # node1's member id, from its WAL's metadata record (dump-wal of BUILD)
    dump_wal = Path(os.environ.get("KVF_BUILD", HERE.parent.parent / "build")) / "dump-wal" / "dump-wal"
    p = subprocess.run([str(dump_wal), "-o", "json", str(dst / "node1" / "member" / "wal")],
                       capture_output=True, text=True, timeout=60)
    node_id = next(int(r["node_id"], 16) for r in map(json.loads, p.stdout.splitlines())
                   if r.get("record") == "metadata")
    for n in ("node1", "node2", "node3"):
        subprocess.run([str(exe), "alarm", str(dst / n / "member" / "snap" / "db"), str(node_id), "2"],
                       check=True, timeout=60)
    save(dst, "planted.json", {"alarm": "CORRUPT", "member_id": node_id, "member_id_hex": f"{node_id:x}",
                               "source": "testdata/fixtures/healthy.tar.gz"})
    (dst / "README.md").write_text(README_ALARM)
    shutil.rmtree(tmp)
    return dst


README_ZOMBIE = """# detect-zombie: zombie member records after a 3.4 snapshot restore (etcd 13196, 20967)

Made by tests/tools/make-detector-fixtures.py zombie on Debian's etcd 3.4.23.
Cluster A (3 members) took 20 puts; `etcdctl snapshot save` from A's node1;
A stopped. `etcdctl snapshot restore` wrote node1..node3 for cluster B (other
peer URLs, other cluster token: other member ids); B started on them and took
10 puts; B stopped (followers first). Nothing was edited.

etcd 3.4's restore copies A's db as it is, bucket members included, and puts
B's membership only into the new WAL, the new .snap and (when B applies its
conf changes) bucket members: A's three member records stay in every B
member's bucket members. etcd 3.4 reads membership from the v2 store and
never notices (truth/cluster-b-members.json: `etcdctl member list` shows B's
three members only); 3.5.0 and 3.6 read bucket members (13196, 20967).

truth/cluster-a-members.json: A's `member list` (the zombie ids).
truth/cluster-b-members.json, cluster-b-status.json: B's answers.
"""

README_LEASE = """# detect-lease-auth: a lease revoke without a user under auth (etcd 11689)

Made by tests/tools/make-detector-fixtures.py lease-auth on Debian's etcd 3.4.23.
root added, auth enabled; lease H (TTL 3600) with /held/key, lease T (TTL 5)
with /ttl/key, both as root. `etcdctl lease revoke H` through node2 with no
user: etcd proposes the LeaseRevoke with an empty header username and every
member refuses it at apply (the key attached needs a user:
truth/lease-auth.json has etcdctl's answer). T expires: the leader revokes it
as root (3.4 revokeExpiredLeases uses the root token, the 11691 fix), so that
revoke has a user. Members stopped, nothing edited.

This is the WAL signature of 11689 on a release that applies it alike on
every member: the detector must name the entry and call it no divergence.
"""

README_COMPACTION = """# detect-compaction: a compaction killed midway (scheduledCompactRev > finishedCompactRev)

Made by tests/tools/make-detector-fixtures.py compaction on etcd 3.5.35 with
--experimental-compaction-batch-limit 100. 300 txns of 100 puts over 1000 keys
(30000 revisions),
`etcdctl compact` of all of them through node1, node1
SIGKILLed (by its PID) 0.5 s later, while it was still deleting revisions in
batches; the others stopped normally 20 s later, their compaction finished. Nothing was edited.

On node1, meta/scheduledCompactRev is the compaction revision and
meta/finishedCompactRev is absent or older: etcd finishes the compaction when
the member starts. Keys above the compaction revision remain (the newest
revision is not below it), so this is the interrupted-compaction warning, not
the 17780 signature. truth/compaction.json: the revision and the statuses.

planted-17780/ is PLANTED: a copy of node1 whose meta/scheduledCompactRev
was set (tests/tools/plant) to the compaction revision + 1, above every key
revision left: the state 17780 leaves when a compaction removed the newest
revision (a tombstone) before finishedCompactRev was saved. 3.5.16+ keep the
tombstone at the compaction revision (18474), so 3.5.35 cannot leave it.
"""

README_ALARM = """# detect-alarm: a CORRUPT alarm while the replicas agree (PLANTED; etcd 15919)

PLANTED, not triggered: the three members of testdata/fixtures/healthy.tar.gz
(a real etcd 3.4.23 cluster) with one key added to bucket alarm of each db by
tests/tools/plant (bbolt 1.3.6): etcdserverpb.AlarmMember{MemberID: node1's
id, Alarm: CORRUPT}, the record etcd's corruption check writes through raft
on every member. Why planted: the false alarm of 15919 comes from 3.5.5-3.5.9
with the compact hash check on, which this machine does not have, and a real
CORRUPT alarm needs members that really differ (then it is no false alarm).
truth/planted.json: the id. Nothing else differs from healthy.
"""

README_LEARNER = """# detect-learner: a learner promotion on 3.5.2 (etcd 19557) and on 3.5.35

Made by tests/tools/make-detector-fixtures.py learner. For each of etcd 3.5.2
(inside 19557's 3.5.1-3.5.19) and 3.5.35 (fixed): 3 members, 10 puts,
`member add --learner` node4 and start it, 10 puts, `member promote` node4
(through the leader), 10 puts, stop (followers first). Nothing was edited.
truth/learner.json: the promoted id and `member list` after the promotion
(etcd itself says isLearner false on both versions).

On 3.5.2 the promotion reaches raft (meta/confState voters) and the v2 store
but not bucket members, which still says "isLearner":true on every member.
3.5.35 writes it (19563), and syncs it on start.
"""

README_TXN = """# detect-txn-range: a txn reading below the compaction (etcd 18667)

Made by tests/tools/make-detector-fixtures.py txn-range on Debian's etcd
3.4.23. 11 puts, `etcdctl compact` to the revision before the last two, then
through node2 a txn whose success branch is `put /b` and `get /a/0 --rev=3`
(3 < the compaction), then 3 more puts; members stopped, nothing edited.
truth/txn-range.json: etcdctl's answer to the txn, `get /b` on each member
(serializable: each member's own state) and each member's revision.
"""

CASES = {"txn-range": case_txn_range, "learner": case_learner, "zombie": case_zombie, "lease-auth": case_lease_auth, "compaction": case_compaction,
         "alarm": case_alarm}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or list(CASES):
        d = CASES[name](out)
        with tarfile.open(out / f"{d.name}.tar.gz", "w:gz", compresslevel=9) as t:
            t.add(d, arcname=d.name)
        print(d, (out / f"{d.name}.tar.gz").stat().st_size)


if __name__ == "__main__":
    main()
