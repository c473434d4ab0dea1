#!/usr/bin/env python3
"""Evidence as SREs are handed it (issue 14), on files a real etcd 3.4.23
wrote (testdata/fixtures/evidence.tar.gz, see testdata/README.md; the older
fixtures; auger's Kubernetes db) against what etcd and its tools reported:

- `etcdctl snapshot save` files: recognised, digest verified (a flipped
  digest is damage, finding sha256), the db part read like any db and equal
  to what `etcdctl snapshot status` said of it;
- leftovers of a data dir (a .snap.db a crash left between receive and
  apply, a db.tmp.* of a killed defragmentation) listed by status, each
  readable as a db, and named by diff-db's verdicts;
- a meta naming the wrong page type (auger's db) in status, as check says;
- consistent_index of a 3.4 db said to trail the applied index, which the
  live member reported above it;
- one line for a wrong option;
- dump-wal refusing what is not a WAL, naming what it is; several members'
  data dirs (cp -a under load) each read and summarised on its own; a
  truncated .wal.gz; the first segments of a longer WAL;
- Kubernetes objects in dump-db and dump-wal, text and JSON, with --kind and
  --namespace, against what the writer encoded and auger decoded.

usage: evidence.py DUMP_WAL DUMP_DB FIXTURES_DIR DIFF_DB
"""
import base64
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

DUMP_WAL, DUMP_DB, FX = sys.argv[1], sys.argv[2], Path(sys.argv[3])
DIFF_DB = sys.argv[4]
EV = FX / "evidence"
TRUTH = EV / "truth"
AUGER = Path(os.environ["KVF_TESTDATA"]) / "peer-auger"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(tool, *args, rc=None):
    p = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, errors="replace", timeout=120)
    if rc is not None:
        check(p.returncode == rc, f"{Path(tool).name} {' '.join(map(str, args))}: exit {p.returncode}, "
              f"want {rc}; stderr {p.stderr.strip()[:400]}")
    return p


def db(*args, rc=None):
    return run(DUMP_DB, *args, rc=rc)


def wal(*args, rc=None):
    return run(DUMP_WAL, *args, rc=rc)


def jdoc(p):
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError:
        check(False, f"not one JSON document: {p.stdout[:300]!r}")
        return {}


def jlines(p):
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def truth(name):
    return json.loads((TRUTH / name).read_text())


def bytes_of(v):
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()


# ---- snapshot files ----

