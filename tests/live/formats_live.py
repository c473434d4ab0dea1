#!/usr/bin/env python3
"""What each etcd version changed in its files, live: dump-db and dump-wal
against what that etcd itself reports.

    formats_live.py VERSION       3.4, 3.5, 3.6 or 3.7

A 3-member cluster (--snapshot-count 20) writes, turns auth on, asks `auth
status`; from 3.6 on it starts a downgrade to the previous minor
(`etcdctl downgrade enable`), which sets the cluster version down and makes
the storage monitor remove meta/storageVersion, stops there (every tool then
reads that state), restarts and cancels it (the storage version comes back).
Then, on the stopped members:
  - dump-db status: term equals etcd's raft term and the term of the WAL
    entry at consistent_index; confState's voters are the member ids; the
    schema it names equals endpoint status storageVersion (etcd's
    DetectSchemaVersion); cluster/downgrade equals endpoint status
    downgradeInfo; cluster version equals HTTP /version;
  - dump-wal: the request kinds this version writes (auth_status from 3.5,
    cluster_member_attr_set, cluster_version_set and downgrade_info_set from
    3.6, v2_member_attributes and v2_cluster_version up to 3.5), with the
    values etcd was given; snapshot records carry the conf_state (3.5+);
  - `etcdctl snapshot save`, and `etcdutl snapshot status` (3.4: etcdctl's)
    on a private copy agree with dump-db; 3.7's `etcdutl hashkv` on private
    copies equals dump-db hashkv.
A one-member cluster then deletes its only key and compacts at that
delete: 3.5.16+ keep the tombstone at the compaction revision and HashKV
skips it (etcd #18474), 3.4.23 deletes it; with no live key left, etcd's
keep set is empty and only that rule keeps the tombstone out of the hash.
dump-db's hashkv equals etcd's, before and after a restart.

etcd facts (3.4.23 ... 3.7.3 sources): downgrade enable is a raft request
(downgrade_info_set); the leader's version monitor then sets the cluster
version to the target (cluster_version_set), and each member's storage
monitor migrates its schema down (UpdateStorageVersionIfNeeded: the 3.6
schema change, the storageVersion key, is undone); monitorVersionInterval
is 4 s. Endpoint status (3.6+) reports storageVersion as DetectSchemaVersion
and downgradeInfo as the cluster bucket holds it.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import CtlError  # noqa: E402
from livecheck import (check, etcd_version_arg, member_logs, report,  # noqa: E402
                       start_cluster, timings)

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DUMP_WAL = str(BUILD / "dump-wal" / "dump-wal")


def tool(binary, *args, rc=(0,)):
    p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=120)
    check(p.returncode in rc, f"{Path(binary).name} {' '.join(map(str, args))}: exit {p.returncode}; "
          f"{p.stderr.strip()[:300]}")
    return p


def jtool(binary, *args):
    p = tool(binary, "-o", "json", *args)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def jlines(binary, *args):
    p = tool(binary, "-o", "json", *args, rc=(0, 1))
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def http_version(c, i):
    with urllib.request.urlopen(c.member(i).client_url + "/version", timeout=10) as r:
        return json.loads(r.read())


def wait_for(what, cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.5)
    check(False, f"{what}: not within {timeout}s")
    return None


def snapshot_status(c, path):
    """etcdutl snapshot status (3.5+), or 3.4's etcdctl snapshot status."""
    if c.ctl_bins.etcdutl:
        return c.snapshot_status(path)
    p = subprocess.run([c.etcdctl, "snapshot", "status", str(path), "-w", "json"], capture_output=True,
                       text=True, env=c._env, timeout=60)
    return json.loads(p.stdout)


def db_size(path):
    """etcd's db size: the bbolt high-water page times the page size."""
    return jtool(DUMP_DB, "pages", path).get("high_water", 0) * jtool(DUMP_DB, "status", path).get("page_size", 0)


