#!/usr/bin/env python3
"""Every tool on a fixture a real etcd 3.5, 3.6 or 3.7 wrote
(testdata/fixtures/etcd-<minor>.tar.gz, made by
tests/fixtures/make-version-fixture.py), against that etcd's own answers:
what it reported while it ran (truth/final/: endpoint status, member list,
auth status, get --consistency=s, endpoint hashkv --rev, `etcdutl snapshot
status` and 3.6+ `etcdutl hashkv` on private copies) and what its own Go
packages read from the files (truth/*.ref*.json, tests/refdump).

dump-db, for every member, the learner's leftover .snap.db and every
`etcdctl snapshot save` file:
  - status: consistent_index, term, confState, storageVersion and the
    schema etcd detects, cluster version, downgrade, auth, members, revision,
    compaction, key counts, the tombstone kept at the compaction revision;
    consistent_index, term and storageVersion equal endpoint status;
  - keys equal etcdctl get; hashkv at the compaction revision, after it, in
    the middle and at the head equals endpoint hashkv --rev, refdump's
    HashByRev and etcdutl hashkv (3.7; 3.6's panics on leases, #21105);
  - etcdutl snapshot status agrees (revision, totalKey, totalSize, version);
  - nothing under the fixture changes.
dump-wal (walref.py holds the entries to refdump): the .snap files (index,
term, conf_state, the v2 store's members, version and other keys) and the
leftover .snap.db's index.
diff-db: the four final members agree; the .snap.db is a member behind.

usage: versionref.py DUMP_WAL DUMP_DB DIFF_DB FIXTURE_DIR
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(tool, *args, rc=(0,)):
    p = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=120)
    if p.returncode not in rc:
        failures.append(f"{Path(tool).name} {' '.join(map(str, args))} exited {p.returncode}: {p.stderr.strip()}")
    return p


def jrun(tool, *args, rc=(0,)):
    p = run(tool, "-o", "json", *args, rc=rc)
    return json.loads(p.stdout) if p.stdout.strip() else {}


def b64(v):
    return base64.b64decode(v) if v else b""


def ours_bytes(v):
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()


def tree(path):
    out = {}
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = Path(dirpath) / f
            st = p.stat()
            out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size)
    return out


def conf(cs):
    """A conf state as both sides write it: hex id lists and auto_leave."""
    if not cs:
        return None
    return {k: sorted(cs.get(k) or []) for k in ("voters", "learners", "voters_outgoing", "learners_next")}


def status_vs_ref(name, st, ref):
    meta = set(ref.get("meta_keys", []))
    want = {
        "consistent_index": ref["consistent_index"],
        "term": ref["term"] if "term" in meta else None,
        "conf_state": conf(ref.get("conf_state")),
        "storage_version": ref.get("storage_version"),
        "schema": ref.get("schema_version") if "schema_version" in ref else (
            "3.5.0" if ref.get("term") else None),
        "cluster_version": ref.get("cluster_version"),
        "downgrade": ref.get("downgrade"),
        "auth_enabled": ref["auth_enabled"],
        "auth_revision": ref["auth_revision"],
        "revision": ref["max_main_revision"],
        "compact_revision": ref["finished_compact_revision"],
        "scheduled_compact_revision": ref["scheduled_compact_revision"],
        "keys": {"live": ref["live_keys"], "revisions": ref["revisions"], "tombstones": ref["tombstones"]},
        "leases": len(ref["leases"]),
        "users": sorted(u["name"] for u in ref["users"]),
        "members": sorted((m["id"], m["name"] or None, m["peerURLs"], m["clientURLs"] or None, m["isLearner"])
                          for m in ref["members"]),
        "members_removed": sorted(ref["members_removed"]),
        "compaction_tombstones": sum(1 for t in ref["tombstone_revisions"]
                                     if t["main"] == ref["finished_compact_revision"]),
    }
    got = {k: st.get(k) for k in want}
    got["conf_state"] = conf(st.get("conf_state"))
    got["schema"] = st["schema"]["version"]
    got["users"] = sorted(st["users"])
    got["members"] = sorted((m.get("id"), m.get("name") or None, m.get("peerURLs"), m.get("clientURLs") or None,
                             bool(m.get("isLearner"))) for m in st["members"])
    got["members_removed"] = sorted(st["members_removed"])
    for k in want:
        check(got[k] == want[k], f"{name}: status {k} {got[k]!r}, etcd's packages {want[k]!r}")
    if "schema_version_error" in ref:
        check(st["schema"]["from"] == "none", f"{name}: etcd finds no schema "
              f"({ref['schema_version_error']}), we say {st['schema']}")


def db_size(tool, path):
    """What etcd calls the db's size (backend Size: the bbolt transaction's
    size, its high-water page times the page size; the file is larger, bbolt
    grows it ahead)."""
    pages = jrun(tool, "pages", path)
    st = jrun(tool, "status", path)
    return pages["high_water"] * st["page_size"]


def snapshot_status_vs(name, st, buckets, want, size):
    """etcdutl snapshot status: revision (the highest main revision in
    bucket key), totalKey (3.6+: live keys, #19344; 3.5: the keys of every
    bucket), totalSize (the db: backend Size), version (storageVersion, 3.6+)."""
    if "error" in want:
        failures.append(f"{name}: etcdutl snapshot status failed: {want['error']}")
        return
    check(want["revision"] == st["revision"], f"{name}: revision {st['revision']}, etcdutl {want['revision']}")
    total = st["keys"]["live"] if "version" in want else sum(b["entries"] for b in buckets)
    check(want["totalKey"] == total, f"{name}: {total} keys, etcdutl totalKey {want['totalKey']}")
    check(want["totalSize"] == size, f"{name}: size {size}, etcdutl {want['totalSize']}")
    check(want.get("version", "") == (st.get("storage_version") or ""),
          f"{name}: storage version {st.get('storage_version')}, etcdutl {want.get('version')}")


def main():
    dump_wal, dump_db, diff_db, fx = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    truth, final = fx / "truth", fx / "truth" / "final"
    marks = json.loads((truth / "marks.json").read_text())
    minor = tuple(int(x) for x in marks["version"].split(".")[:2])
    utl = json.loads((final / "etcdutl.json").read_text())
    before = tree(fx)
    compact, revs = marks["compact"], marks["revs"]
    check(marks.get("snap_db_caught"), "the fixture has the learner's leftover .snap.db")
    members = sorted(p.name for p in fx.glob("node[0-9]"))
    listed = json.loads((final / "members.json").read_text())["members"]
    auth = json.loads((final / "auth-status.json").read_text())

    for name in members:
        d = fx / name
        ref = json.loads((truth / f"{name}.refdb.json").read_text())
        st = jrun(dump_db, "status", d)
        status_vs_ref(name, st, ref)
        es = json.loads((final / f"{name}.status.json").read_text())
        check(st["revision"] == es["header"]["revision"], f"{name}: revision vs endpoint status")
        # 3.5+ save consistent_index (and term) at every backend commit, from
        # the index the member applied (backendHooks.OnPreCommitUnsafe)
        check(st["consistent_index"] == es["raftAppliedIndex"],
              f"{name}: consistent_index {st['consistent_index']}, raftAppliedIndex {es['raftAppliedIndex']}")
        check(st["term"] == es["raftTerm"], f"{name}: term {st['term']}, raftTerm {es['raftTerm']}")
        if minor >= (3, 6):
            # endpoint status's storageVersion is DetectSchemaVersion (server.go)
            check(st["schema"]["version"] == es.get("storageVersion"),
                  f"{name}: schema {st['schema']}, endpoint status storageVersion {es.get('storageVersion')}")
        size = db_size(dump_db, d)
        check(size == es["dbSize"], f"{name}: db size {size}, endpoint status dbSize {es['dbSize']}")
        want_m = sorted((f"{int(m['ID']):016x}", m.get("name", ""), m["peerURLs"], bool(m.get("isLearner")))
                        for m in listed)
        got_m = sorted((m["id"], m.get("name", ""), m["peerURLs"], bool(m.get("isLearner"))) for m in st["members"])
        check(got_m == want_m, f"{name}: members {got_m}, member list {want_m}")
        check((st["auth_enabled"], st["auth_revision"]) == (auth["enabled"], auth["authRevision"]),
              f"{name}: auth {st['auth_enabled']}/{st['auth_revision']}, auth status {auth}")
        check(st["compaction_tombstones"] == (1 if minor >= (3, 5) else 0),
              f"{name}: the tombstone at the compaction revision {compact} is kept by etcd 3.5.16+: "
              f"{st['compaction_tombstones']}")

        keys = [json.loads(l) for l in run(dump_db, "-o", "json", "keys", d).stdout.splitlines()]
        kvs = json.loads((final / f"{name}.get.json").read_text()).get("kvs", [])
        want_kv = [(b64(k["key"]), k["create_revision"], k["mod_revision"], k["version"],
                    int(k.get("lease", 0)), b64(k.get("value"))) for k in kvs]
        got_kv = [(ours_bytes(k["key"]), k["create_revision"], k["mod_revision"], k["version"],
                   int(k["lease"]), ours_bytes(k["value"])) for k in keys]
        check(got_kv == want_kv, f"{name}: keys differ from etcdctl get: "
              f"{[(g, w) for g, w in zip(got_kv, want_kv) if g != w][:2] or (len(got_kv), len(want_kv))}")
        want_names = [l for l in (final / f"{name}.keys").read_text().splitlines() if l]
        check([k[0].decode("utf-8", "replace") for k in got_kv] == want_names, f"{name}: key names")

        live = json.loads((final / f"{name}.hashkv.json").read_text())
        hashes = set()
        for rev in [0] + revs:
            hk = jrun(dump_db, "hashkv", *(["--rev", rev] if rev else []), d)
            lv, rv = live[str(rev)], ref["hashkv"][str(rev)]
            got = (hk.get("hash"), hk.get("compact_revision"), hk.get("current_revision"))
            check(got == (lv.get("hash"), lv.get("compact_revision"), lv.get("header", {}).get("revision")),
                  f"{name}: hashkv --rev {rev}: {got}, etcd endpoint hashkv {lv}")
            check(got == (rv.get("hash"), rv.get("compact_revision"), rv.get("current_revision")),
                  f"{name}: hashkv --rev {rev}: {got}, etcd's HashByRev on the file {rv}")
            if minor >= (3, 6):
                uh = utl[name]["hashkv"][str(rev)]
                if minor == (3, 6):
                    check("no lessor" in uh.get("error", ""), f"{name}: etcdutl 3.6 hashkv answered "
                          f"on a db with leases (etcd #21105 says it panics): {uh}")
                else:
                    check((uh.get("hash"), uh.get("compactRevision")) == got[:2],
                          f"{name}: hashkv --rev {rev}: {got}, etcdutl hashkv {uh}")
            hashes.add(hk.get("hash"))
        check(len(hashes) >= 4, f"{name}: the revisions hash differently (else the check is weak): {hashes}")
        buckets = jrun(dump_db, "buckets", d)["buckets"]
        snapshot_status_vs(name, st, buckets, utl[name]["snapshot_status"], size)
        for cmd in (["dump", "meta"], ["dump", "cluster"], ["dump", "members"], ["check"], ["pages"]):
            run(dump_db, *cmd, d)
            run(dump_db, "-o", "json", *cmd, d)
        meta = {r["key"]: r["value"] for r in map(json.loads, run(dump_db, "-o", "json", "dump", "meta", d)
                                                     .stdout.splitlines())}
        check(conf(meta.get("confState")) == conf(ref.get("conf_state")), f"{name}: dump meta confState")
        print(f"{name}: status, keys, hashkv at {[0] + revs}, etcdutl compared")

    # the etcdctl snapshot save files
    for f in sorted((fx / "snapshots").iterdir()):
        name = f"snapshots/{f.name}"
        ref = json.loads((truth / f"snapshots-{f.stem}.refdb.json").read_text())
        st = jrun(dump_db, "status", f)
        status_vs_ref(name, st, ref)
        check(f.stat().st_size % 512 == 32, f"{name}: {f.stat().st_size} bytes: no sha256 after the db?")
        snapshot_status_vs(name, st, jrun(dump_db, "buckets", f)["buckets"], utl[name]["snapshot_status"],
                           db_size(dump_db, f))
        hk = jrun(dump_db, "hashkv", f)
        check(hk.get("hash") == ref["hashkv"]["0"]["hash"], f"{name}: hashkv {hk}, etcd {ref['hashkv']['0']}")

    # the learner's copy, stopped between receiving the leader's db and applying it
    crash = fx / "node4-crash"
    snapdb = sorted((crash / "member" / "snap").glob("*.snap.db"))
    if check(len(snapdb) == 1, f"node4-crash holds one .snap.db: {snapdb}"):
        f = snapdb[0]
        refs = json.loads((truth / "node4-crash.refsnapdb.json").read_text())[f.name]
        st = jrun(dump_db, "status", f)
        status_vs_ref(f"node4-crash/{f.name}", st, refs)
        index = int(f.name.split(".")[0], 16)
        check(st["consistent_index"] == index, f"{f.name}: consistent_index {st['consistent_index']} is the "
              f"snapshot index the name carries ({index})")
        check(st["conf_state"]["learners"] == [marks["learner_id"]], f"{f.name}: the learner {st['conf_state']}")
        snapshot_status_vs(f"node4-crash/{f.name}", st, jrun(dump_db, "buckets", f)["buckets"],
                           utl[f"node4-crash/{f.name}"]["snapshot_status"], db_size(dump_db, f))
        check(jrun(dump_db, "hashkv", f).get("hash") == refs["hashkv"]["0"]["hash"], f"{f.name}: hashkv")
        # its own db is the empty one it started with
        empty = jrun(dump_db, "status", crash)
        check(empty["revision"] == 1 and empty["keys"]["revisions"] == 0, f"node4-crash/db: {empty['revision']}")

    # .snap files: what etcd's snap package reads from each
    for name in members + ["node4-crash"]:
        refsnap = json.loads((truth / f"{name}.refsnap.json").read_text())
        if not refsnap:
            continue   # node4-crash had written no .snap yet
        p = run(dump_wal, "-o", "json", "--snap", fx / name / "member" / "snap", rc=(0, 1))
        got = {Path(r["file"]).name: r for r in map(json.loads, p.stdout.splitlines())
               if r.get("record") == "snap_file"}
        check(sorted(got) == sorted(refsnap), f"{name}: .snap files {sorted(got)}, etcd {sorted(refsnap)}")
        for fn, want in refsnap.items():
            g = got.get(fn, {})
            v2 = g.get("v2_store") or {}
            members_v2 = [p for p in want["v2_dirs"] if re.fullmatch(r"/0/members/[^/]+", p)]
            others = [k for k in want["v2_keys"] if not k.startswith("/0/")]
            gotv = (g.get("index"), g.get("term"), conf(g.get("conf_state")), g.get("data_bytes"),
                    v2.get("members"), v2.get("version"), v2.get("other_keys"))
            wantv = (want["index"], want["term"], conf(want["conf_state"]), want["data_bytes"],
                     len(members_v2), want.get("v2_version"), len(others))
            check(gotv == wantv, f"{name}/{fn}: {gotv}, etcd's snap package {wantv}")
            if minor >= (3, 6):
                check(not others, f"{name}/{fn}: etcd 3.6+ writes membership only: {others}")

    # diff-db: the four final members agree
    p = run(diff_db, *[f"{n}={fx / n}" for n in members])
    check("the replicas agree" in p.stdout, f"diff-db on the final members: {p.stdout[-600:]}")

    after = tree(fx)
    check(after == before, f"the fixture changed: {sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))[:5]}")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
