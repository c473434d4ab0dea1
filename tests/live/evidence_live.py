#!/usr/bin/env python3
"""Evidence as SREs take it from a live cluster (issue 14), made here by a
real 3-member etcd (3.4.23 by default; the version is the first argument, as
for the other live tests: 3.5, 3.6, 3.7) and checked against what etcd said:

- Kubernetes objects written as the API server writes them (k8svalues.py)
  read back from the db (dump-db keys, --kind/--namespace) and the WAL
  (dump-wal's txn puts) with the fields that were encoded;
- `etcdctl snapshot save`: status and check verify its SHA-256 (the digest
  hashlib computes), its keys are what `etcdctl get --rev` answered at the
  revision it was saved at, dump-wal refuses it;
- `cp -a` of each member under a write load, a second apart: dump-wal
  --summary reads each on its own, clean, with that member's id, up to at
  least the index the member reported before its copy;
- after a lease grant (a raft entry that changes no key), consistent_index
  in the db trails the applied index etcd reports on 3.4, and status says
  it may; 3.5+ save it (with term) at every commit, so it does not trail.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import DEFAULT_VERSION  # noqa: E402
from k8svalues import Api, auger_value, k8s_json, k8s_protobuf, uid  # noqa: E402
from livecheck import check, etcd_version_arg, member_logs, report, start_cluster, timings  # noqa: E402

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DUMP_WAL = str(BUILD / "dump-wal" / "dump-wal")


def run(tool, *args, rc=0):
    p = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=120)
    check(p.returncode == rc, f"{Path(tool).name} {' '.join(map(str, args))}: exit {p.returncode}, want {rc}: "
          f"{p.stderr.strip()[:300]}")
    return p


def doc(p):
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError:
        check(False, f"not a JSON document: {p.stdout[:200]!r}")
        return {}


def lines(p):
    try:
        return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    except json.JSONDecodeError:
        check(False, f"not JSON lines: {p.stdout[:200]!r}")
        return []


def raw(v):
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()


def write_objects(api):
    t0 = int(time.time()) - 3600
    pod = auger_value("pod")
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5f6d", "uid": uid(),
             "controller": True, "blockOwnerDeletion": True}
    objs = {}
    for i in range(6):
        ns = "prod" if i < 4 else "staging"
        m = {"name": f"api-5f6d-{i}", "generateName": "api-5f6d-", "namespace": ns, "uid": uid(),
             "creationTimestamp": t0 + i, "labels": {"app": "api", "slot": str(i)}, "ownerReferences": [owner]}
        key = f"/registry/pods/{ns}/{m['name']}"
        api.object(key, "protobuf", {"kind": "Pod", **m}, k8s_protobuf(pod, m))
        objs[key] = ("Pod", m)
    m = dict(objs["/registry/pods/prod/api-5f6d-1"][1], deletionTimestamp=t0 + 100)
    api.object("/registry/pods/prod/api-5f6d-1", "protobuf", {"kind": "Pod", **m}, k8s_protobuf(pod, m))
    objs["/registry/pods/prod/api-5f6d-1"] = ("Pod", m)
    api.delete("/registry/pods/prod/api-5f6d-2")
    del objs["/registry/pods/prod/api-5f6d-2"]
    for i in range(2):
        m = {"name": f"backup-{i}", "namespace": "prod", "uid": uid(), "creationTimestamp": t0 + 50 + i,
             "generation": 3}
        key = f"/registry/example.com/backups/prod/backup-{i}"
        api.object(key, "json", {"kind": "Backup", **m}, k8s_json("example.com/v1", "Backup", m, {"keep": 7}))
        objs[key] = ("Backup", m)
    return objs


def same(got, kind, m, what):
    check(got and got.get("kind") == kind and got.get("name") == m["name"] and
          got.get("namespace") == m["namespace"] and got.get("uid") == m["uid"] and
          got.get("creation_timestamp") == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m["creationTimestamp"]))
          and (got.get("deletion_timestamp") is not None) == (m.get("deletionTimestamp") is not None)
          and got.get("labels", {}) == m.get("labels", {})
          and [o["uid"] for o in got.get("owner_references", [])] == [o["uid"] for o in m.get("ownerReferences", [])],
          f"{what}: {got} vs {m}")


def main():
    t0 = time.monotonic()
    version = etcd_version_arg()
    c, rc = start_cluster(version, size=3)
    if c is None:
        return rc
    work = Path(tempfile.mkdtemp(prefix="kvf-evidence-live-"))
    try:
        return live(c, work, t0, version)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def live(c, work, t0, version):
    with c:
        timings["start"] = time.monotonic() - t0
        api = Api(c)
        objs = write_objects(api)
        c.wait_converged()
        ids = c.member_ids()

        # a snapshot file, and what etcd answered at its revision
        t = time.monotonic()
        rev = c.status(2)["header"]["revision"]
        snap = work / "node2.snapshot.db"
        c.ctl(2, "snapshot", "save", str(snap), timeout=60)
        want = json.loads(c.ctl(2, "-w", "json", "get", "--prefix", "--consistency=s", f"--rev={rev}", "").stdout)
        timings["snapshot"] = time.monotonic() - t
        data = snap.read_bytes()
        st = doc(run(DUMP_DB, "-o", "json", "status", snap))
        sf = st.get("snapshot_file") or {}
        check(len(data) % 512 == 32 and sf.get("sha256_ok") is True and
              sf.get("sha256_computed") == hashlib.sha256(data[:-32]).hexdigest() == data[-32:].hex(),
              f"the snapshot's digest: {sf}")
        check(st.get("revision") == rev, f"snapshot revision {st.get('revision')} vs {rev}")
        check("SHA-256 matches" in run(DUMP_DB, "check", snap).stdout, "check verifies the digest")
        ours = [(raw(k["key"]), raw(k["value"]), k["mod_revision"]) for k in lines(run(DUMP_DB, "-o", "json", "keys", snap))]
        theirs = [(base64.b64decode(k["key"]), base64.b64decode(k.get("value", "")), int(k["mod_revision"]))
                  for k in want.get("kvs", [])]
        check(ours == theirs, f"snapshot keys vs etcdctl get --rev={rev}: {len(ours)} vs {len(theirs)}")
        keys = {raw(k["key"]).decode(): k.get("k8s") for k in lines(run(DUMP_DB, "-o", "json", "keys", snap))}
        for key, (kind, m) in objs.items():
            same(keys.get(key), kind, m, f"snapshot {key}")
        sel = {raw(k["key"]).decode() for k in lines(run(DUMP_DB, "-o", "json", "keys", "--kind", "pods",
                                                         "--namespace", "prod", snap))}
        check(sel == {k for k, (kind, m) in objs.items() if kind == "Pod" and m["namespace"] == "prod"},
              f"--kind pods --namespace prod: {sorted(sel)}")
        p = run(DUMP_WAL, snap, rc=2)
        check("not an etcd WAL segment" in p.stderr and "snapshot file" in p.stderr, f"dump-wal on it: {p.stderr}")

        # cp -a of each member under load
        t = time.monotonic()
        stop = threading.Event()

        def load():
            a = Api(c)
            n = 0
            while not stop.is_set():
                a.put(f"/load/{n % 200:03d}", "z" * (n % 400), member=1 + n % 3)
                n += 1
        th = threading.Thread(target=load)
        th.start()
        time.sleep(0.5)
        before = {}
        for i in (1, 2, 3):
            before[i] = c.status(i)
            shutil.copytree(c.data_dir(i), work / f"copy{i}", symlinks=True)
            time.sleep(1)
        stop.set()
        th.join()
        timings["copies"] = time.monotonic() - t
        summary = doc(run(DUMP_WAL, "-o", "json", "--summary", *[f"node{i}={work / f'copy{i}'}" for i in (1, 2, 3)]))
        ms = summary.get("members", [])
        check(len(ms) == 3, f"three members: {len(ms)}")
        for i, m in enumerate(ms, 1):
            check(m["member"] == f"node{i}" and m["damage"] == 0 and int(m["metadata"]["node_id"], 16) == ids[i]
                  and m["last_index"] >= before[i]["raftIndex"],
                  f"node{i}: {m['member']} damage {m['damage']} node {m['metadata']} last {m['last_index']} "
                  f"vs raftIndex {before[i]['raftIndex']}: {m.get('damage_list')}")
        # the puts of the pods, in txns, from each member's WAL
        ents = [e for e in lines(run(DUMP_WAL, "-o", "json", "--kind", "Pod", "--namespace", "staging",
                                     work / "copy3")) if e.get("record") == "entry"]
        check(len(ents) == 2 and all(e["request"]["kind"] == "txn" and e["k8s"][0]["namespace"] == "staging"
                                     for e in ents), f"staging pods in node3's WAL: {len(ents)}")

        # consistent_index after a raft entry that changes no key: 3.4
        # saves it only with key-space or auth changes, so it trails; 3.5+
        # save it at every commit of the backend (the one that stopped the
        # member included)
        c.lease_grant(1, 600)
        conv = c.wait_converged()
        c.stop_all()
        old = version == DEFAULT_VERSION
        for i in (1, 2, 3):
            st = doc(run(DUMP_DB, "-o", "json", "status", c.data_dir(i)))
            ci, applied = st.get("consistent_index", 1 << 62), conv[i]["raftAppliedIndex"]
            if old:
                check(ci < applied and st.get("consistent_index_saved") == "with_changes",
                      f"node{i}: consistent_index {ci} vs raftAppliedIndex {applied} "
                      f"({st.get('consistent_index_saved')})")
                check("trail the applied index" in run(DUMP_DB, "status", c.data_dir(i)).stdout, "status says so")
            else:
                check(ci >= applied and st.get("consistent_index_saved") == "every_commit",
                      f"node{i} ({version}): consistent_index {ci} vs raftAppliedIndex {applied} "
                      f"({st.get('consistent_index_saved')})")
                check("trail the applied index" not in run(DUMP_DB, "status", c.data_dir(i)).stdout,
                      "status does not say it trails")
        member_logs(c, 40)
    return report(f"evidence live ({version}): {len(objs)} objects, snapshot at revision {rev}")


if __name__ == "__main__":
    sys.exit(main())
