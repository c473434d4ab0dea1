#!/usr/bin/env python3
"""The membership cross-check (analysis/membership.c) and the known-bug
detectors (analysis/detectors.c) on real etcd reproductions, checked against
what etcd itself answered (each fixture's truth/ and README.md; made by
tests/tools/make-detector-fixtures.py), and on the healthy fixtures, which
must produce none of these verdicts.

usage: detectors.py KVF_DETECT DUMP_WAL FIXTURES_DIR [DUMP_DB]

kvf-detect (tests/tools/kvf-detect.c) prints the verdicts as JSON: one path
is the member alone (what dump-db gets), several a diff-db run.
"""
import json
import subprocess
import sys
from pathlib import Path

MINE = {"zombie_member", "promotion_lost", "membership", "txn_compacted_range", "lease_revoke_auth",
        "compaction_unfinished", "stale_db", "leftover_snapshot", "interrupted_defrag",
        "false_corrupt_alarm"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def detect(tool, *paths):
    p = subprocess.run([tool, *map(str, paths)], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        failures.append(f"kvf-detect {' '.join(map(str, paths))}: exit {p.returncode}: {p.stderr.strip()}")
        return {"verdicts": [], "ruled_out": []}
    d = json.loads(p.stdout)
    d["mine"] = [v for v in d["verdicts"] if v["kind"] in MINE]
    return d


def kinds(d):
    return sorted(v["kind"] for v in d["mine"])


def wal_records(dump_wal, wal_dir):
    p = subprocess.run([dump_wal, "-o", "json", str(wal_dir)], capture_output=True, text=True, timeout=120)
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


def file_at(path, offset, n):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def healthy(tool, fx):
    """No verdict of ours on fixtures without any of these causes."""
    sets = [("healthy", ["node1", "node2", "node3"]), ("incident-authskew", ["node1", "node2", "node3"]),
            ("stale-member", ["node1", "node2", "node3"])]
    for v in ("3.5", "3.6", "3.7"):
        sets.append((f"etcd-{v}", ["node1", "node2", "node3", "node4"]))
    # helper fixtures' causes that are none of ours (lag, lost writes)
    for name in ("cause-killed-under-load", "cause-lag-copies", "cause-lost-writes", "cause-stale-copy",
                 "cause-stale-copy-3.4"):
        if (fx / name).is_dir():
            sets.append((name, sorted(p.name for p in (fx / name).glob("node*"))))
    for name, nodes in sets:
        d = detect(tool, *[fx / name / n for n in nodes])
        check(not d["mine"], f"{name}: verdicts {[v['headline'] for v in d['mine']]}, want none")
        check(any("membership:" in r for r in d["ruled_out"]), f"{name}: membership check not recorded as run")
        for n in nodes:
            d = detect(tool, fx / name / n)
            check(not d["mine"], f"{name}/{n} alone: verdicts {[v['headline'] for v in d['mine']]}, want none")


def zombie(tool, fx):
    z = fx / "detect-zombie"
    a_ids = {m["ID"] for m in json.loads((z / "truth" / "cluster-a-members.json").read_text())}
    b_ids = {m["ID"] for m in json.loads((z / "truth" / "cluster-b-members.json").read_text())}
    check(not a_ids & b_ids, "zombie fixture: A and B share member ids")
    d = detect(tool, z / "node1", z / "node2", z / "node3")
    check(kinds(d) == ["zombie_member"] * 3, f"zombie: kinds {kinds(d)}, want one zombie_member per member")
    seen = set()
    for v in d["mine"]:
        check(v["divergence"], f"zombie: {v['headline']} not divergence")
        seen.add(v.get("member_name"))
        ids = set()
        for e in v["evidence"]:
            if e["text"].startswith("bucket members has "):
                hexid = e["text"].split()[3]
                ids.add(int(hexid, 16))
                # the offset is where the record's key (the hex id) is in the db
                if check("offset" in e and e.get("file", "").endswith("member/snap/db"),
                         f"zombie: no db offset in {e}"):
                    got = file_at(e["file"], e["offset"], len(hexid)).decode("ascii", "replace")
                    check(got == hexid, f"zombie: db at {e['offset']} holds {got!r}, not {hexid}")
        check(ids == a_ids, f"zombie {v.get('member_name')}: ids {sorted(ids)}, want cluster A's {sorted(a_ids)}")
        check(any(".snap" in e.get("file", "") for e in v["evidence"]), "zombie: the .snap is not cited")
        check("3.5.26" in v["recovery"] and "13196" in v["versions"] and "20967" in v["versions"],
              f"zombie: versions/recovery {v['versions']!r} {v['recovery']!r}")
    check(seen == {"node1", "node2", "node3"}, f"zombie: members {seen}")
    # one member alone (dump-db's view)
    d = detect(tool, z / "node2")
    check(kinds(d) == ["zombie_member"], f"zombie node2 alone: kinds {kinds(d)}")


def learner(tool, dump_wal, fx):
    lf = fx / "detect-learner"
    t = json.loads((lf / "truth" / "learner.json").read_text())
    for version, want in (("3.5.2", True), ("3.5.35", False)):
        nodes = sorted((lf / version).glob("node*"))
        pid = int(t[version]["promoted"], 16)
        listed = {int(m["ID"]): m.get("isLearner", False) for m in t[version]["members"]}
        check(listed.get(pid) is False, f"learner {version}: etcd's member list has {listed.get(pid)} for the promoted")
        d = detect(tool, *nodes)
        if not want:
            check(not d["mine"], f"learner {version} (fixed): {[v['headline'] for v in d['mine']]}")
            continue
        check(kinds(d) == ["promotion_lost"] * len(nodes), f"learner {version}: kinds {kinds(d)}")
        recs = wal_records(dump_wal, nodes[0] / "member" / "wal")
        promo = [r for r in recs if r.get("type") == "conf_change" and
                 int(r["request"]["conf_change"]["node_id"]) == pid and
                 '"isPromote":true' in r["request"]["conf_change"].get("context", "")]
        check(len(promo) == 1, f"learner {version}: dump-wal shows {len(promo)} promotions")
        for v in d["mine"]:
            check(v["divergence"] and f"{pid:x}" in v["headline"], f"learner: {v['headline']}")
            check(promo and v.get("first_divergent_index") == promo[0]["index"],
                  f"learner: first index {v.get('first_divergent_index')}, want the promotion's")
            texts = [e["text"] for e in v["evidence"]]
            check(any("isPromote" in x for x in texts), f"learner: the promotion entry is not cited: {texts}")
            check(any("meta/confState lists it among voters" in x for x in texts), "learner: confState not cited")
            check("3.5.20" in v["versions"] and "3.5.1-3.5.19" in v["versions"], f"learner: versions {v['versions']}")
        d = detect(tool, nodes[0])
        check(kinds(d) == ["promotion_lost"], f"learner {version} node1 alone: {kinds(d)}")


def txn_range(tool, dump_wal, fx):
    tr = fx / "detect-txn-range"
    t = json.loads((tr / "truth" / "txn-range.json").read_text())
    check("required revision has been compacted" in t["etcdctl_txn"]["stderr"], "txn-range truth: no ErrCompacted")
    lacking = sorted(n for n, kv in t["get_b_serializable"].items() if not kv)
    check(lacking == [t["txn_via"]], f"txn-range truth: members without /b {lacking}")
    recs = wal_records(dump_wal, tr / "node1" / "member" / "wal")
    txns = [r for r in recs if r.get("request", {}).get("kind") == "txn" and '"revision"' in json.dumps(r["request"])]
    check(len(txns) == 1, f"txn-range: dump-wal shows {len(txns)} txns with a revisioned range")
    d = detect(tool, tr / "node1", tr / "node2", tr / "node3")
    mine = [v for v in d["mine"] if v["kind"] == "txn_compacted_range"]
    check(kinds(d) == ["txn_compacted_range"], f"txn-range: kinds {kinds(d)}")
    for v in mine:
        check(v["divergence"] and v.get("member_name") == t["txn_via"],
              f"txn-range: {v.get('member_name')} divergence {v['divergence']}, want {t['txn_via']}")
        if txns:
            check(v.get("first_divergent_index") == txns[0]["index"], f"txn-range: index {v.get('first_divergent_index')}")
            ev = [e for e in v["evidence"] if e.get("wal_index") == txns[0]["index"]]
            check(ev and ev[0].get("offset") == txns[0]["offset"], "txn-range: evidence offset differs from dump-wal's")
        check(f"below the compaction at {t['compacted_to']}" in v["headline"] and "3.7.0" in v["versions"],
              f"txn-range: {v['headline']} / {v['versions']}")
    for n in ("node1", "node2", "node3"):
        d = detect(tool, tr / n)
        check(kinds(d) == ["txn_compacted_range"], f"txn-range {n} alone: {kinds(d)}")
        for v in d["mine"]:
            check(v["divergence"] == (n == t["txn_via"]), f"txn-range {n} alone: divergence {v['divergence']}")


def lease_auth(tool, dump_wal, fx):
    la = fx / "detect-lease-auth"
    t = json.loads((la / "truth" / "lease-auth.json").read_text())
    check(t["etcdctl_revoke_without_user"]["returncode"] != 0 and
          "user name is empty" in t["etcdctl_revoke_without_user"]["stderr"],
          f"lease-auth truth: etcd did not refuse the revoke: {t['etcdctl_revoke_without_user']}")
    recs = wal_records(dump_wal, la / "node1" / "member" / "wal")
    revokes = [r for r in recs if r.get("request", {}).get("kind") == "lease_revoke"]
    nouser = [r for r in revokes if not r["request"]["header"].get("username")]
    check(len(nouser) == 1 and int(nouser[0]["request"]["lease_revoke"]["ID"]) == t["held_lease"],
          f"lease-auth: dump-wal shows {len(nouser)} revokes without a user")
    check(any(r["request"]["header"].get("username") == "root" for r in revokes),
          "lease-auth: the TTL expiry revoke (as root) is not in the WAL")
    d = detect(tool, la / "node1", la / "node2", la / "node3")
    check(kinds(d) == ["lease_revoke_auth"], f"lease-auth: kinds {kinds(d)}, want lease_revoke_auth")
    for v in d["mine"]:
        check(not v["divergence"], "lease-auth: members applied it alike, yet divergence")
        ev = [e for e in v["evidence"] if e.get("wal_index")]
        check([e["wal_index"] for e in ev] == [nouser[0]["index"]],
              f"lease-auth: evidence WAL indexes {[e['wal_index'] for e in ev]}, want {nouser[0]['index']} only")
        check(ev and ev[0].get("offset") == nouser[0]["offset"], f"lease-auth: offset {ev[0].get('offset') if ev else None}"
              f" vs dump-wal {nouser[0]['offset']}")
        check(ev and "taken by " + t["revoke_without_user_via"] in ev[0]["text"],
              f"lease-auth: taker not named: {ev[0]['text'] if ev else ''}")
        check(ev and "still in bucket lease on every member" in ev[0]["text"], "lease-auth: lease presence")
        check("11689" in v["versions"], "lease-auth: versions")


def compaction(tool, fx):
    c = fx / "detect-compaction"
    t = json.loads((c / "truth" / "compaction.json").read_text())
    d = detect(tool, c / "node1")
    check(kinds(d) == ["compaction_unfinished"], f"compaction node1: kinds {kinds(d)}")
    for v in d["mine"]:
        check(not v["divergence"], "compaction: an interrupted compaction is no divergence")
        check("17780" not in v["headline"], f"compaction: not the 17780 signature: {v['headline']}")
        sch = [e for e in v["evidence"] if e["text"].startswith("meta/scheduledCompactRev")]
        check(sch and sch[0]["text"].endswith(f"= {t['compact_revision']}"),
              f"compaction: {sch[0]['text'] if sch else None}, want {t['compact_revision']}")
        if sch and check("offset" in sch[0], "compaction: no offset"):
            raw = file_at(sch[0]["file"], sch[0]["offset"], 8)
            check(int.from_bytes(raw, "big") == t["compact_revision"], f"compaction: db bytes at offset {raw.hex()}")
    for n in ("node2", "node3"):
        d = detect(tool, c / n)
        check(not d["mine"], f"compaction {n} (finished): {[v['headline'] for v in d['mine']]}")
    d = detect(tool, c / "node1", c / "node2", c / "node3")
    check(kinds(d) == ["compaction_unfinished"] and d["mine"][0].get("member_name") == "node1",
          f"compaction diff: {[(v['kind'], v.get('member_name')) for v in d['mine']]}")
    # planted (README): the newest key revision below scheduledCompactRev
    p = fx / "detect-compaction" / "planted-17780"
    d = detect(tool, p)
    check(kinds(d) == ["compaction_unfinished"] and "17780" in d["mine"][0]["headline"],
          f"17780 planted: {[v['headline'] for v in d['mine']]}")


def alarm(tool, fx):
    a = fx / "detect-alarm"
    d = detect(tool, a / "node1", a / "node2", a / "node3")
    check(kinds(d) == ["false_corrupt_alarm"], f"alarm: kinds {kinds(d)}")
    for v in d["mine"]:
        check(not v["divergence"], "alarm: a false alarm is no divergence")
        check(len([e for e in v["evidence"] if "offset" in e]) == 3, "alarm: one bucket alarm record per member")
        check("15919" in v["versions"], "alarm: versions")
    d = detect(tool, a / "node1")
    check(not d["mine"], f"alarm node1 alone: {kinds(d)} (a false alarm needs peers to tell)")
    check(any("CORRUPT" in r for r in d["ruled_out"]), "alarm node1 alone: the CORRUPT alarm is not mentioned")


def leftovers(tool, fx):
    lo = fx / "evidence" / "leftovers"
    t = json.loads((fx / "evidence" / "truth" / "leftovers.json").read_text())
    d = detect(tool, lo / "node2")
    check(kinds(d) == ["interrupted_defrag"], f"leftovers node2: {kinds(d)}")
    for v in d["mine"]:
        check(not v["divergence"] and any("db.tmp." in e.get("file", "") for e in v["evidence"]),
              f"defrag: {v}")
    d = detect(tool, lo / "node3")
    check(kinds(d) == ["leftover_snapshot"], f"leftovers node3: {kinds(d)}")
    for v in d["mine"]:
        check(not v["divergence"], "leftover .snap.db: no divergence by itself")
        check(any(e.get("file", "").endswith(t["snap_db"]) for e in v["evidence"]), "leftover: file not cited")


def dump_db_status(dump_db, fx):
    """dump-db status shows the member's verdicts (and only when it has some),
    without changing its exit status (damage only)."""
    p = subprocess.run([dump_db, "status", "-o", "json", str(fx / "detect-zombie" / "node1")],
                       capture_output=True, text=True, timeout=120)
    d = json.loads(p.stdout) if p.stdout.strip() else {}
    kinds_ = [v["kind"] for v in d.get("verdicts", [])]
    # status reports them; its exit stays about damage
    check(p.returncode == 0 and kinds_ == ["zombie_member"],
          f"dump-db status zombie: exit {p.returncode}, verdicts {kinds_}")
    p = subprocess.run([dump_db, "status", str(fx / "evidence" / "leftovers" / "node2")],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and "[interrupted_defrag]" in p.stdout,
          f"dump-db status defrag leftover: exit {p.returncode}")
    p = subprocess.run([dump_db, "status", "-o", "json", str(fx / "healthy" / "node1")],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and "verdicts" not in json.loads(p.stdout), "dump-db status healthy: verdicts shown")


def cause_fixtures(tool, fx):
    """Helper fixtures' independent reproductions (tests/live/make_cause_fixtures.py,
    truth.json): the ones that are ours name the member and entry etcd's
    answers name; the others get none of our verdicts."""
    t = json.loads((fx / "cause-txn-compacted-range" / "truth.json").read_text())
    a = t["affected"][0]
    d = detect(tool, *sorted((fx / "cause-txn-compacted-range").glob("node*")))
    check([(v["kind"], v.get("member_name"), v.get("first_divergent_index"), v["divergence"]) for v in d["mine"]]
          == [("txn_compacted_range", a["member"], a["first_affected_wal_index"], True)],
          f"cause-txn-compacted-range ({t['etcd_version']}): {[(v['kind'], v.get('member_name')) for v in d['mine']]}"
          f", want {a['member']} at {a['first_affected_wal_index']}")
    t = json.loads((fx / "cause-learner-promotion" / "truth.json").read_text())
    nodes = sorted((fx / "cause-learner-promotion").glob("node*"))
    d = detect(tool, *nodes)
    check(kinds(d) == ["promotion_lost"] * len(nodes) and all(t["learner"]["id"] in v["headline"] for v in d["mine"]),
          f"cause-learner-promotion ({t['etcd_version']}): {[v['headline'] for v in d['mine']]}")
    for name in ("cause-learner-promotion-3.5.35", "cause-learner-promotion-3.6", "cause-learner-promotion-3.7"):
        d = detect(tool, *sorted((fx / name).glob("node*")))
        check(not d["mine"], f"{name}: {kinds(d)}")
    for name in ("cause-defrag-killed", "cause-defrag-killed-3.6", "cause-defrag-killed-3.7"):
        t = json.loads((fx / name / "truth.json").read_text())
        d = detect(tool, *sorted((fx / name).glob("node*")))
        check([(v["kind"], v.get("member_name"), v["divergence"]) for v in d["mine"]] ==
              [("interrupted_defrag", t["affected"][0]["member"], False)] and
              t["db_tmp"]["name"] in d["mine"][0]["headline"], f"{name}: {[v['headline'] for v in d['mine']]}")
    # a db older than the member's newest .snap (3.5.35, 3.6.16, 3.7.3 would not start it)
    for name in ("cause-db-older-than-snap", "cause-db-older-than-snap-3.6", "cause-db-older-than-snap-3.7"):
        t = json.loads((fx / name / "truth.json").read_text())
        a = t["affected"][0]
        log = (fx / name / "logs" / f"{a['member']}.log").read_text(errors="replace")
        check(t["start_with_old_db"]["outcome"] == "exited" and "failed to find database snapshot file" in log,
              f"{name}: etcd's refusal not in its log")
        d = detect(tool, fx / name / a["member"])
        check([(v["kind"], v.get("first_divergent_index"), v["divergence"]) for v in d["mine"]] ==
              [("stale_db", a["first_affected_wal_index"], True)] and
              f"consistent_index {a['db_applied_index']} < snapshot index {a['newest_snap_index']}"
              in d["mine"][0]["headline"] and "failed to find database snapshot file" in d["mine"][0]["recovery"],
              f"{name}: {[(v['kind'], v['headline']) for v in d['mine']]}")
        for n in ("node1", "node2"):
            d = detect(tool, fx / name / n)
            check(not d["mine"], f"{name} {n}: {kinds(d)}")
    for v in ("3.4", "3.6"):
        name = f"cause-txn-compacted-range-{v}"
        t = json.loads((fx / name / "truth.json").read_text())
        a = t["affected"][0]
        d = detect(tool, *sorted((fx / name).glob("node*")))
        check([(x["kind"], x.get("member_name"), x.get("first_divergent_index")) for x in d["mine"]]
              == [("txn_compacted_range", a["member"], a["first_affected_wal_index"])], f"{name}: {kinds(d)}")
    for name in ("cause-snapshot-restore", "cause-snapshot-restore-3.6", "cause-snapshot-restore-3.7",
                 "cause-damaged-page", "cause-killed-under-load-3.6", "cause-killed-under-load-3.7",
                 "cause-stale-copy-3.6", "cause-stale-copy-3.7"):
        d = detect(tool, *sorted((fx / name).glob("node*")))
        check(not d["mine"], f"{name}: {[v['headline'] for v in d['mine']]}")
    tc = fx / "cause-two-clusters"
    # members of two clusters: the identity check (analysis/identity.c)
    # refuses before any detector runs
    p = subprocess.run([tool, tc / "a-node1", tc / "a-node2", tc / "b-node1"], capture_output=True, text=True,
                       timeout=300)
    check(p.returncode != 0 and "different clusters" in p.stderr,
          f"cause-two-clusters: exit {p.returncode}: {p.stderr.strip()[:200]} (refused as two clusters)")


def main():
    tool, dump_wal, fx = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if len(sys.argv) > 4:
        dump_db_status(sys.argv[4], fx)
    healthy(tool, fx)
    zombie(tool, fx)
    learner(tool, dump_wal, fx)
    txn_range(tool, dump_wal, fx)
    lease_auth(tool, dump_wal, fx)
    compaction(tool, fx)
    alarm(tool, fx)
    leftovers(tool, fx)
    cause_fixtures(tool, fx)
    for f in failures:
        print("FAIL:", f)
    print(f"detectors: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
