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
  compaction   etcd 3.5.35. 60000 revisions of a few keys, then `etcdctl
               compact` of all of them with --experimental-compaction-batch-
               limit 100 and a 10 ms sleep between batches: node1 is SIGKILLed
               (by PID) 0.5 s after etcdctl returns, while it is still
               compacting. truth/: the compaction revision, each member's
               status before the kill.
Nothing in a data dir is edited afterwards.
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
        body_ops = []
        rev = 0
        for t in range(600):
            ops = [f"put /c/{(t * 100 + j) % 50} v{t}-{j}" for j in range(100)]
            r = c.txn(1 + t % 3, [], ops)
            rev = int(r["header"]["revision"])
        status_before = [c.status(i) for i in (1, 2, 3)]
        t0 = time.monotonic()
        c.ctl(1, "compact", str(rev))
        time.sleep(0.5)
        c.kill_member(1)
        killed_after = time.monotonic() - t0
        c.stop_all()
        save(dst, "compaction.json", {"compact_revision": rev, "killed": "node1",
                                      "killed_after_s": round(killed_after, 3),
                                      "status_before": status_before})
        for i in (1, 2, 3):
            copy_member(c.data_dir(i), dst / f"node{i}")
    (dst / "README.md").write_text(README_COMPACTION)
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
--experimental-compaction-batch-limit 100. 600 txns of 100 puts over 50 keys
(60000 revisions), `etcdctl compact` of all of them through node1, node1
SIGKILLed (by its PID) 0.5 s later, while it was still deleting revisions in
batches; the others stopped normally. Nothing was edited.

On node1, meta/scheduledCompactRev is the compaction revision and
meta/finishedCompactRev is absent or older: etcd finishes the compaction when
the member starts. Keys above the compaction revision remain (the newest
revision is not below it), so this is the interrupted-compaction warning, not
the 17780 signature. truth/compaction.json: the revision and the statuses.
"""

CASES = {"zombie": case_zombie, "lease-auth": case_lease_auth, "compaction": case_compaction}


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