def snapshot_files(tmp):
    t = truth("snapshot.json")
    snap = EV / "snapshot" / "node1.snapshot.db"
    data = snap.read_bytes()
    check(t["size"] == len(data) and len(data) % 512 == 32, "the fixture is an etcdctl snapshot file")
    p = db("status", snap, rc=0)
    check("snapshot file" in p.stdout and "(matches)" in p.stdout, f"status names the snapshot file: {p.stdout[:600]}")
    st = jdoc(db("-o", "json", "status", snap, rc=0))
    sf = st.get("snapshot_file") or {}
    check(sf.get("sha256_ok") is True and sf.get("sha256") == t["stored_digest"]
          and sf.get("sha256_computed") == hashlib.sha256(data[:-32]).hexdigest() == t["sha256_of_db_part"]
          and sf.get("db_size") == len(data) - 32, f"status snapshot_file {sf} vs truth {t}")
    es = t["etcdctl_snapshot_status"]
    check(st.get("revision") == es["revision"], f"revision {st.get('revision')} vs etcdctl snapshot status {es}")
    bk = jdoc(db("-o", "json", "buckets", snap, rc=0))
    total = sum(b["entries"] for b in bk.get("buckets", []))
    check(total == es["totalKey"], f"pairs in all buckets {total} vs etcdctl's totalKey {es['totalKey']}")
    check(es["totalSize"] == len(data) - 32, "etcdctl's totalSize is the db part")
    c = db("check", snap, rc=0)
    check("SHA-256 matches" in c.stdout, f"check says the digest matches: {c.stdout}")
    # every command reads the db part: the same keys as the db part alone
    plain = tmp / "db-part"
    plain.write_bytes(data[:-32])
    check(db("-o", "json", "keys", snap, rc=0).stdout == db("-o", "json", "keys", plain, rc=0).stdout,
          "keys of the snapshot file are those of its db part")
    h1, h2 = db("hashkv", snap, rc=0).stdout, db("hashkv", plain, rc=0).stdout
    check(h1 == h2, f"hashkv of the snapshot file {h1} vs its db part {h2}")
    check("snapshot_file" in jdoc(db("-o", "json", "status", plain, rc=0)) and
          jdoc(db("-o", "json", "status", plain))["snapshot_file"] is None, "the db part alone is no snapshot file")
    # the digest flipped: what etcdutl snapshot restore refuses
    bad = tmp / "flipped.snapshot.db"
    b = bytearray(data)
    b[-1] ^= 0x01
    bad.write_bytes(bytes(b))
    c = jdoc(db("-o", "json", "check", bad, rc=1))
    f = [x for x in c.get("findings", []) if x["message"].startswith("sha256")]
    check(f and f[0]["offset"] == len(data) - 32, f"check names sha256 at the digest: {c}")
    check(c.get("snapshot_file", {}).get("sha256_ok") is False, "check's snapshot_file says mismatch")
    # the flip is in the digest's last byte: only full digests show where they differ
    stored, computed = bytes(b[-32:]).hex(), hashlib.sha256(data[:-32]).hexdigest()
    check(stored[:-1] == computed[:-1] and stored != computed, "the flip is in the last hex digit")
    for msg in [x["message"] for x in f] + [l for l in db("check", bad, rc=1).stdout.splitlines() if "sha256" in l]:
        check(f"digest {stored} " in msg and f"({computed})" in msg, f"check quotes both digests in full: {msg}")
    p = db("status", bad, rc=1)
    check("MISMATCH" in p.stdout, f"status says the digest does not match: {p.stdout[:500]}")
    # gzip-compressed: the same file
    gz = tmp / "node1.snapshot.db.gz"
    gz.write_bytes(gzip.compress(data))
    check(jdoc(db("-o", "json", "status", gz, rc=0)).get("snapshot_file", {}).get("sha256_ok") is True,
          "a gzip'd snapshot file is recognised too")


# ---- leftovers ----

def leftovers():
    t = truth("leftovers.json")
    st = jdoc(db("-o", "json", "status", EV / "leftovers" / "node3", rc=0))
    lo = st.get("leftovers", [])
    check(len(lo) == 1 and lo[0]["kind"] == "snap_db" and Path(lo[0]["path"]).name == t["snap_db"]
          and lo[0]["size"] == t["snap_db_size"] and lo[0]["snap_index"] == int(t["snap_db"][:16], 16)
          and lo[0]["readable"], f"node3's .snap.db leftover: {lo} vs {t['snap_db']}")
    if lo:
        # the leader's db at its snapshot: it had applied the snapshot index
        check(st["consistent_index"] < lo[0]["consistent_index"] <= lo[0]["snap_index"],
              f"the .snap.db is ahead of node3's db and at most at its index: {lo[0]}, db {st['consistent_index']}")
        p = db("status", EV / "leftovers" / "node3", rc=0)
        check(t["snap_db"] in p.stdout and "never applied" in p.stdout, f"status text names the .snap.db: {p.stdout}")
        keys = jlines(db("-o", "json", "keys", "--prefix", "/bulk/", lo[0]["path"], rc=0))
        check(len(keys) == 1000, f"the .snap.db reads as a db: {len(keys)} /bulk/ keys, want 1000")
        check(db("check", lo[0]["path"], rc=0).returncode == 0, "the .snap.db is an intact db")
    st = jdoc(db("-o", "json", "status", EV / "leftovers" / "node2", rc=0))
    lo = st.get("leftovers", [])
    check(len(lo) == 1 and lo[0]["kind"] == "defrag_tmp" and Path(lo[0]["path"]).name == t["db_tmp"]
          and lo[0]["size"] == t["db_tmp_size"], f"node2's db.tmp leftover: {lo} vs {t['db_tmp']}")
    if lo:
        p = db("status", lo[0]["path"])
        check(p.returncode in (0, 1) and "format" in p.stdout, f"the db.tmp reads as a db: {p.returncode} {p.stderr}")
    check(jdoc(db("-o", "json", "status", EV / "copies" / "node1", rc=0)).get("leftovers") == [],
          "no leftovers where there are none")


