#!/usr/bin/env python3
"""dump-wal against etcd's own wal package.

For every node of a fixture, the entries dump-wal lists (index, term, kind,
keys, header id / username / auth_revision) must equal truth/nodeN.refwal.json,
which etcd 3.4.23's wal.ReadAll produced from the same files, and the hard
state, node and cluster ids must agree too.

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
    for line in out.stdout.splitlines():
        rec = json.loads(line)
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


def convert(rec):
    req = rec["request"]
    e = {"index": rec["index"], "term": rec["term"]}
    if rec["type"] == "conf_change":
        e["type"] = "conf_change"
        e["kind"] = req["conf_change"].get("type", "ConfChangeAddNode")
    else:
        e["type"] = rec["type"]
        e["kind"] = req["kind"]
    hdr = req.get("header")
    e["auth_revision"] = int(hdr["auth_revision"]) if hdr else 0
    e["id"] = int(hdr["id"]) if hdr else 0
    if hdr and text(hdr["username"]):
        e["username"] = text(hdr["username"])
    keys = ref_keys(req)
    if keys:
        e["keys"] = keys
    return e


def main():
    dump_wal, fixture = sys.argv[1], Path(sys.argv[2])
    failures = 0
    nodes = sorted(p for p in fixture.glob("node*") if (p / "member" / "wal").is_dir())
    if not nodes:
        sys.exit(f"no nodes under {fixture}")
    for node in nodes:
        ref = json.loads((fixture / "truth" / f"{node.name}.refwal.json").read_text())
        entries, state, meta = ours(dump_wal, node / "member" / "wal")
        got = [convert(r) for r in entries]
        want = ref["entries"]
        for w in want:   # refdump sets no header id for entries without a header
            w.setdefault("id", 0)
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
        print(f"{node.name}: {len(got)} entries compared")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
