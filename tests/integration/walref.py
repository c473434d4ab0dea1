#!/usr/bin/env python3
"""dump-wal against etcd's own wal package.

For every node of a fixture, the entries dump-wal lists (index, term, kind,
keys, header id / username / auth_revision) must equal truth/nodeN.refwal.json,
which the wal.ReadAll of the etcd that wrote the files produced (3.4.23's for
the 3.4 fixtures, tests/refdump's 3.5/3.6/3.7 for the others), and the hard
state, node and cluster ids must agree too. The newer references say more,
and then so must we: a v2 request's method and path, which password field an
auth_user_add carries, a conf change's member, the valid snapshot records
with their conf_state, and (3.6+) etcd's MinimalEtcdVersion of the entries
after the last of them.

usage: walref.py DUMP_WAL FIXTURE_DIR
"""
import base64
import json
import subprocess
import sys
from pathlib import Path


def text(v):
    if isinstance(v, dict) and "base64" in v:
        return base64.b64decode(v["base64"]).decode("utf-8", "surrogateescape")
    return v


def ref_keys(req):
    """The keys refdump lists: put/delete/range key, txn put+delete keys."""
    kind = req["kind"]
    body = req.get(kind, {})
    if kind in ("put", "delete_range", "range"):
        return [text(body.get("key", ""))]
    if kind == "txn":
        keys = []
        for branch in ("success", "failure"):
            for op in body.get(branch, []):
                if "request_put" in op:
                    keys.append(text(op["request_put"].get("key", "")))
                if "request_delete_range" in op:
                    keys.append(text(op["request_delete_range"].get("key", "")))
        return keys
    return None


def ours(dump_wal, wal_dir):
    out = subprocess.run([dump_wal, "-o", "json", str(wal_dir)], check=False,
                         capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"dump-wal failed ({out.returncode}): {out.stderr}")
    entries, state, meta = [], None, None
    ours.snapshots = []
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("record") == "snapshot":
            ours.snapshots.append(rec)
        if rec.get("record") == "state":
            state = rec
        elif rec.get("record") == "metadata":
            meta = rec
        elif rec.get("record") == "entry":
            # etcd's reader keeps the newest entry at each index: replay that
            idx = rec["index"]
            while entries and entries[-1]["index"] >= idx:
                entries.pop()
            entries.append(rec)
    return entries, state, meta


def convert(rec, want):
    """Our entry in refdump's terms, with the optional fields `want` has."""
    req = rec["request"]
    e = {"index": rec["index"], "term": rec["term"]}
    if rec["type"] == "conf_change":
        e["type"] = "conf_change"
        cc = req.get("conf_change", {})
        e["kind"] = cc.get("type", "ConfChangeAddNode") if "conf_change" in req else req["kind"]
        if "node_id" in want:
            e["node_id"] = f"{int(cc.get('node_id', '0')):016x}"
    else:
        e["type"] = rec["type"]
        e["kind"] = req["kind"]
        # 3.4's refdump names every legacy request "v2"; the newer ones name
        # them as we do (refdump/common V2Kind) and give the method and path
        if e["kind"].startswith("v2_") and want.get("kind") == "v2" and "method" not in want:
            e["kind"] = "v2"
        v2 = req.get("v2")
        if v2 is not None and "method" in want:   # (refdump leaves an empty path out)
            e["method"] = text(v2.get("Method", ""))
            if text(v2.get("Path", "")) or "path" in want:
                e["path"] = text(v2.get("Path", ""))
        body = req.get(req["kind"], {})
        for ours, theirs in (("password", "plain_password"), ("hashedPassword", "hashed_password")):
            if theirs in want:
                e[theirs] = ours in body
    hdr = req.get("header")
    e["auth_revision"] = int(hdr["auth_revision"]) if hdr else 0
    e["id"] = int(hdr["id"]) if hdr else 0
    if hdr and text(hdr["username"]):
        e["username"] = text(hdr["username"])
    keys = ref_keys(req)
    if keys:
        e["keys"] = keys
    return e


def min_version(dump_wal, node, want):
    """--summary's lowest etcd against wal.ReadWALVersion's MinimalEtcdVersion;
    where etcd's own answer is a panic (3.7 on a v2 entry), we must name the
    entries it fails on."""
    p = subprocess.run([dump_wal, "--summary", "-o", "json", str(node / "member" / "wal")],
                       capture_output=True, text=True)
    v = json.loads(p.stdout)["etcd_version"]
    bad = []
    if v["after_snapshot_index"] != want["after_snapshot_index"]:
        bad.append(f"after snapshot {v['after_snapshot_index']}, etcd {want['after_snapshot_index']}")
    if "panic" in want:
        if not (v["v2_requests"] or v["undecodable"]):
            bad.append(f"etcd's MinimalEtcdVersion panics ({want['panic']}), we name no entry: {v}")
    elif (v["min"] or "") != want.get("version", ""):
        bad.append(f"lowest etcd {v['min']}, etcd says {want.get('version') or want}")
    for b in bad:
        print(f"{node.name}: {b}")
    return len(bad)


def main():
    dump_wal, fixture = sys.argv[1], Path(sys.argv[2])
    failures = 0
    nodes = sorted(p for p in fixture.glob("node*") if (p / "member" / "wal").is_dir())
    if not nodes:
        sys.exit(f"no nodes under {fixture}")
    for node in nodes:
        ref = json.loads((fixture / "truth" / f"{node.name}.refwal.json").read_text())
        entries, state, meta = ours(dump_wal, node / "member" / "wal")
        # a member that joined from a leader's snapshot: etcd reads its WAL
        # from that snapshot record on (refdump says from which)
        entries = [e for e in entries if e["index"] > ref.get("read_from_snapshot", 0)]
        want = ref["entries"]
        for w in want:   # refdump sets no header id for entries without a header
            w.setdefault("id", 0)
        got = [convert(r, w) for r, w in zip(entries, want + [{}] * len(entries))]
        if len(got) != len(want):
            print(f"{node.name}: {len(got)} entries, etcd reads {len(want)}")
            failures += 1
        for g, w in zip(got, want):
            if g != w:
                print(f"{node.name}: entry differs:\n  ours: {g}\n  etcd: {w}")
                failures += 1
                break
        hs = ref["hardstate"]
        if state is None or (state["term"], int(state["vote"], 16), state["commit"]) != \
                (hs["term"], hs["vote"], hs["commit"]):
            print(f"{node.name}: hard state {state} != {hs}")
            failures += 1
        if meta is None or (meta["node_id"], meta["cluster_id"]) != (ref["node_id"], ref["cluster_id"]):
            print(f"{node.name}: metadata {meta} != {ref['node_id']}/{ref['cluster_id']}")
            failures += 1
        if "valid_snapshots" in ref:
            # wal.ValidSnapshotEntries: the snapshot records at or below the
            # last hard state's commit, with the conf_state 3.5+ writes
            got_s = [{"index": r["index"], "term": r["term"],
                      **({"conf_state": r["conf_state"]} if "conf_state" in r else {})}
                     for r in ours.snapshots if state and r["index"] <= state["commit"]]
            if got_s != ref["valid_snapshots"]:
                print(f"{node.name}: snapshot records {got_s}\n  etcd: {ref['valid_snapshots']}")
                failures += 1
        if "minimal_etcd_version" in ref:
            failures += min_version(dump_wal, node, ref["minimal_etcd_version"])
        print(f"{node.name}: {len(got)} entries compared")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