def diff(*args, rc=None):
    return run(DIFF_DB, *args, rc=rc)


def leftovers_diff():
    """diff-db on the copies with leftovers: the two verdicts name the files
    etcd left (truth/leftovers.json: names and sizes as listed after the
    kills), no divergence, exit 0; a .snap.db given as an input is read."""
    t = truth("leftovers.json")
    lo = EV / "leftovers"
    snap_db = lo / "node3" / "member" / "snap" / t["snap_db"]
    db_tmp = lo / "node2" / "member" / "snap" / t["db_tmp"]
    check(snap_db.stat().st_size == t["snap_db_size"] and db_tmp.stat().st_size == t["db_tmp_size"],
          "the fixture's leftovers are those truth/leftovers.json names")
    inputs = [EV / "copies" / "node1", lo / "node2", lo / "node3"]
    want = {"leftover_snapshot": ("node3", snap_db, t["snap_db"], t["snap_db_size"]),
            "interrupted_defrag": ("node2", db_tmp, t["db_tmp"], t["db_tmp_size"])}
    d = jdoc(diff("-o", "json", *inputs, rc=0))
    vs = d.get("verdicts", [])
    check(d.get("divergent") is False and not [v for v in vs if v["divergence"]],
          f"diff-db leftovers: no divergence: {[(v['kind'], v['divergence']) for v in vs]}")
    for kind, (member, path, name, size) in want.items():
        got = [v for v in vs if v["kind"] == kind]
        check(len(got) == 1 and got[0]["member"] == member and got[0]["divergence"] is False
              and name in got[0]["headline"]
              and any(e.get("file") == str(path) and e["text"].startswith(f"{name}: {size} bytes")
                      for e in got[0]["evidence"]),
              f"diff-db JSON {kind}: want {member}, {path} of {size} bytes: {got}")
    p = diff(*inputs, rc=0)
    for kind, (member, path, name, size) in want.items():
        heads = [l for l in p.stdout.splitlines() if l.strip().startswith(f"[{kind}] {member}:")]
        ev = [l for l in p.stdout.splitlines() if l.strip() == f"- {name}: {size} bytes ({path})"]
        check(len(heads) == 1 and name in heads[0] and len(ev) == 1,
              f"diff-db text {kind}: {heads} / {ev}\n{p.stdout[-3000:]}")
    # the .snap.db as an input: read as the db it is (the leader's at its
    # snapshot index, the index in its name; the revision the leader reported)
    d = jdoc(diff("-o", "json", EV / "copies" / "node1", snap_db, rc=0))
    nodes = {n["name"]: n for n in d.get("nodes", [])}
    n = nodes.get(t["snap_db"], {})
    check(n.get("db") == str(snap_db) and n.get("db_size") == t["snap_db_size"]
          and n.get("revision") == t["leader_status"]["header"]["revision"]
          and 0 < n.get("consistent_index", 0) <= int(t["snap_db"][:16], 16)
          and d.get("divergent") is False,
          f"diff-db reads the .snap.db: {n} (leader revision {t['leader_status']['header']['revision']})")


# ---- status: meta problems, consistent_index ----

