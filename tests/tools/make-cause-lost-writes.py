#!/usr/bin/env python3
"""Build testdata/fixtures/cause-lost-writes.tar.gz: a real etcd 3.5.2
three-member cluster whose node2 carries the on-disk state of etcd issue
13766 (writes lost below consistent_index, later revisions shifted down by
one), with etcd's own answers before and after.

    tests/tools/make-cause-lost-writes.py OUT.tar.gz

What is real: the cluster, its WALs, every db as etcd 3.5.2 wrote it, and
etcd's answers (endpoint status, hashkv, get) on the planted dirs, which the
same etcd serves after a restart. What is planted (a SIGKILL loop under load
did not hit the window, see testdata/fixtures/README-causes.md): on node2's
stopped db, revision R of /app/b010 is removed and every revision above it
renumbered down by one (tests/tools/plant-lost-write), which is what a member
that skipped the entry on replay holds. Needs Go (/usr/local/go/bin) and the
etcd 3.5.2 the test suite builds (tests/etcd/build.sh)."""
import json, os, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "live"))
from etcdcluster import Cluster  # noqa: E402

out = Path(sys.argv[1]).resolve()
tmp = Path(tempfile.mkdtemp(prefix="kvf-cause-lost-"))
plant = tmp / "plant-lost-write"
env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", PATH=os.environ["PATH"] + ":/usr/local/go/bin")
subprocess.run(["go", "build", "-o", str(plant), "."], cwd=here / "plant-lost-write", env=env, check=True)

fx = tmp / "cause-lost-writes"
truth = fx / "truth"
truth.mkdir(parents=True)


def answers(c, tag):
    doc = {}
    for i in (1, 2, 3):
        st = c.ctl_json(i, "endpoint", "status")
        hk = c.ctl_json(i, "endpoint", "hashkv")
        keys = [k for k, _ in c.get(i, "/app/", prefix=True, serializable=True)]
        lost = c.ctl_json(i, "get", "--consistency=s", "/app/b010")
        doc[f"node{i}"] = {"status": st, "hashkv": hk, "keys": keys, "get_b010": lost}
    (truth / f"{tag}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


with Cluster(3, version="3.5.2", keep=False) as c:
    for n in range(40):
        c.put(1, f"/app/a{n:03d}", f"a-{n}")
    lease = c.lease_grant(1, 3600)
    c.put(1, "/app/leased", "with a lease", lease=lease)
    c.txn(1, ['version("/app/a000") = "1"'], ["put /app/cas won"], ["put /app/cas lost"])
    for n in range(40):
        c.put(2, f"/app/b{n:03d}", f"b-{n}")
    c.delete(1, "/app/a005")
    for n in range(20):
        c.put(3, f"/app/c{n:03d}", f"c-{n}")
    c.wait_converged()
    r = int(c.ctl_json(1, "get", "/app/b010")["kvs"][0]["mod_revision"])
    (truth / "lost_revision").write_text(f"{r}\n")
    before = answers(c, "before")
    c.stop_all()
    for i in (1, 2, 3):
        shutil.copytree(c.data_dir(i), fx / f"node{i}", symlinks=True)
    p = subprocess.run([str(plant), str(fx / "node2" / "member" / "snap" / "db"), str(r)],
                       capture_output=True, text=True, check=True)
    (truth / "planted.txt").write_text(p.stdout)
    # etcd 3.5.2 on the planted dirs: what it serves now
    for i in (1, 2, 3):
        shutil.rmtree(c.data_dir(i))
        shutil.copytree(fx / f"node{i}", c.data_dir(i), symlinks=True)
    c.restart_all()
    after = answers(c, "after")
    c.stop_all()

(truth / "README").write_text(
    "before.json / after.json: etcdctl endpoint status, endpoint hashkv, get --prefix /app/ and\n"
    "get /app/b010 (serializable) from each member, on the cluster as written and after planting\n"
    "(etcd 3.5.2 restarted on the planted data dirs; the copies here were taken before that restart).\n"
    "lost_revision: revision of /app/b010 removed from node2's db (later ones renumbered down by one).\n")
with tarfile.open(out, "w:gz") as t:
    t.add(fx, arcname="cause-lost-writes")
print(out, "revision", r, "node2 revision before", before["node2"]["status"][0]["Status"]["header"]["revision"],
      "after", after["node2"]["status"][0]["Status"]["header"]["revision"])
shutil.rmtree(tmp)
