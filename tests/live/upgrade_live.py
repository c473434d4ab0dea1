#!/usr/bin/env python3
"""Rolling upgrades, read by every tool at every step.

    upgrade_live.py

1. etcd 3.5 -> 3.6 -> 3.7, one 3-member cluster (--snapshot-count 20), one
   member at a time: each member is stopped, its data dir read by dump-wal
   and dump-db (every mode), and started again with the next version's
   binary on the same data dir; writes go in between, a compaction at a
   tombstone's revision comes first, and a learner (node4, 3.6) is added and
   promoted while the cluster is mixed. After every step the whole cluster
   is stopped at one raft index and read: dump-db's keys, hashkv and status
   against what each member reported just before (get --consistency=s,
   endpoint hashkv, endpoint status: the schema = storageVersion), and
   diff-db over all members must find them in agreement whatever versions
   they run. Once every member runs 3.6, one member's storage is migrated
   back to 3.5 with `etcdutl migrate` (meta/storageVersion removed, the
   others keep it): still agreement. Before any member runs 3.7, dump-wal
   must find no v2 request after the last snapshot in any WAL (3.7 could not
   apply one).
2. 3.4 -> 3.5, the first step only: a 3.5 member writes meta term and
   confState, the 3.4 ones do not; diff-db must not call that divergence.
3. v2 requests after the last snapshot: a 3.5 member (--enable-v2, a v2
   key with a TTL, so the leader's SYNC requests; the default snapshot count,
   so no snapshot covers them) is stopped; dump-wal --summary counts its v2
   requests, and those 3.6 refuses (not member attributes or the version).
   A copy started with etcd 3.7 panics applying them, as etcd #21263 says;
   one started with 3.6 panics on the SYNC ("disallowed v2 WAL").

etcd facts: the cluster version moves to the new minor once every member
runs it (the leader's monitor, every 4 s), and storageVersion follows on
each member at its own next tick (UpdateStorageVersionIfNeeded); 3.6 and
3.7 apply a 3.5 member's v2 attribute and version requests through
v2ToV3Request (3.6 only) or not at all (3.7).
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etcdcluster import EtcdVersionMissing, etcd_binaries  # noqa: E402
from livecheck import check, member_logs, report, start_cluster, timings, SKIP  # noqa: E402

BUILD = Path(os.environ["KVF_BUILD"])
DUMP_DB = str(BUILD / "dump-db" / "dump-db")
DUMP_WAL = str(BUILD / "dump-wal" / "dump-wal")
DIFF_DB = str(BUILD / "diff-db" / "diff-db")


def tool(binary, *args, rc=(0,)):
    p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=180)
    check(p.returncode in rc, f"{Path(binary).name} {' '.join(map(str, args))}: exit {p.returncode}; "
          f"{(p.stderr or p.stdout).strip()[:400]}")
    return p


def jtool(binary, *args, rc=(0,)):
    p = tool(binary, "-o", "json", *args, rc=rc)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def read_member(tag, d):
    """Every mode of dump-wal and dump-db on one stopped member; the status."""
    recs = [json.loads(l) for l in tool(DUMP_WAL, "-o", "json", d).stdout.splitlines() if l.strip()]
    check(recs and all("record" in r or "finding" in r for r in recs), f"{tag}: dump-wal listing")
    summary = jtool(DUMP_WAL, "--summary", d)
    check(summary.get("damage") == 0, f"{tag}: dump-wal finds damage: {summary.get('findings')}")
    tool(DUMP_WAL, "--summary", d)
    tool(DUMP_WAL, "--verify", d)
    for args in (["status"], ["keys"], ["hashkv"], ["check"], ["buckets"], ["pages"], ["dump", "meta"],
                 ["dump", "cluster"], ["dump", "members"], ["dump", "key"]):
        tool(DUMP_DB, *args, d)
        tool(DUMP_DB, "-o", "json", *args, d)
    return jtool(DUMP_DB, "status", d), summary


def kvs(doc):
    import base64
    dec = lambda v: base64.b64decode(v) if v else b""
    return [(dec(k["key"]), int(k["mod_revision"]), dec(k.get("value"))) for k in doc.get("kvs", [])]


def ours_kvs(d):
    import base64
    out = []
    for l in tool(DUMP_DB, "-o", "json", "keys", d).stdout.splitlines():
        k = json.loads(l)
        b = lambda v: base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()
        out.append((b(k["key"]), k["mod_revision"], b(k["value"])))
    return out


def http_version(c, i):
    import urllib.request
    with urllib.request.urlopen(c.member(i).client_url + "/version", timeout=10) as r:
        return json.loads(r.read())


def checkpoint(c, tag, ids, expect_v2_free=False, migrate=None):
    """The whole cluster stopped at one raft index and read."""
    # a 3.6+ member's storage follows the cluster version at its own next
    # monitor tick (4 s; UpdateStorageVersionIfNeeded, both ways): wait until
    # it has, or the db could change between what etcd says and the stop
    # (and the cluster version follows the lowest member, the leader's monitor)
    lowest = "%d.%d.0" % min(m.bins.minor for m in c.members)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cv = http_version(c, c.members[0].index)["etcdcluster"]
        if cv == lowest and all(c.status(m.index).get("storageVersion") == cv
                                for m in c.members if m.bins.minor >= (3, 6)):
            break
        time.sleep(0.5)
    else:
        check(False, f"{tag}: cluster version {cv}, lowest member {lowest}; storage versions did not follow")
    status = c.wait_converged(timeout=60)
    live = {}
    for m in c.members:
        i = m.index
        live[i] = {"status": status[i], "hash": c.hashkv(i),
                   "get": c.ctl_json(i, "get", "--prefix", "--consistency=s", "--", "", user="root")}
    after = c.wait_converged(timeout=60)
    check(len({st["raftIndex"] for st in after.values()}) == 1, f"{tag}: one raft index")
    c.stop_all()
    if migrate:
        i, target = migrate
        p = subprocess.run([etcd_binaries(c.member(i).bins.name).etcdutl, "migrate", "--data-dir",
                            str(c.data_dir(i)), "--target-version", target], capture_output=True,
                           text=True, timeout=120)
        check(p.returncode == 0, f"{tag}: etcdutl migrate node{i} to {target}: {p.stderr.strip()[-300:]}")
    versions = []
    for m in c.members:
        i, d = m.index, c.data_dir(m.index)
        st, summary = read_member(f"{tag} node{i}", d)
        if not st:
            continue
        L = live[i]
        check(st["revision"] == L["status"]["header"]["revision"], f"{tag} node{i}: revision")
        check(ours_kvs(d) == kvs(L["get"]), f"{tag} node{i}: keys differ from etcdctl get")
        hk = jtool(DUMP_DB, "hashkv", d)
        check((hk.get("hash"), hk.get("compact_revision")) == (L["hash"]["hash"], L["hash"]["compact_revision"]),
              f"{tag} node{i}: hashkv {hk}, etcd {L['hash']}")
        want_schema = L["status"].get("storageVersion")   # 3.6+: DetectSchemaVersion
        if migrate and i == migrate[0]:
            want_schema = f"{migrate[1]}.0"
        if want_schema is not None:
            check(st["schema"]["version"] == want_schema,
                  f"{tag} node{i} ({m.bins.version}): schema {st['schema']}, storageVersion {want_schema}")
        else:   # a 3.4/3.5 binary reports no storage version: term says 3.5, none 3.4
            want = "3.5.0" if m.bins.minor >= (3, 5) else None
            check(st["schema"]["version"] == want, f"{tag} node{i} ({m.bins.version}): schema {st['schema']}")
        check(st["term"] == L["status"]["raftTerm"] if m.bins.minor >= (3, 5) else st["term"] is None,
              f"{tag} node{i} ({m.bins.version}): meta term {st['term']}, raftTerm {L['status']['raftTerm']}")
        ev = summary.get("etcd_version") or {}
        if expect_v2_free:
            check(ev.get("v2_requests") == 0, f"{tag} node{i}: v2 requests after the last snapshot "
                  f"before an upgrade to 3.7: {ev}")
        versions.append((m.name, m.bins.version, st.get("storage_version"), st["term"] is not None))
    p = tool(DIFF_DB, *[f"{m.name}={c.data_dir(m.index)}" for m in c.members])
    check("the replicas agree" in p.stdout, f"{tag}: diff-db over {versions}:\n{p.stdout[-1200:]}")
    print(f"{tag}: members (name, version, storageVersion, term): {versions}")
    return versions


def rolling_35_37():
    c, rc = start_cluster("3.5", size=3, snapshot_count=20, start_timeout=120)
    if c is None:
        return rc
    with c:
        ids = c.member_ids()
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        n = [0]

        def writes(k=6):
            running = [m.index for m in c.members if m.running and not getattr(m, "learner", False)]
            for _ in range(k):
                c.put(running[n[0] % len(running)], f"/up/{n[0]:03d}", f"v{n[0]}", user="root")
                n[0] += 1

        writes(10)
        c.put(1, "/tomb", "x", user="root")
        C = int(c.ctl_json(2, "del", "/tomb", user="root")["header"]["revision"])
        c.ctl(1, "compaction", "--physical", str(C), user="root")
        writes()
        checkpoint(c, "3.5 x3", ids)
        c.restart_all()
        steps = [(1, "3.6"), ("learner", "3.6"), (2, "3.6"), (3, "3.6"),
                 (1, "3.7"), (2, "3.7"), (3, "3.7"), (4, "3.7")]
        for who, version in steps:
            t = time.monotonic()
            writes()
            if who == "learner":
                i = c.add_learner(1, version=version, timeout=120)
                writes(3)
                c.promote(i)
                ids = c.member_ids()
                tag = f"learner node{i} ({version}) promoted"
            else:
                m = c.member(who)
                old = m.bins.version
                c.stop_member(who)
                read_member(f"node{who} ({old}) stopped for {version}", c.data_dir(who))
                c.restart_member(who, version=version, timeout=120)
                tag = f"node{who} {old} -> {version}"
            writes()
            before_37 = version == "3.6" and who == 3
            mix = checkpoint(c, tag, ids, expect_v2_free=before_37 or version == "3.7")
            if before_37:
                # every member runs 3.6: the cluster version and storageVersion
                # follow; then one member's storage is migrated back to 3.5
                c.restart_all(timeout=120)
                mix = checkpoint(c, "every member on 3.6, node1 migrated to 3.5", ids, migrate=(1, "3.5"))
                check(any(s is None for _, _, s, _ in mix) and any(s == "3.6.0" for _, _, s, _ in mix),
                      f"some members with meta storageVersion and some without: {mix}")
            c.restart_all(timeout=120)
            timings[tag] = time.monotonic() - t
        mix = checkpoint(c, "every member on 3.7", ids)
        check(all(s == "3.7.0" for _, _, s, _ in mix), f"3.7 writes storageVersion 3.7.0: {mix}")
        member_logs(c, 10)
    return 0


def first_step_34_35():
    c, rc = start_cluster("3.4", size=3, snapshot_count=20)
    if c is None:
        return rc
    try:
        etcd_binaries("3.5")
    except EtcdVersionMissing as e:
        c.close()
        print(f"SKIP: 3.4 -> 3.5: {e}")
        return SKIP
    with c:
        ids = c.member_ids()
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        for k in range(10):
            c.put(1 + k % 3, f"/34/{k}", "v", user="root")
        c.stop_member(1)
        c.restart_member(1, version="3.5")
        for k in range(10, 20):
            c.put(1 + k % 3, f"/34/{k}", "v", user="root")
        mix = checkpoint(c, "3.4 -> 3.5 (node1)", ids)
        check([t for _, _, _, t in mix] == [True, False, False], f"node1 (3.5) has meta term, the others not: {mix}")
        member_logs(c, 10)
    return 0


def v2_after_snapshot():
    """A 3.5 member with v2 requests no snapshot covers; 3.6 and 3.7 on copies."""
    c, rc = start_cluster("3.5", size=1, features=("enable-v2",))
    if c is None:
        return rc
    import urllib.request
    with c:
        for k in range(3):
            c.put(1, f"/v3/{k}", "v")
        req = urllib.request.Request(c.member(1).client_url + "/v2/keys/ttl?ttl=2", data=b"value=x",
                                     method="PUT", headers={"Content-Type": "application/x-www-form-urlencoded"})
        urllib.request.urlopen(req, timeout=10).read()
        time.sleep(4)   # the leader's SYNC requests expire the key
        c.stop_all()
        d = c.data_dir(1)
        ev = jtool(DUMP_WAL, "--summary", d).get("etcd_version") or {}
        check(ev.get("after_snapshot_index") == 0 and ev.get("v2_requests", 0) >= 3
              and ev.get("v2_refused_by_3_6", 0) >= 2,
              f"v2 requests not covered by a snapshot (publish, version, PUT, SYNC): {ev}")
        text = tool(DUMP_WAL, "--summary", d).stdout
        check("etcd 3.7 cannot apply them" in text, f"dump-wal --summary flags them:\n{text}")
        for version, says in (("3.7", "unmarshal should never fail"), ("3.6", "disallowed v2 WAL")):
            try:
                bins = etcd_binaries(version)
            except EtcdVersionMissing as e:
                print(f"SKIP: v2 replay on {version}: {e}")
                continue
            copy = c.dir / f"copy-{version}"
            shutil.copytree(d, copy)
            m = c.member(1)
            args = [bins.etcd, "--name", m.name, "--data-dir", str(copy), "--listen-client-urls", m.client_url,
                    "--advertise-client-urls", m.client_url, "--listen-peer-urls", m.peer_url,
                    "--initial-advertise-peer-urls", m.peer_url, "--initial-cluster", f"{m.name}={m.peer_url}",
                    "--logger", "zap", "--log-outputs", "stderr"]
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=bins.env())
            try:
                _, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate(timeout=10)
            check(p.returncode not in (0, None) and says in err,
                  f"etcd {bins.version} on the 3.5 data dir: exit {p.returncode}, want a panic "
                  f"'{says}': {err.strip()[-300:]}")
    return 0


def main():
    t0 = time.monotonic()
    for name, f in (("3.5 -> 3.6 -> 3.7", rolling_35_37), ("3.4 -> 3.5", first_step_34_35),
                    ("v2 after the snapshot", v2_after_snapshot)):
        t = time.monotonic()
        rc = f()
        if rc:
            return rc
        timings[name] = time.monotonic() - t
    timings["total"] = time.monotonic() - t0
    return report("rolling upgrades read at every step")


if __name__ == "__main__":
    sys.exit(main())