def status_lines():
    auger = AUGER / "boltdb" / "db"
    c = jdoc(db("-o", "json", "check", auger, rc=1))
    cf = [f for f in c["findings"] if "freelist" in f["message"]]
    p = db("status", auger, rc=1)
    lines = [l for l in p.stdout.splitlines() if "freelist" in l]
    check(len(lines) == 1 and "page 2" in lines[0] and "leaf" in lines[0] and
          (not cf or f"offset {cf[0]['offset']}" in lines[0]),
          f"status has one line for the freelist on a leaf page: {lines}, check: {cf}")
    mp = jdoc(db("-o", "json", "status", auger)).get("meta_problems", [])
    check(len(mp) == 1 and mp[0]["page"] == 2 and cf and mp[0]["offset"] == cf[0]["offset"],
          f"status JSON meta_problems {mp} vs check {cf}")
    check(jdoc(db("-o", "json", "status", FX / "healthy" / "node1", rc=0)).get("meta_problems") == [],
          "no meta problem on a sound db")
    # 3.4 saves consistent_index only with changes: the live member applied more
    for i in (1, 2, 3):
        live = json.loads((FX / "healthy" / "truth" / "final" / f"node{i}.status.json").read_text())[0]["Status"]
        st = jdoc(db("-o", "json", "status", FX / "healthy" / f"node{i}", rc=0))
        check(st["consistent_index_saved"] == "with_changes" and st["consistent_index"] < live["raftAppliedIndex"],
              f"node{i}: consistent_index {st['consistent_index']} trails raftAppliedIndex "
              f"{live['raftAppliedIndex']} ({st['consistent_index_saved']})")
        p = db("status", FX / "healthy" / f"node{i}")
        check("trail the applied index" in p.stdout, "status text says consistent_index may trail")


# ---- options ----

def options():
    for tool, extra in ((DUMP_WAL, []), (DUMP_DB, ["status"]), (DIFF_DB, [])):
        for bad in (["--bogus"], ["-x"], ["-o"]):
            p = run(tool, *bad, *extra, rc=2)
            lines = p.stderr.splitlines()
            check(len(lines) == 1 and (bad[0] in lines[0] or bad[0].lstrip("-") in lines[0])
                  and not lines[0].startswith("/"), f"{Path(tool).name} {bad}: one line naming it: {lines}")


# ---- dump-wal inputs ----

