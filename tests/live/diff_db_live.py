#!/usr/bin/env python3
"""diff-db on an auth-skew incident built with a real 3-member etcd cluster.

The test sets up auth (root, and alice with readwrite on /alice/), writes
through every member, stops the cluster, and raises authRevision by 2 in
place in ONE member's db -- the trace a double-applied auth request leaves
(etcd issue 11651). It restarts the cluster, writes through every member
again, stops it, and checks diff-db's account of the divergence against
what the test wrote and what each live member served.

etcd 3.4 facts the expectations rest on (sources: etcd 3.4.23):
- A member reads authRevision from its db when it starts (auth/store.go,
  NewAuthStore/getRevision) and, with no auth change made afterwards,
  never writes it again: the raised value holds on the skewed member.
- The header of a request carries the auth revision of the member that
  received it, taken from the token when it proposes (simple tokens:
  tokenSimple.info returns the member's current revision).
- Permissions are checked when each member applies the entry
  (auth/store.go isOpPermitted): a header auth_revision below the
  applying member's own is refused with ErrAuthOldRevision, on that member
  only, before any role is looked at (root included). So writes proposed
  through the normal members (revision N) are refused by the skewed member
  (N+2) alone; writes proposed through the skewed member (N+2) pass
  everywhere. A delete refused that way leaves the key on the skewed member.
- bbolt leaf pages carry no checksum (only the meta pages do), so editing
  the 8 bytes of the value in place is a valid db that etcd opens.
"""
import base64
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from livecheck import (check, etcd_version_arg, failures, member_logs,  # noqa: E402
                       report, start_cluster, timings)

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DIFF_DB = str(BUILD / "diff-db" / "diff-db")
SKEWED = int(os.environ.get("KVF_SKEWED_MEMBER", "2"))
NODES = (1, 2, 3)
NORMAL = tuple(i for i in NODES if i != SKEWED)


def text(v):
    return base64.b64decode(v["base64"]).decode() if isinstance(v, dict) else v


def run(prog, *args, rc=0):
    p = subprocess.run([prog, *map(str, args)], capture_output=True, text=True, timeout=120)
    check(p.returncode == rc, f"{Path(prog).name} {' '.join(map(str, args))}: exit {p.returncode}, "
          f"want {rc}; stderr: {p.stderr.strip()[:300]}")
    return p


def db_status(d):
    return json.loads(run(DUMP_DB, "-o", "json", "status", d).stdout)


def raise_auth_revision(data_dir, by):
    """Test-only: add `by` to authRevision in place in a db this test's own
    cluster wrote (never evidence). The offset comes from dump-db; the old
    value is checked before the 8 bytes (big-endian uint64) are written."""
    rows = [json.loads(l) for l in run(DUMP_DB, "-o", "json", "dump", "auth", data_dir).stdout.splitlines() if l]
    row = next(r for r in rows if r["key"] == "authRevision")
    db = Path(data_dir) / "member" / "snap" / "db"
    with open(db, "r+b") as f:
        f.seek(row["value_offset"])
        old = struct.unpack(">Q", f.read(8))[0]
        if old != row["value"]:
            raise RuntimeError(f"{db}@{row['value_offset']}: {old}, dump-db said {row['value']}")
        f.seek(row["value_offset"])
        f.write(struct.pack(">Q", old + by))
        f.flush()
        os.fsync(f.fileno())
    return old, old + by


def put(c, i, key, value, user):
    """The store revision the write made on member i."""
    return int(c.put(i, key, value, user=user)["header"]["revision"])


def live_keys(c, i):
    """Every key member i serves itself (serializable: its own store)."""
    return {k for k, _ in c.get(i, "", prefix=True, user="root", serializable=True)}