def check_stopped(c, tag, statuses, ids, versions, downgrade):
    """Every tool on every stopped member against what etcd reported just
    before the stop (statuses: {i: endpoint status}, versions: {i: /version})."""
    minor = c.bins.minor
    for i, es in statuses.items():
        d = c.data_dir(i)
        st = jtool(DUMP_DB, "status", d)
        if not st:
            continue
        name = f"{tag} node{i}"
        check(st["revision"] == es["header"]["revision"], f"{name}: revision {st['revision']}, etcd {es['header']}")
        check(st["cluster_version"] == versions[i]["etcdcluster"],
              f"{name}: cluster version {st['cluster_version']}, /version says {versions[i]}")
        if minor >= (3, 5):
            check(st["term"] == es["raftTerm"], f"{name}: meta term {st['term']}, raftTerm {es['raftTerm']}")
            check(st["consistent_index"] == es["raftAppliedIndex"],
                  f"{name}: consistent_index {st['consistent_index']}, applied {es['raftAppliedIndex']}")
            # term is the term of the entry at consistent_index (the commit hook)
            ent = [e for e in jlines(DUMP_WAL, "--index", st["consistent_index"], "--no-snap", d)
                   if e.get("record") == "entry" and not e.get("overwritten")]
            check(len(ent) == 1 and ent[0]["term"] == st["term"],
                  f"{name}: the WAL entry at consistent_index {st['consistent_index']} has term "
                  f"{[e['term'] for e in ent]}, meta term {st['term']}")
            cs = st.get("conf_state") or {}
            check(sorted(int(v, 16) for v in cs.get("voters", [])) == sorted(ids.values()) and
                  not cs.get("learners"), f"{name}: confState {cs}, member ids {ids}")
        else:
            check(st["term"] is None and "conf_state" not in st and st["schema"]["from"] == "none",
                  f"{name}: etcd 3.4 writes no term or confState: {st['term']} {st.get('conf_state')}")
        if minor >= (3, 6):
            check(st["schema"]["version"] == es.get("storageVersion"),
                  f"{name}: schema {st['schema']}, endpoint status storageVersion {es.get('storageVersion')}")
            di = es.get("downgradeInfo") or {}
            want = {"target-version": di.get("targetVersion", ""), "enabled": bool(di.get("enabled"))}
            got = st.get("downgrade") or {"target-version": "", "enabled": False}
            check(got == want and (downgrade is None or got["enabled"] == downgrade),
                  f"{name}: downgrade {st.get('downgrade')}, endpoint status downgradeInfo {di}")
        text = tool(DUMP_DB, "status", d).stdout
        check("schema " in text, f"{name}: status text names the schema")


def check_wal(c, i, ids, expect):
    """The request kinds and values this version writes, and the snapshot
    records' conf_state."""
    d = c.data_dir(i)
    recs = jlines(DUMP_WAL, "--no-snap", d)
    ents = [r for r in recs if r.get("record") == "entry"]
    kinds = {}
    for e in ents:
        kinds.setdefault(e["request"]["kind"], []).append(e)
    minor = c.bins.minor
    for k, n in expect.items():
        if k.startswith("_"):
            continue
        check(len(kinds.get(k, [])) == n, f"node{i}: {len(kinds.get(k, []))} {k} entries, want {n}")
    if minor >= (3, 6):
        vers = [e["request"]["cluster_version_set"].get("ver") for e in kinds.get("cluster_version_set", [])]
        check(vers == expect["_versions"], f"node{i}: cluster_version_set {vers}, want {expect['_versions']}")
        dg = [(e["request"]["downgrade_info_set"].get("enabled", False),
               e["request"]["downgrade_info_set"].get("ver", "")) for e in kinds.get("downgrade_info_set", [])]
        check(dg == expect["_downgrades"], f"node{i}: downgrade_info_set {dg}, want {expect['_downgrades']}")
        for e in kinds.get("cluster_member_attr_set", []):
            b = e["request"]["cluster_member_attr_set"]
            check(int(b.get("member_ID", 0)) in ids.values(), f"node{i}: member attributes of {b}")
    else:
        for e in kinds.get("v2_member_attributes", []):
            check(int(e["request"]["v2"]["Path"].split("/")[3], 16) in ids.values(), f"node{i}: {e['request']}")
        vers = [e["request"]["v2"]["Val"] for e in kinds.get("v2_cluster_version", [])]
        check(vers == expect["_versions"], f"node{i}: v2 cluster version {vers}, want {expect['_versions']}")
    # the text shows that a password (3.4: the plain text) or a hash (3.5+) is
    # in the log, and its length; the value only with --show-secrets
    label = "hashed_password" if minor >= (3, 5) else "password"
    text = tool(DUMP_WAL, "--kind", "auth_user_add", "--no-snap", d).stdout
    shown = tool(DUMP_WAL, "--kind", "auth_user_add", "--show-secrets", "--no-snap", d).stdout
    adds = [l for l in text.splitlines() if "auth_user_add" in l]
    check(adds and all(f" {label}=(" in l and "--show-secrets" in l for l in adds)
          and "rootpw" not in text, f"node{i}: auth_user_add text without --show-secrets: {adds}")
    check((f" {label}=" in shown) and ("rootpw" in shown) == (minor < (3, 5)),
          f"node{i}: auth_user_add text with --show-secrets: {shown.strip()[:300]}")
    snaps = [r for r in recs if r.get("record") == "snapshot" and r["index"] > 0]
    check(len(snaps) >= 2, f"node{i}: snapshot records (--snapshot-count 20): {len(snaps)}")
    for s in snaps:
        if minor >= (3, 5):
            cs = s.get("conf_state") or {}
            check(sorted(int(v, 16) for v in cs.get("voters", [])) == sorted(ids.values()),
                  f"node{i}: snapshot record {s['index']} conf_state {cs}")
        else:
            check("conf_state" not in s, f"node{i}: etcd 3.4 writes no conf_state in a snapshot record")
    summary = jtool(DUMP_WAL, "--summary", "--no-snap", d)
    ev = summary.get("etcd_version") or {}
    check(ev.get("after_snapshot_index") == max(s["index"] for s in snaps),
          f"node{i}: the lowest etcd is taken after the last snapshot {snaps[-1]['index']}: {ev}")
    check(ev.get("v2_requests") == 0, f"node{i}: no v2 request after the last snapshot: {ev}")