def wal_inputs(tmp):
    snap_named = next((FX / "multiseg" / "node1" / "member" / "snap").glob("*.snap"))
    snap_copy = tmp / "raft-snapshot.bin"
    shutil.copyfile(snap_named, snap_copy)
    text = tmp / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    bolt2lmdb = Path(os.environ["KVF_BUILD"]) / "tests" / "bolt2lmdb"
    subprocess.run([bolt2lmdb, FX / "healthy/node1/member/snap/db", tmp / "lmdb"], check=True, capture_output=True)
    for path, says, reader in ((FX / "healthy/node1/member/snap/db", "bbolt", "dump-db"),
                               (EV / "snapshot" / "node1.snapshot.db", "snapshot file", "dump-db"),
                               (snap_copy, ".snap", "dump-wal --snap"),
                               (tmp / "lmdb" / "data.mdb", "LMDB", "dump-db"),
                               (text, "no WAL record", None)):
        p = wal(path, rc=2)
        check("not an etcd WAL segment" in p.stderr and says in p.stderr and (reader is None or reader in p.stderr)
              and not p.stdout.strip(), f"dump-wal {path.name}: {p.stderr.strip()} / {p.stdout[:200]}")
        wal("--summary", FX / "healthy" / "node1", path, rc=2)

    # several members: each on its own
    copies = [EV / "copies" / f"node{i}" for i in (1, 2, 3)]
    doc = jdoc(wal("-o", "json", "--summary", *copies, rc=0))
    ms = doc.get("members", [])
    members = {m["name"]: m["ID"] for m in truth("members.json")["members"]}
    st = truth("copies.json")
    check(len(ms) == 3, f"three members summarised: {len(ms)}")
    for m, path in zip(ms, copies):
        name = path.name
        check(m["member"] == str(path) and m["damage"] == 0 and not m["findings"].get("segment_duplicate")
              and not m["findings"].get("metadata_conflict") and not m["findings"].get("crc_mismatch"),
              f"{name}: clean on its own: {m.get('findings')}")
        check(int(m["metadata"]["node_id"], 16) == members[name], f"{name}: its own node id {m['metadata']}")
        check(m["last_index"] >= st[name]["raftIndex"], f"{name}: last index {m['last_index']} covers the "
              f"raftIndex {st[name]['raftIndex']} it reported before the copy")
        for f in m.get("damage_list", []):
            check(f["member"] == str(path) and f["path"].startswith(str(path)), f"finding names member and path: {f}")
    check(len({m["last_index"] for m in ms}) == 3, "copies taken at different moments end at different indexes")
    p = wal("--verify", *[f"n{i}={c}" for i, c in enumerate(copies, 1)], rc=0)
    for i, c in enumerate(copies, 1):
        check(f"== n{i}: {c}" in p.stdout and f"n{i}: 1 segment(s)" in p.stdout, f"labelled n{i}: {p.stdout[:800]}")
    zt = [l for l in p.stdout.splitlines() if "zero_tail" in l]
    check(len(zt) == 3 and all(l.split()[1].startswith("n") and "/member/wal/" in l for l in zt),
          f"findings name member and segment path: {zt}")
    # a shell glob of a wal dir names etcd's preallocated N.tmp: skipped, said so
    listed = sorted((EV / "copies" / "node1" / "member" / "wal").iterdir())
    check(any(p.name.endswith(".tmp") for p in listed), "the copy has etcd's preallocated 0.tmp")
    p = wal("--verify", *listed, rc=0)
    check("clean" in p.stdout and "preallocated next segment" in p.stderr and "empty_segment" not in p.stdout,
          f"wal/* is one clean log: {p.stdout.strip()} / {p.stderr.strip()}")
    # segment files of one WAL are one log, as before
    segs = sorted((FX / "multiseg" / "node1" / "member" / "wal").glob("*.wal"))
    one = jdoc(wal("-o", "json", "--summary", *segs, rc=0))
    check("members" not in one and one.get("segments") == 2, "segment files given one by one are one log")


def empty_and_gz(tmp):
    """A 0-byte file: etcd names a segment only once it is preallocated and
    holds its first records (wal.go cut renames the pipeline's N.tmp), so a
    0-byte file named like a segment, in a member's wal dir or alone, is a
    segment that lost them (empty_segment, exit 1); any other 0-byte file is
    not a WAL (exit 2). A gzip'd snapshot file is named as one."""
    seg = "0000000000000000-0000000000000000.wal"
    for name in ("empty", "empty.wal", "0.wal"):
        f = tmp / name
        f.write_bytes(b"")
        p = wal(f, rc=2)
        check("not an etcd WAL segment" in p.stderr and "empty file" in p.stderr and "dump-db" not in p.stderr
              and not p.stdout.strip(), f"dump-wal on a 0-byte {name}: {p.stderr.strip()} / {p.stdout[:200]}")
    dd = tmp / "node" / "member"
    shutil.copytree(FX / "healthy" / "node1" / "member" / "snap", dd / "snap")
    (dd / "wal").mkdir()
    (dd / "wal" / seg).write_bytes(b"")
    for path in (tmp / "node", dd / "wal", dd / "wal" / seg):
        fs = [r for r in jlines(wal("-o", "json", path, rc=1)) if r.get("finding")]
        check([(f["finding"], f["offset"], f.get("damage")) for f in fs] == [("empty_segment", 0, True)]
              if fs else False, f"dump-wal on a 0-byte {seg} ({path.name}): {fs}")
    snap = (EV / "snapshot" / "node1.snapshot.db").read_bytes()
    dbf = (FX / "healthy" / "node1" / "member" / "snap" / "db").read_bytes()
    check(len(snap) > (64 << 10) + 24 and len(dbf) % 512 == 0, "both are longer than what identify reads first")
    for name, data, says, not_says in (("snap.db.gz", snap, "snapshot file", "segment: a bbolt database"),
                                       ("db.gz", dbf, "a bbolt database", "snapshot file")):
        f = tmp / name
        f.write_bytes(gzip.compress(data))
        p = wal(f, rc=2)
        # the message without the path: a temp dir's random name holds any letters
        msg = p.stderr.replace(str(f), "PATH")
        check("not an etcd WAL segment" in msg and says in msg and not_says not in msg
              and "dump-db reads it" in msg, f"dump-wal on a gzip'd {name}: {p.stderr.strip()}")


