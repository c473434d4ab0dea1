#!/usr/bin/env python3
"""dump-db against what etcd itself reported, for every member of a fixture.

- `status -o json` equals truth/nodeN.refdb.json (etcd 3.4.23's own packages on
  the file): consistent_index, auth_enabled, auth_revision, revision, compaction
  revisions, and the counts of revisions, tombstones and live keys;
- `keys -o json` lists exactly the keys of truth/final/nodeN.keys (etcdctl get
  --prefix --consistency=s on the live member) with the create/mod revision,
  version, lease and value of truth/final/nodeN.get.json;
- `hashkv -o json` equals truth/final/nodeN.hashkv.json (etcdctl endpoint
  hashkv on the live member) and refdb's hashkv;
- the db file's sha256 and mtime are unchanged after every command.

usage: dbref.py DUMP_DB FIXTURE_DIR
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path


def b64(v):
    """etcdctl -w json prints keys and values base64."""
    return base64.b64decode(v) if v else b""


def ours_bytes(v):
    if isinstance(v, dict):
        return base64.b64decode(v["base64"])
    return v.encode()


def run(dump_db, *args):
    p = subprocess.run([dump_db, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit(f"dump-db {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def fingerprint(path):
    st = os.stat(path)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def main():
    dump_db, fixture = sys.argv[1], Path(sys.argv[2])
    failures = []
    nodes = sorted(p for p in fixture.glob("node*") if (p / "member" / "snap" / "db").is_file())
    for node in nodes:
        name = node.name
        db = node / "member" / "snap" / "db"
        before = fingerprint(db)
        ref = json.loads((fixture / "truth" / f"{name}.refdb.json").read_text())

        st = json.loads(run(dump_db, "-o", "json", "status", str(node)))
        want = {
            "consistent_index": ref["consistent_index"],
            "auth_enabled": ref["auth_enabled"],
            "auth_revision": ref["auth_revision"],
            "revision": ref["max_main_revision"],
            "compact_revision": ref["finished_compact_revision"],
            "scheduled_compact_revision": ref["scheduled_compact_revision"],
            "keys": {"live": ref["live_keys"], "revisions": ref["revisions"], "tombstones": ref["tombstones"]},
        }
        got = {k: st[k] for k in want}
        if got != want:
            failures.append(f"{name}: status {got} != etcd {want}")

        final = fixture / "truth" / "final"
        if (final / "members.json").exists():
            # etcdctl member list; ids above INT64_MAX are the ones that need care
            listed = json.loads((final / "members.json").read_text())["members"]
            want_m = sorted((f"{m['ID']:016x}", m["name"], m["peerURLs"]) for m in listed)
            got_m = sorted((m.get("id"), m.get("name"), m.get("peerURLs")) for m in st["members"])
            if got_m != want_m:
                failures.append(f"{name}: members {got_m} != etcdctl member list {want_m}")
        if (final / f"{name}.keys").exists():
            keys = [json.loads(l) for l in run(dump_db, "-o", "json", "keys", str(node)).splitlines()]
            want_keys = [l for l in (final / f"{name}.keys").read_text().splitlines() if l]
            got_keys = [ours_bytes(k["key"]).decode() for k in keys]
            if got_keys != want_keys:
                failures.append(f"{name}: keys differ from etcdctl get: "
                                f"{sorted(set(got_keys) ^ set(want_keys))[:5]}")
            kvs = json.loads((final / f"{name}.get.json").read_text())["kvs"]
            want_kv = [(b64(k["key"]), k["create_revision"], k["mod_revision"], k["version"],
                        k.get("lease", 0), b64(k.get("value"))) for k in kvs]
            got_kv = [(ours_bytes(k["key"]), k["create_revision"], k["mod_revision"], k["version"],
                       int(k["lease"]), ours_bytes(k["value"])) for k in keys]
            if got_kv != want_kv:
                diff = [(g, w) for g, w in zip(got_kv, want_kv) if g != w][:2]
                failures.append(f"{name}: key revisions/values differ from etcdctl get: {diff}")

            hk = json.loads(run(dump_db, "-o", "json", "hashkv", str(node)))
            live = json.loads((final / f"{name}.hashkv.json").read_text())[0]["HashKV"]
            got_h = (hk["hash"], hk["compact_revision"], hk["current_revision"])
            want_h = (live["hash"], live["compact_revision"], live["header"]["revision"])
            if got_h != want_h:
                failures.append(f"{name}: hashkv {got_h} != etcdctl endpoint hashkv {want_h}")
        if (json.loads(run(dump_db, "-o", "json", "hashkv", str(node)))["hash"]
                != ref["hashkv"]["hash"]):
            failures.append(f"{name}: hashkv != etcd's mvcc HashByRev on the file")

        for cmd in (["buckets"], ["dump", "key"], ["dump", "meta"], ["check"], ["pages"]):
            run(dump_db, *cmd, str(node))
        if fingerprint(db) != before:
            failures.append(f"{name}: the db file changed (sha256/mtime/size)")
        print(f"{name}: status, keys, hashkv compared")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures or not nodes else 0)


if __name__ == "__main__":
    main()