def tombstone_case(version):
    """One member: its only key deleted, a compaction at that delete."""
    c, rc = start_cluster(version, size=1)
    if c is None:
        return
    with c:
        c.put(1, "/only", "v")
        r = c.ctl_json(1, "del", "/only")
        D = int(r["header"]["revision"])
        c.ctl(1, "compaction", "--physical", str(D))
        live0 = c.hashkv(1, 0)
        c.stop_all()
        d = c.data_dir(1)
        st = jtool(DUMP_DB, "status", d)
        kept = c.bins.release >= (3, 5, 16) or (c.bins.minor == (3, 4) and c.bins.release >= (3, 4, 34))
        check(st.get("compaction_tombstones") == (1 if kept else 0),
              f"tombstone case: etcd {c.version} {'keeps' if kept else 'deletes'} the tombstone at the "
              f"compaction revision {D}: dump-db counts {st.get('compaction_tombstones')}")
        check(st.get("keys", {}).get("tombstones") == (1 if kept else 0), f"tombstone case: {st.get('keys')}")
        hk = jtool(DUMP_DB, "hashkv", d)
        check((hk.get("hash"), hk.get("compact_revision"), hk.get("current_revision")) ==
              (live0["hash"], live0["compact_revision"], live0["header"]["revision"]),
              f"tombstone case: dump-db hashkv {hk}, etcd {c.version} said {live0}")
        c.restart_all()
        p = c.ctl(1, "-w", "json", "endpoint", "hashkv", f"--rev={D}", check=False)
        c.stop_all()
        if c.bins.release >= (3, 5, 10):
            at = json.loads(p.stdout)[0]["HashKV"] if p.returncode == 0 else {}
            hk = jtool(DUMP_DB, "hashkv", "--rev", D, d)
            check((hk.get("hash"), hk.get("compact_revision")) == (at.get("hash"), at.get("compact_revision")),
                  f"tombstone case: dump-db hashkv --rev {D} {hk}, restarted etcd {at or p.stderr}")
        else:
            check(p.returncode != 0 and "compacted" in p.stderr, f"tombstone case: etcd refuses --rev {D}")


