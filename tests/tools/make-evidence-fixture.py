#!/usr/bin/env python3
"""Writes testdata/fixtures/evidence.tar.gz: evidence as SREs are handed it,
made by a real etcd 3.4.23 cluster on 127.0.0.1 (tests/live/etcdcluster.py).

    tests/tools/make-evidence-fixture.py OUT.tar.gz [BUILD]

What it does, in order (each step's etcd answers go to truth/):
 1. A 3-member cluster (--snapshot-count 1000) takes a Kubernetes-shaped load
    the way the API server writes: every create is a txn "mod_revision == 0
    then put", every update "mod_revision == R then put", every delete
    "mod_revision == R then delete" (apiserver storage/etcd3/store.go),
    through the gRPC gateway, spread over the members. The values are
    Kubernetes objects: protobuf ones built from the real bytes of auger's
    sample db (a Pod, a Job, a Namespace: the envelope and the spec and
    status are the API server's bytes, only ObjectMeta is re-encoded with
    other names, uids, labels, owners, timestamps), JSON custom resources
    as the API server stores them (sorted keys, a trailing newline), and
    encrypted Secrets ("k8s:enc:aescbc:v1:key1:" and 48 random bytes: the
    envelope is the API server's, the ciphertext is not a real one).
    truth/k8s-written.json: every object written (its fields as this
    script encoded them) and every delete; truth/get-final.json: etcdctl
    get --prefix /registry/ from node1 afterwards.
 2. `etcdctl snapshot save` from node1: snapshot/node1.snapshot.db, with
    truth/snapshot.json (its size, the SHA-256 of the db part computed here,
    the 32 bytes stored after it, and `etcdctl snapshot status -w json`).
 3. Under a write load (a thread putting /load/ keys through node1), `cp -a`
    of each member's data dir, two seconds apart: copies/nodeN, with
    truth/copies.json (each member's endpoint status just before its copy).
 4. node3 stopped, 6000 puts, node3 restarted: the leader sends it a db
    snapshot (its raft log no longer reaches back), which etcd saves as
    member/snap/%016x.snap.db and renames over db when it applies it. node3
    is SIGKILLed (by its PID) as soon as the .snap.db appears: a crash
    between receive and apply. leftovers/node3. truth/leftovers.json.
 5. 12 MB of values, then `etcdctl defrag` on node2, SIGKILLed as soon as
    member/snap/db.tmp.* appears: an interrupted defragmentation.
    leftovers/node2.
Nothing in the data dirs is edited; what was planted (the ObjectMeta of the
values, the random ciphertext) was written through etcd like any value.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "live"))
from etcdcluster import Cluster  # noqa: E402
from k8svalues import AUGER, Api, auger_value, b64, k8s_json, k8s_protobuf, rnd, uid  # noqa: E402

def k8s_load(api):
    t0 = 1796000000
    pod, job, ns_val = auger_value("pod"), auger_value("job"), api.namespace_sample
    for i, name in enumerate(("default", "team-a", "kube-system")):
        m = {"name": name, "uid": uid(), "creationTimestamp": t0 + i}
        api.object(f"/registry/namespaces/{name}", "protobuf",
                   {"kind": "Namespace", "apiVersion": "v1", "namespace": "", **m}, k8s_protobuf(ns_val, m))
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8c", "uid": uid(),
          "controller": True, "blockOwnerDeletion": True}
    pods = []
    for i in range(10):
        m = {"name": f"web-7d9f8c-{i:02d}", "generateName": "web-7d9f8c-", "namespace": "team-a", "uid": uid(),
             "creationTimestamp": t0 + 100 + i,
             "labels": {"app": "web", "pod-template-hash": "7d9f8c", "tier": "frontend"},
             "ownerReferences": [rs]}
        pods.append(m)
        api.object(f"/registry/pods/team-a/{m['name']}", "protobuf",
                   {"kind": "Pod", "apiVersion": "v1", **m}, k8s_protobuf(pod, m))
    jm = {"name": "pi", "namespace": "default", "uid": uid(), "creationTimestamp": t0 + 200,
          "labels": {"job-name": "pi"}}
    api.object("/registry/jobs/default/pi", "protobuf", {"kind": "Job", "apiVersion": "batch/v1", **jm},
               k8s_protobuf(job, jm))
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": jm["uid"], "controller": True,
             "blockOwnerDeletion": True}
    for i in range(3):
        m = {"name": f"pi-{i}x{rnd.getrandbits(16):04x}", "generateName": "pi-", "namespace": "default",
             "uid": uid(), "creationTimestamp": t0 + 210 + i, "labels": {"job-name": "pi"},
             "ownerReferences": [owner]}
        api.object(f"/registry/pods/default/{m['name']}", "protobuf", {"kind": "Pod", "apiVersion": "v1", **m},
                   k8s_protobuf(pod, m))
    # pods updated: a label changed, then two deleted the API server's way
    # (deletionTimestamp set, then the key deleted), one stuck on a finalizer
    for i in (1, 2):
        m = dict(pods[i], labels={**pods[i]["labels"], "version": "2"}, generation=2)
        api.object(f"/registry/pods/team-a/{m['name']}", "protobuf", {"kind": "Pod", "apiVersion": "v1", **m},
                   k8s_protobuf(pod, m))
    for i in (3, 4):
        m = dict(pods[i], deletionTimestamp=t0 + 300 + i)
        if i == 4:
            m["finalizers"] = ["example.com/protect"]
        api.object(f"/registry/pods/team-a/{m['name']}", "protobuf", {"kind": "Pod", "apiVersion": "v1", **m},
                   k8s_protobuf(pod, m))
    api.delete(f"/registry/pods/team-a/{pods[3]['name']}")
    # custom resources, stored as JSON
    for i in range(4):
        ns = "team-a" if i < 3 else "default"
        m = {"name": f"cron-{i}", "namespace": ns, "uid": uid(), "creationTimestamp": t0 + 400 + i,
             "generation": 1 + i % 2, "labels": {"team": ns}}
        api.object(f"/registry/stable.example.com/crontabs/{ns}/cron-{i}", "json",
                   {"kind": "CronTab", "apiVersion": "stable.example.com/v1", **m},
                   k8s_json("stable.example.com/v1", "CronTab", m, {"cronSpec": f"*/{i + 1} * * * *",
                                                                    "image": "busybox"}))
    # encrypted Secrets: the API server's envelope, random bytes inside
    for name in ("db-password", "tls"):
        value = b"k8s:enc:aescbc:v1:key1:" + bytes(rnd.getrandbits(8) for _ in range(48))
        api.object(f"/registry/secrets/team-a/{name}", "encrypted",
                   {"provider": "aescbc", "key_name": "key1"}, value)


# ---- the scenario ----

def status(c, i):
    return c.status(i)


def wait_for(path_glob_dir, prefix, suffix, timeout):
    """Poll a directory every half millisecond for a name; the path or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for e in os.scandir(path_glob_dir):
                if e.name.startswith(prefix) and e.name.endswith(suffix):
                    return Path(e.path)
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    return None


