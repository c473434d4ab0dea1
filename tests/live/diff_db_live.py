#!/usr/bin/env python3
"""diff-db on an authRevision-skew incident made by this test on a real etcd.

The incident of issue 11651, built step by step on a 3-member etcd 3.4:
1. auth on (root, and alice with readwrite on /probe/), a few writes;
2. the cluster stopped; node1's authRevision raised by 2 in its db, in
   place, as a double-applied auth history leaves it (bbolt leaf pages carry
   no checksum, so the 8-byte value is all there is to change; dump-db
   locates it). This is a copy the test made: never evidence;
3. restarted; alice writes through every member; stopped again.

Expected from etcd 3.4.23's sources, not from diff-db:
- the header of a request carries the auth revision of the member that
  received it (the token's revision is the store's at the time,
  auth/simple_token.go info + auth/store.go authInfoFromToken);
- at apply, a member refuses a request whose header revision is below its
  own authRevision (auth/store.go isOpPermitted: ErrAuthOldRevision), and
  accepts one above it;
so node1 refuses what was written through node2 and node3, the others apply
everything: the divergent keys are exactly those, absent on node1 only.
diff-db must say so (exit 1, every key explained as auth_revision_rejected,
the skew with node1's revision), agree with dump-db on each authRevision
and with etcdctl get --consistency=s on each member about which keys exist.
"""
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import Cluster, EtcdMissing  # noqa: E402

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DIFF_DB = str(BUILD / "diff-db" / "diff-db")
SKEW = 2
PER_MEMBER = 4

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def dump_db_json(*args):
    p = subprocess.run([DUMP_DB, "-o", "json", *args], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit(f"dump-db {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p.stdout


def raise_auth_revision(data_dir, by):
    """Add `by` to authRevision in the member's db, in place. Test-only."""
    rows = [json.loads(l) for l in dump_db_json("dump", "auth", str(data_dir)).splitlines()]
    row = next(r for r in rows if r.get("key") == "authRevision")
    db = Path(data_dir) / "member" / "snap" / "db"
    with open(db, "r+b") as f:
        f.seek(row["value_offset"])
        old = int.from_bytes(f.read(8), "big")
        if old != row["value"]:
            raise SystemExit(f"authRevision at offset {row['value_offset']} reads {old}, "
                             f"dump-db said {row['value']}")
        f.seek(row["value_offset"])
        f.write((old + by).to_bytes(8, "big"))
    return old


def keys_of(c, i):
    """Keys under /probe/ on member i, from its own store (serializable)."""
    doc = c.ctl_json(i, "get", "--prefix", "--consistency=s", "--keys-only", "--", "/probe/", user="root")
    return {base64.b64decode(kv["key"]).decode() for kv in doc.get("kvs", [])}


def main():
    try:
        cluster = Cluster(size=3)
    except EtcdMissing as e:
        raise SystemExit(f"etcd is needed for this test: {e}")
    with cluster as c:
        c.user_add(1, "root", "rootpw")
        c.user_add(1, "alice", "alicepw")
        c.role_add(1, "writer")
        c.grant_permission(1, "writer", "readwrite", "/probe/", prefix=True)
        c.grant_role(1, "alice", "writer")
        c.enable_auth(1)
        base_rev = c.auth_revision
        before = [f"/probe/before/{k}" for k in range(3)]
        for k in before:
            c.put(1, k, "v-" + k, user="alice")
        c.wait_converged()
        c.stop_all()

        skewed_from = raise_auth_revision(c.data_dir(1), SKEW)
        check(skewed_from == base_rev, f"node1's stored authRevision {skewed_from} is the {base_rev} "
                                       "the auth changes made")
        c.restart_all()

        written = {i: [f"/probe/via-node{i}/{k:02d}" for k in range(PER_MEMBER)] for i in (1, 2, 3)}
        for k in range(PER_MEMBER):
            for i in (1, 2, 3):
                c.put(i, written[i][k], f"value {k} through node{i}", user="alice")
        c.wait_converged()
        live_keys = {i: keys_of(c, i) for i in (1, 2, 3)}
        c.stop_all()

        every = set(before) | {k for ks in written.values() for k in ks}
        lost_on_node1 = set(written[2]) | set(written[3])
        check(live_keys[2] == every and live_keys[3] == every,
              "etcd: node2 and node3 hold every key written")
        check(live_keys[1] == every - lost_on_node1,
              f"etcd: node1 lacks exactly the {len(lost_on_node1)} keys written through node2 and node3")

        dirs = {i: c.data_dir(i) for i in (1, 2, 3)}
        p = subprocess.run([DIFF_DB, "-o", "json", *(f"node{i}={d}" for i, d in dirs.items())],
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 1, f"diff-db exits 1 on diverged replicas (got {p.returncode}: {p.stderr.strip()})")
        report = json.loads(p.stdout)

        stored = {i: json.loads(dump_db_json("status", str(dirs[i])))["auth_revision"] for i in (1, 2, 3)}
        check(stored == {1: base_rev + SKEW, 2: base_rev, 3: base_rev},
              f"dump-db reads the authRevisions {stored}")
        nodes = {n["name"]: n for n in report["nodes"]}
        check({i: nodes[f"node{i}"]["auth_revision"] for i in (1, 2, 3)} == stored,
              "diff-db's authRevision per member equals dump-db status")

        divergent = {d["key"]: d for d in report["divergent_keys"]}
        check(set(divergent) == lost_on_node1,
              f"divergent keys are exactly those written through node2 and node3 "
              f"(extra {sorted(set(divergent) - lost_on_node1)}, missing {sorted(lost_on_node1 - set(divergent))})")
        for key in sorted(lost_on_node1 & set(divergent)):
            d = divergent[key]
            want_present = {f"node{i}": key in live_keys[i] for i in (1, 2, 3)}
            via = int(key.split("/")[2][len("via-node"):])
            ok = (d["present"] == want_present and d["cause"] == "auth_revision_rejected"
                  and any(w["auth_revision"] == base_rev and w["username"] == "alice" and w["kind"] == "put"
                          and w["fate"]["node1"] == "rejected_auth_revision" for w in d["wal"])
                  and f"node1 has authRevision {base_rev + SKEW}" in d["reason"])
            check(ok, f"{key} (through node{via}): present as etcd says, traced to alice's put with "
                      f"auth_revision {base_rev}, rejected by node1 ({d.get('reason')})")

        v = report["verdict"]
        check(v["cause"] == "auth_revision_skew", f"verdict cause is authRevision skew ({v['cause']})")
        check(f"node1={base_rev + SKEW}" in v["explanation"], f"verdict names node1's authRevision: {v['explanation']}")
        check(v["most_complete_node"] in ("node2", "node3"),
              f"most complete member is one holding every key ({v['most_complete_node']})")

        text = subprocess.run([DIFF_DB, *(f"node{i}={d}" for i, d in dirs.items())],
                              capture_output=True, text=True, timeout=120)
        check("authRevision skew" in text.stdout and text.returncode == 1,
              "the text report names the skew too")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