def main():
    version = etcd_version_arg()
    t0 = time.monotonic()
    c, rc = start_cluster(version, size=3, snapshot_count=20)
    if c is None:
        return rc
    with c:
        minor = c.bins.minor
        timings["start"] = time.monotonic() - t0
        ids = c.member_ids()
        versions_set = [f"{minor[0]}.{minor[1]}.0"]
        downgrades = []
        for n in range(30):
            c.put(1 + n % 3, f"/w/{n:02d}", f"v{n}")
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        auth_status = 0
        if minor >= (3, 5):
            st = c.auth_status(2)
            auth_status += 1
            check(st["enabled"], f"auth status {st}")
        for n in range(30, 45):
            c.put(1 + n % 3, f"/w/{n:02d}", f"v{n}", user="root")
        t = time.monotonic()
        if minor >= (3, 6):
            target = f"{minor[0]}.{minor[1] - 1}"
            c.ctl(1, "downgrade", "enable", target, user="root")
            downgrades.append((True, f"{target}.0"))
            versions_set.append(f"{target}.0")
            sv = wait_for(f"storage version {target}.0 after downgrade enable",
                          lambda: all(c.status(i).get("storageVersion") == f"{target}.0" for i in (1, 2, 3)))
            check(sv, "every member migrated its storage down")
            c.put(1, "/during-downgrade", "x", user="root")
            statuses = c.wait_converged()
            versions = {i: http_version(c, i) for i in (1, 2, 3)}
            c.stop_all()
            check_stopped(c, "downgrading", statuses, ids, versions, True)
            c.restart_all()
            c.ctl(1, "downgrade", "cancel", user="root")
            downgrades.append((False, ""))
            versions_set.append(f"{minor[0]}.{minor[1]}.0")
            wait_for("storage version back after downgrade cancel",
                     lambda: all(c.status(i).get("storageVersion") == versions_set[0] for i in (1, 2, 3)))
            timings["downgrade enable/cancel"] = time.monotonic() - t
        for n in range(45, 60):
            c.put(1 + n % 3, f"/w/{n:02d}", f"v{n}", user="root")
        statuses = c.wait_converged()
        versions = {i: http_version(c, i) for i in (1, 2, 3)}
        work = c.dir / "private"
        work.mkdir()
        snap = c.snapshot_save(1, work / "node1.snapshot.db")
        statuses = c.wait_converged()
        c.stop_all()
        t = time.monotonic()
        check_stopped(c, "final", statuses, ids, versions, False if minor >= (3, 6) else None)
        expect = {"auth_status": auth_status}
        if minor >= (3, 6):
            expect.update({"downgrade_info_set": len(downgrades), "_downgrades": downgrades,
                           "_versions": versions_set})
        else:
            expect["_versions"] = versions_set
        for i in (1, 2, 3):
            check_wal(c, i, ids, expect)
        # snapshot status and hashkv of etcd's own offline tools, on private copies
        for name, f in (("snapshot save", snap), ("node2 db", c.data_dir(2) / "member" / "snap" / "db")):
            cp = work / (name.replace(" ", "-") + ".copy")
            shutil.copy(f, cp)
            ss = snapshot_status(c, cp)
            st = jtool(DUMP_DB, "status", f)
            total = st["keys"]["live"] if minor >= (3, 6) else sum(
                b["entries"] for b in jtool(DUMP_DB, "buckets", f)["buckets"])
            want = (ss["revision"], ss["totalKey"], ss["totalSize"], ss.get("version", ""))
            got = (st["revision"], total, db_size(f), st.get("storage_version") or "")
            check(got == want, f"{name}: dump-db {got}, snapshot status {want}")
            if c.ctl_bins.etcdutl and minor >= (3, 7):
                for rev in (0, st["revision"] - 5, st["revision"]):
                    cp2 = work / f"{cp.name}.{rev}"
                    shutil.copy(f, cp2)
                    u = json.loads(c.etcdutl("hashkv", cp2, f"--rev={rev}", "-w", "json").stdout)
                    hk = jtool(DUMP_DB, "hashkv", *(["--rev", rev] if rev else []), f)
                    check((hk.get("hash"), hk.get("revision")) == (u.get("hash"), u.get("hashRevision")),
                          f"{name}: dump-db hashkv --rev {rev} {hk}, etcdutl hashkv {u}")
        timings["tool checks"] = time.monotonic() - t
        member_logs(c, 10)
    t = time.monotonic()
    tombstone_case(version)
    timings["tombstone case"] = time.monotonic() - t
    timings["total"] = time.monotonic() - t0
    return report(f"etcd {c.version}: formats checked")


if __name__ == "__main__":
    sys.exit(main())