def kill(c, i):
    m = c.member(i)
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait(timeout=30)
    m.proc = None


def main():
    out = Path(sys.argv[1]).resolve()
    build = Path(sys.argv[2] if len(sys.argv) > 2 else HERE.parent.parent / "build")
    work = Path(tempfile.mkdtemp(prefix="kvf-evidence-"))
    root = work / "evidence"
    truth = root / "truth"
    truth.mkdir(parents=True)
    (root / "snapshot").mkdir()
    (root / "copies").mkdir()
    (root / "leftovers").mkdir()
    # the Namespace sample: auger's db holds it (key /registry/namespaces/default)
    p = subprocess.run([str(build / "dump-db" / "dump-db"), "-o", "json", "keys", "--prefix",
                        "/registry/namespaces/", str(AUGER / "boltdb" / "db")],
                       capture_output=True, text=True, check=True)
    v = json.loads(p.stdout.splitlines()[0])["value"]
    ns_sample = base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode("latin-1")

    with Cluster(size=3, extra_args=["--snapshot-count", "1000"]) as c:
        api = Api(c)
        api.namespace_sample = ns_sample
        k8s_load(api)
        c.wait_converged()
        (truth / "k8s-written.json").write_text(json.dumps(api.written, indent=1))
        (truth / "get-final.json").write_text(c.ctl(1, "-w", "json", "get", "--prefix", "--consistency=s",
                                                    "/registry/").stdout)
        (truth / "members.json").write_text(c.ctl(1, "-w", "json", "member", "list").stdout)

        # 2. a snapshot file
        snap = root / "snapshot" / "node1.snapshot.db"
        c.ctl(1, "snapshot", "save", str(snap), timeout=60)
        data = snap.read_bytes()
        st = json.loads(c.ctl(1, "-w", "json", "snapshot", "status", str(snap)).stdout)
        (truth / "snapshot.json").write_text(json.dumps({
            "size": len(data), "size_mod_512": len(data) % 512,
            "sha256_of_db_part": hashlib.sha256(data[:-32]).hexdigest(),
            "stored_digest": data[-32:].hex(), "etcdctl_snapshot_status": st,
            "revision_at_save": status(c, 1)["header"]["revision"]}, indent=1))

        # 3. cp -a of each member under load
        stop = threading.Event()
        loaded = [0]

        def load():
            a = Api(c)
            while not stop.is_set():
                a.put(f"/load/{loaded[0] % 500:04d}", "x" * rnd.randrange(10, 300), member=1)
                loaded[0] += 1
        t = threading.Thread(target=load)
        t.start()
        time.sleep(1)
        copies = {}
        for i in (1, 2, 3):
            copies[f"node{i}"] = status(c, i)
            shutil.copytree(c.data_dir(i), root / "copies" / f"node{i}", symlinks=True)
            time.sleep(2)
        stop.set()
        t.join()
        copies["load_puts"] = loaded[0]
        (truth / "copies.json").write_text(json.dumps(copies, indent=1))

        # 4. a leader's snapshot received and never applied
        c.stop_member(3)
        for n in range(6000):
            api.put(f"/bulk/{n % 1000:04d}", f"v{n}", member=1 + n % 2)
        snap_dir = c.data_dir(3) / "member" / "snap"
        leftover = None
        for attempt in range(5):
            c._spawn(c.member(3), "existing")
            leftover = wait_for(snap_dir, "", ".snap.db", 60)
            kill(c, 3)
            if leftover and leftover.exists():
                break
            print(f"attempt {attempt}: node3 applied the snapshot before the kill; again", file=sys.stderr)
            leftover = None
            for n in range(6000):
                api.put(f"/bulk/{n % 1000:04d}", f"w{attempt}-{n}", member=1 + n % 2)
        if not leftover:
            raise SystemExit("no .snap.db caught")
        shutil.copytree(c.data_dir(3), root / "leftovers" / "node3", symlinks=True)
        lo = {"snap_db": leftover.name, "snap_db_size": leftover.stat().st_size,
              "leader_status": status(c, 1), "node2_status": status(c, 2)}

        # 5. an interrupted defragmentation
        big = "y" * 8192
        for n in range(1500):
            api.put(f"/big/{n:04d}", big + str(n), member=2)
        for n in range(0, 1500, 2):
            api.post(2, "/v3/kv/deleterange", {"key": b64(f"/big/{n:04d}")})
        node2_snap = c.data_dir(2) / "member" / "snap"
        lo["node2_status_before_defrag"] = status(c, 2)
        defrag = subprocess.Popen([c.etcdctl, "--endpoints", c.member(2).endpoint, "defrag",
                                   "--command-timeout=60s"], env=c._env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        tmp = wait_for(node2_snap, "db.tmp", "", 30)
        kill(c, 2)
        defrag.wait(timeout=60)
        if not tmp or not tmp.exists():
            raise SystemExit("no db.tmp caught")
        lo["db_tmp"] = tmp.name
        lo["db_tmp_size"] = tmp.stat().st_size
        shutil.copytree(c.data_dir(2), root / "leftovers" / "node2", symlinks=True)
        (truth / "leftovers.json").write_text(json.dumps(lo, indent=1))
        c.stop_all()
    with tarfile.open(out, "w:gz", compresslevel=9) as tf:
        tf.add(root, arcname="evidence")
    shutil.rmtree(work)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