def main():
    t0 = time.monotonic()
    version = etcd_version_arg()
    c, rc = start_cluster(version, size=3)
    if c is None:
        return rc
    with c:
        timings["start"] = time.monotonic() - t0
        t = time.monotonic()
        c.user_add(1, "root", "rootpw")
        c.user_add(2, "alice", "alicepw")
        c.role_add(3, "alice-rw")
        c.grant_permission(1, "alice-rw", "readwrite", "/alice/", prefix=True)
        c.grant_role(2, "alice", "alice-rw")
        c.enable_auth(3)
        N = c.auth_revision
        check(N == 8, f"computed authRevision after setup: {N}, want 8 (1 + 7 auth changes)")
        before = set()
        for i in NODES:
            for n in range(1, 4):
                put(c, i, f"/alice/pre/via-node{i}/{n}", f"pre-{i}-{n}", "alice")
                before.add(f"/alice/pre/via-node{i}/{n}")
            put(c, i, f"/root/pre/via-node{i}", "pre", "root")
            before.add(f"/root/pre/via-node{i}")
        c.wait_converged()
        for i in NODES:
            check(live_keys(c, i) == before, f"node{i} before the skew: {sorted(live_keys(c, i) ^ before)}")
        codes = c.stop_all()
        check(all(rc == -15 for rc in codes.values()), f"first stop on SIGTERM: {codes}")
        timings["setup + first writes"] = time.monotonic() - t

        dirs = {i: c.data_dir(i) for i in NODES}
        for i in NODES:
            check(db_status(dirs[i])["auth_revision"] == N, f"node{i}: dump-db authRevision before the edit")
        old, new = raise_auth_revision(dirs[SKEWED], 2)
        check(old == N, f"node{SKEWED}: authRevision on disk {old}, want {N}")
        check(db_status(dirs[SKEWED])["auth_revision"] == N + 2, "dump-db reads the raised authRevision")
        run(DUMP_DB, "check", dirs[SKEWED])  # leaf pages have no checksum: still a clean db

        t = time.monotonic()
        c.restart_all(timeout=60)   # together: one member alone has no quorum
        timings["restart"] = time.monotonic() - t

        # after the skew: writes through every member, as alice and as root
        written = {i: set() for i in NODES}
        first_lost_rev = None  # the first revision the skewed member never made
        for i in NODES:
            for n in range(1, 5):
                rev = put(c, i, f"/alice/post/via-node{i}/{n}", f"post-{i}-{n}", "alice")
                if i != SKEWED and first_lost_rev is None:
                    first_lost_rev = rev
                written[i].add(f"/alice/post/via-node{i}/{n}")
            put(c, i, f"/root/post/via-node{i}", "post", "root")
            written[i].add(f"/root/post/via-node{i}")
        # a delete through a normal member: refused on the skewed one only
        gone = f"/alice/pre/via-node{SKEWED}/2"
        check(c.delete(NORMAL[0], gone, user="alice") == 1, f"delete {gone} through node{NORMAL[0]}")
        # and a delete through the skewed member: applied everywhere
        gone_all = f"/alice/pre/via-node{NORMAL[1]}/3"
        check(c.delete(SKEWED, gone_all, user="alice") == 1, f"delete {gone_all} through node{SKEWED}")

        c.wait_converged()
        seen = {i: live_keys(c, i) for i in NODES}
        codes = c.stop_all()
        check(all(rc == -15 for rc in codes.values()), f"second stop on SIGTERM: {codes}")

        # what the test expects, from what it wrote
        normal_final = (before | written[1] | written[2] | written[3]) - {gone, gone_all}
        skewed_final = (before | written[SKEWED]) - {gone_all}
        expect_div = {k: {f"node{i}": (k in (skewed_final if i == SKEWED else normal_final)) for i in NODES}
                      for k in normal_final ^ skewed_final}
        check(set(expect_div) == set().union(*(written[i] for i in NORMAL)) | {gone},
              "expected divergence is the normal members' writes after the skew")
        for i in NODES:
            want = skewed_final if i == SKEWED else normal_final
            check(seen[i] == want, f"node{i} served {sorted(seen[i] ^ want)} unlike the test's model")

        t = time.monotonic()
        st = {i: db_status(dirs[i]) for i in NODES}
        check({i: s["auth_revision"] for i, s in st.items()}
              == {i: (N + 2 if i == SKEWED else N) for i in NODES},
              f"dump-db auth revisions after the run: {[s['auth_revision'] for s in st.values()]}")
        args = ["-o", "json"]
        for i in NODES:
            args += ["--wal", f"node{i}={dirs[i] / 'member' / 'wal'}"]
        args += [f"node{i}={dirs[i]}" for i in NODES]
        p = run(DIFF_DB, *args, rc=1)
        d = json.loads(p.stdout)
        timings["diff-db"] = time.monotonic() - t

        ar = {n["name"]: n["auth_revision"] for n in d["nodes"]}
        check(ar == {f"node{i}": st[i]["auth_revision"] for i in NODES},
              f"diff-db auth revisions {ar} != dump-db status")
        got = {text(k["key"]): k["present"] for k in d["divergent_keys"]}
        check(got == expect_div, f"divergent keys: extra {sorted(set(got) - set(expect_div))}, "
              f"missing {sorted(set(expect_div) - set(got))}, presence differs "
              f"{[k for k in got if k in expect_div and got[k] != expect_div[k]]}")
        check(all(pr == {f"node{i}": k in seen[i] for i in NODES} for k, pr in got.items()),
              "diff-db presence agrees with what each live member served (get --consistency=s)")
        sk = f"node{SKEWED}"
        for k in d["divergent_keys"]:
            key = text(k["key"])
            check(k["cause"] == "auth_revision_rejected", f"{key}: cause {k['cause']}: {k['reason']}")
            rej = [w for w in k["wal"] if "rejected_auth_revision" in w["fate"].values()]
            check(len(rej) == 1, f"{key}: {len(rej)} rejected entries, want 1: {k['wal']}")
            for w in rej:
                want_fate = {f"node{i}": ("rejected_auth_revision" if i == SKEWED else "applied") for i in NODES}
                check(w["fate"] == want_fate, f"{key}: entry {w['index']} fate {w['fate']}")
                check(w["auth_revision"] == N, f"{key}: entry {w['index']} header auth_revision {w['auth_revision']}")
                check(w["kind"] == ("delete_range" if key == gone else "put") and w["deletes"] == (key == gone),
                      f"{key}: entry kind {w['kind']} deletes {w['deletes']}")
                check(w["username"] == ("root" if key.startswith("/root/") else "alice"),
                      f"{key}: user {w['username']}")
        v = d["verdict"]
        check(v["cause"] == "auth_revision_skew" and v["wal_used"] and v["differ"], f"verdict {v['cause']}")
        check(f"{sk}={N + 2}" in v["explanation"], f"verdict names {sk} and {N + 2}: {v['explanation']}")
        check(any(sk in e and f"from {N}" in e and f"to {N + 2}" in e for e in v["evidence"]),
              f"evidence shows {sk}'s jump {N} -> {N + 2}: {v['evidence']}")
        check(v["most_complete_node"] in {f"node{i}" for i in NORMAL}, f"most complete {v['most_complete_node']}")
        groups = sorted(sorted(g) for g in v["agreeing_groups"])
        check(groups == sorted([[sk], sorted(f"node{i}" for i in NORMAL)]), f"agreeing groups {groups}")
        h = d["history"]
        check(h["first_divergent_revision"] == first_lost_rev,
              f"first divergent revision {h['first_divergent_revision']}, want {first_lost_rev}")
        check(h["states"] == {f"node{i}": ("diverged" if i == SKEWED else "same") for i in NODES},
              f"history states {h['states']}")
        nodes = {n["name"]: n for n in d["nodes"]}
        check(nodes[sk]["rejected_writes"] == len(expect_div)
              and all(nodes[f"node{i}"]["rejected_writes"] == 0 for i in NORMAL),
              f"rejected writes per member: {[(n, x['rejected_writes']) for n, x in nodes.items()]}")
        print(f"diff-db verdict: {v['explanation']}")
        if failures:
            print(p.stdout[:3000], file=sys.stderr)
        member_logs(c, 10)
    timings["total"] = time.monotonic() - t0
    return report(f"skewed member node{SKEWED}: authRevision {N} -> {N + 2}; divergent keys expected "
          f"{len(expect_div)}, diff-db {len(d['divergent_keys'])}", known=("diff_db_live", c.bins.name))


if __name__ == "__main__":
    sys.exit(main())