def gz_truncated(tmp):
    """A partial upload of a .wal.gz: cut inside the records, and inside the
    zeros after them (the whole 64 MB segment compressed, cut in half)."""
    seg = FX / "healthy/node1/member/wal/0000000000000000-0000000000000000.wal"
    data = seg.read_bytes()
    for case, whole in (("records", False), ("zeros", True)):
        body = data
        if not whole:   # the records and a little of the zeros: the cut lands in the records
            body = data[:60000 + 8192]
        gz = gzip.compress(body)
        cut = gz[:len(gz) // 2]
        inflated = zlib.decompressobj(31).decompress(cut)
        frames, off, in_zeros = [], 0, False
        while off + 8 <= len(inflated):
            w = struct.unpack_from("<Q", inflated, off)[0]
            n = w & ((1 << 56) - 1)
            end = off + 8 + n + ((w >> 56) & 7 if w >> 63 else 0)
            if w == 0:
                in_zeros = True
                break
            if end > len(inflated):
                break
            frames.append((off, inflated[off + 8:off + 10]))
            off = end
        d = tmp / f"gzwal-{case}"
        d.mkdir()
        (d / (seg.name + ".gz")).write_bytes(cut)
        recs = jlines(wal("-o", "json", "--records", d, rc=1))
        entries = [r for r in recs if r.get("record") == "entry"]
        want = sum(1 for _, head in frames if head == b"\x08\x02")
        check(len(entries) == want and want > 100, f"{case}: every entry before the cut: {len(entries)}, want {want}")
        tr = [r for r in recs if r.get("finding") == "truncated"]
        at = len(inflated) if in_zeros else off
        check(in_zeros == whole, f"{case}: the cut is where the case says")
        check(len(tr) == 1 and tr[0]["offset"] == at and tr[0]["damage"], f"{case}: truncated at {at}: {tr}")


def first_segments(tmp):
    segs = sorted((FX / "multiseg" / "node1" / "member" / "wal").glob("*.wal"))
    d = tmp / "first"
    d.mkdir()
    shutil.copyfile(segs[0], d / segs[0].name)
    v = jdoc(wal("-o", "json", "--verify", d, rc=0))
    check(v.get("verdict") == "clean" and v.get("incomplete") is True and v.get("next_segment") == segs[1].name,
          f"first segment alone: {v.get('verdict')}, next {v.get('next_segment')}, want {segs[1].name}")
    fs = [f for f in v.get("findings", []) if f["finding"] == "later_segments_missing"]
    check(len(fs) == 1 and not fs[0]["damage"] and segs[1].name in fs[0]["message"],
          f"later_segments_missing names the next segment: {fs}")
    check(not [f for f in v.get("findings", []) if f["finding"] == "truncated"], "not called a copy cut short")
    p = wal("--summary", d, rc=0)
    check("incomplete" in p.stdout and segs[1].name in p.stdout, f"summary says incomplete: {p.stdout[-400:]}")
    # both segments: complete, nothing missing
    v = jdoc(wal("-o", "json", "--verify", FX / "multiseg" / "node1", rc=0))
    check(v.get("incomplete") is False, "the whole WAL is not incomplete")


# ---- Kubernetes objects ----

def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def same_object(got, w, key):
    """what dump-db/dump-wal show against what the writer encoded"""
    if w["encoding"] == "encrypted":
        return check(got == {"encoding": "encrypted", "provider": w["provider"], "key_name": w["key_name"]},
                     f"{key}: {got} vs {w}")
    want = {"encoding": w["encoding"], "api_version": w["apiVersion"], "kind": w["kind"], "name": w["name"],
            "uid": w["uid"], "creation_timestamp": iso(w["creationTimestamp"])}
    if w.get("namespace"):
        want["namespace"] = w["namespace"]
    if w.get("generateName"):
        want["generate_name"] = w["generateName"]
    if w.get("generation"):
        want["generation"] = w["generation"]
    if w.get("deletionTimestamp") is not None:
        want["deletion_timestamp"] = iso(w["deletionTimestamp"])
    if w.get("labels"):
        want["labels"] = w["labels"]
    if w.get("ownerReferences"):
        want["owner_references"] = [{"api_version": o["apiVersion"], "kind": o["kind"], "name": o["name"],
                                     "uid": o["uid"], "controller": o["controller"],
                                     "block_owner_deletion": o["blockOwnerDeletion"]} for o in w["ownerReferences"]]
    if w.get("finalizers"):
        want["finalizers"] = w["finalizers"]
    return check(got == want, f"{key}: got {got}\n want {want}")


def k8s(tmp):
    written = truth("k8s-written.json")
    final = {}
    for w in written:
        if w["op"] == "put":
            final[w["key"]] = w
        else:
            final.pop(w["key"], None)
    # etcd's own answer: the same keys and values as dump-db reads
    got = json.loads((TRUTH / "get-final.json").read_text())
    etcd_keys = {base64.b64decode(kv["key"]).decode() for kv in got["kvs"]}
    check(etcd_keys == set(final), f"the writer's final keys are etcd's: {sorted(etcd_keys ^ set(final))}")
    for src in (EV / "snapshot" / "node1.snapshot.db", EV / "copies" / "node3"):
        keys = {bytes_of(k["key"]).decode(): k for k in jlines(db("-o", "json", "keys", "--prefix", "/registry/",
                                                                  src, rc=0))}
        check(set(keys) == set(final), f"{src}: keys {sorted(set(keys) ^ set(final))}")
        for key, w in final.items():
            if key in keys:
                same_object(keys[key].get("k8s"), w, f"{src.name} {key}")
        for kinds, ns in (("Pod", "team-a"), ("pods", None), ("crontabs", None), ("CronTab", "default"),
                          (None, "default"), (None, ""), ("Job,Namespace", None), ("Secret", None)):
            args = (["--kind", kinds] if kinds else []) + (["--namespace", ns] if ns is not None else [])
            sel = {bytes_of(k["key"]).decode() for k in jlines(db("-o", "json", "keys", *args, src, rc=0))}
            want = {k for k, w in final.items() if w["encoding"] != "encrypted"
                    and (kinds is None or w["kind"].lower() in
                         {x.lower().rstrip("s") for x in kinds.split(",")})
                    and (ns is None or w.get("namespace", "") == ns)}
            check(sel == want, f"{src.name}: keys {args}: {sorted(sel ^ want)}")
    # dump key: every revision, filtered by object
    revs = jlines(db("-o", "json", "dump", "key", "--kind", "Pod", "--namespace", "team-a",
                     EV / "snapshot" / "node1.snapshot.db", rc=0))
    want = [w for w in written if w["op"] == "put" and w.get("kind") == "Pod" and w.get("namespace") == "team-a"]
    check([(r["revision"]["main"], bytes_of(r["key"]).decode()) for r in revs] ==
          [(w["revision"], w["key"]) for w in want], "dump key --kind Pod --namespace team-a: every revision")
    for r, w in zip(revs, want):
        same_object(r.get("k8s"), w, f"dump key revision {w['revision']}")
    p = db("keys", "--kind", "Pod", "--namespace", "team-a", EV / "snapshot" / "node1.snapshot.db", rc=0)
    stuck = [l for l in p.stdout.splitlines() if "web-7d9f8c-04" in l]
    check(stuck and "[Pod team-a/web-7d9f8c-04 v1" in stuck[0] and "deletion=" in stuck[0] and
          "owner=ReplicaSet/web-7d9f8c" in stuck[0] and "finalizers=1" in stuck[0],
          f"text shows the pod stuck in deletion: {stuck}")

    # dump-wal: the puts of Kubernetes objects, in txns as the API server writes
    ents = [e for e in jlines(wal("-o", "json", "--kind", "Pod", "--namespace", "team-a", EV / "copies" / "node3",
                                  rc=0)) if e.get("record") == "entry"]
    check([(e["k8s"][0]["key"]) for e in ents] == [w["key"] for w in want] and
          all(e["request"]["kind"] == "txn" for e in ents), f"dump-wal --kind Pod --namespace team-a: "
          f"{[e.get('k8s', [{}])[0].get('key') for e in ents]}")
    for e, w in zip(ents, want):
        o = dict(e["k8s"][0])
        o.pop("key")
        same_object(o, w, f"dump-wal entry {e['index']}")
    p = wal("--kind", "CronTab", EV / "copies" / "node3", rc=0)
    lines = [l for l in p.stdout.splitlines() if "txn" in l]
    check(len(lines) == 4 and all("[CronTab " in l and "stable.example.com/v1" in l for l in lines),
          f"dump-wal text shows the custom resources: {lines}")
    secrets = [e for e in jlines(wal("-o", "json", "--key-prefix", "/registry/secrets/", EV / "copies" / "node3",
                                     rc=0)) if e.get("record") == "entry"]
    check(len(secrets) == 2 and all(e["k8s"][0]["encoding"] == "encrypted" for e in secrets),
          f"encrypted values named as such: {[e.get('k8s') for e in secrets]}")
    check(wal("--kind", "Pod", "--namespace", "nowhere", EV / "copies" / "node3", rc=0).stdout.count("txn") == 0,
          "no pods in namespace nowhere")

    # auger's own decoding of the Kubernetes db it ships
    keys = {bytes_of(k["key"]).decode(): k.get("k8s") for k in jlines(db("-o", "json", "keys", AUGER / "boltdb/db"))}
    for name, key in (("pod", "/registry/pods/default/pi-dqtsw"), ("job", "/registry/jobs/default/pi")):
        a = json.loads((AUGER / "json" / f"{name}.json").read_text())
        md, got = a["metadata"], keys.get(key) or {}
        want = {"kind": a["kind"], "api_version": a["apiVersion"], "name": md["name"],
                "namespace": md["namespace"], "uid": md["uid"], "creation_timestamp": md["creationTimestamp"],
                "labels": md.get("labels")}
        check({k: got.get(k) for k in want} == want, f"auger's {name}: {got} vs {want}")
        owners = [{"api_version": o["apiVersion"], "kind": o["kind"], "name": o["name"], "uid": o["uid"],
                   "controller": o.get("controller", False), "block_owner_deletion": o.get("blockOwnerDeletion", False)}
                  for o in md.get("ownerReferences", [])]
        check(got.get("owner_references", []) == owners, f"auger's {name} owners: {got.get('owner_references')}")


def main():
    with tempfile.TemporaryDirectory(prefix="kvf-evidence-") as t:
        tmp = Path(t)
        for part in (snapshot_files, leftovers, leftovers_diff, status_lines, options, wal_inputs, empty_and_gz, gz_truncated,
                     first_segments,
                     k8s):
            sub = tmp / part.__name__
            sub.mkdir()
            try:
                part(sub) if part.__code__.co_argcount else part()
            except Exception as e:   # a crash of the test is a failure with its reason
                failures.append(f"{part.__name__}: {type(e).__name__}: {e}")
    for f in failures:
        print("FAIL:", f)
    print(f"evidence: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
