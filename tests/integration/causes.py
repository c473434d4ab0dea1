#!/usr/bin/env python3
"""Causes of divergence (issue 13): each member against its own WAL (dump-db
verify, diff-db), the verdict list, revision offsets, the recovery ranking,
on real etcd data checked against what etcd itself answered.

  - cause-lost-writes-planted: real etcd 3.5.2 cluster, node2 holds 13766's
    state (planted; testdata/README.md). etcd 3.5.2 restarted on it answered node2
    revision = peers - 1 and no /app/b010 (truth/after.json).
  - incident-authskew: auth_skew on node1 and node2 only, as before.
  - healthy: consistent, exit 0; stale-member: lag on node3 only.
  - killed-under-load(-3.4/-3.6/-3.7), stale-copy(-3.4/-3.6/-3.7),
    defrag-killed(-3.6/-3.7), learner-promotion-3.6/-3.7, detect-compaction,
    detect-alarm, detect-lease-auth: consistent, lag- or warning-only by
    etcd's answers, so diff-db exits 0 with no divergent verdict.
  - cause-db-older-than-snap(-3.6/-3.7): stale_db quotes the line etcd
    (3.5.35, 3.6.16, 3.7.3) logged.

usage: causes.py DUMP_WAL DUMP_DB DIFF_DB FIXTURES_DIR
"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(*argv):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300)
    doc = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
    return p.returncode, doc, p.stderr


def lines(*argv):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def divergent_kinds(d):
    return sorted((v["kind"], v["member"]) for v in d["verdicts"] if v["divergence"])


def hashkv(m, rev="0"):
    return ((m.get("etcd") or {}).get("hashkv") or {}).get(rev, {}).get("hash")


def non_divergent(diff_db, fx):
    """Healthy, lag-only and warning-only cases stay exit 0 (issue 13): diff-db
    without --verify lists no divergent verdict. That each case is no
    divergence is checked first on etcd's own answers (truth.json, truth/)."""
    cases = []
    for name in ("cause-killed-under-load", "cause-killed-under-load-3.4", "cause-killed-under-load-3.6",
                 "cause-killed-under-load-3.7"):
        t = json.loads((fx / name / "truth.json").read_text())
        ms = t["members"]
        # after node3's restart etcd's HashKV agrees on every member: the
        # killed copy only lacked what its WAL replays (lag)
        check(not t["affected"] and len({hashkv(ms[n]) for n in ("node1", "node2", "node3")}) == 1,
              f"{name}: etcd's answers agree after the restart: {[hashkv(ms[n]) for n in ms]}")
        cases += [(name, ["node1", "node2", "node3"], {"consistent"}),
                  (name, ["node1", "node2", "node3-killed"], {"lag"})]
    for name in ("cause-stale-copy", "cause-stale-copy-3.4", "cause-stale-copy-3.6", "cause-stale-copy-3.7"):
        t = json.loads((fx / name / "truth.json").read_text())
        ms, a = t["members"], t["affected"][0]
        # the older copy is a prefix: node3's HashKV is its peers' at its revision
        check(a["member"] == "node3" and hashkv(ms["node3"]) == hashkv(ms["node1"], str(a["copy_revision"]))
              == hashkv(ms["node2"], str(a["copy_revision"])) and hashkv(ms["node1"]) == hashkv(ms["node2"]),
              f"{name}: etcd's answers: node3 a prefix of its peers")
        cases.append((name, ["node1", "node2", "node3"], {"lag"}))
    for name in ("cause-defrag-killed", "cause-defrag-killed-3.6", "cause-defrag-killed-3.7"):
        t = json.loads((fx / name / "truth.json").read_text())
        ms = t["members"]
        check(tuple(map(int, t["etcd_version"].split("."))) >= (3, 5, 6) and len({hashkv(m) for m in ms.values()}) == 1
              and not t.get("diverged"), f"{name}: etcd's HashKV agrees on every member ({t['etcd_version']})")
        cases.append((name, ["node1", "node2", "node3"], {"lag", "interrupted_defrag"}))
    for name in ("cause-learner-promotion-3.6", "cause-learner-promotion-3.7"):
        t = json.loads((fx / name / "truth.json").read_text())
        ms = t["members"]
        ml = json.loads((fx / name / "answers" / "final" / "members.json").read_text())["members"]
        # four voters in etcd's member list, one HashKV: the promotion held
        check(len(ml) == 4 and not any(m.get("isLearner") for m in ml) and len({hashkv(m) for m in ms.values()}) == 1,
              f"{name}: etcd's member list and HashKV after the promotion ({t['etcd_version']})")
        cases.append((name, sorted(ms), {"consistent"}))
    c = json.loads((fx / "detect-compaction" / "truth" / "compaction.json").read_text())
    check(len({(s["header"]["revision"], s["raftAppliedIndex"]) for s in c["status_before"]}) == 1,
          "detect-compaction: every member at the same revision and index before the compaction")
    cases.append(("detect-compaction", ["node1", "node2", "node3"], {"lag", "compaction_unfinished"}))
    # planted: the healthy fixture (its members agree) plus one alarm key each
    check(json.loads((fx / "detect-alarm" / "truth" / "planted.json").read_text())["alarm"] == "CORRUPT",
          "detect-alarm: a planted CORRUPT alarm")
    cases.append(("detect-alarm", ["node1", "node2", "node3"], {"false_corrupt_alarm"}))
    la = json.loads((fx / "detect-lease-auth" / "truth" / "lease-auth.json").read_text())
    # every member refused the revoke: the lease and its key are still there
    check(la["etcdctl_revoke_without_user"]["returncode"] == 1
          and "user name is empty" in la["etcdctl_revoke_without_user"]["stderr"]
          and {l["id"] for l in la["lease_list_after"]["leases"]} == {la["held_lease"]}
          and la["held_key_after"] == [["/held/key", "attached"]],
          "detect-lease-auth: etcd refused the revoke alike (lease and key kept)")
    cases.append(("detect-lease-auth", ["node1", "node2", "node3"], {"lease_revoke_auth"}))
    for name, nodes, kinds in cases:
        rc, d, err = run(diff_db, "-o", "json", *(fx / name / n for n in nodes))
        got = [(v["kind"], v["divergence"]) for v in d["verdicts"]] if d else None
        check(rc == 0 and d and d["divergent"] is False and not [v for v in d["verdicts"] if v["divergence"]]
              and {k for k, _ in got} == kinds,
              f"{name} {nodes}: exit {rc}, divergent {d and d['divergent']}, verdicts {got}, want {sorted(kinds)}"
              f" and none divergent; {err.strip()[:300]}")


def stale_db_quote(dump_db, diff_db, fx, case="cause-db-older-than-snap"):
    """The stale_db verdict quotes what etcd printed: cause-db-older-than-snap's
    node3 (etcd 3.5.35, db at consistent_index 18, newest .snap at 63, no
    .snap.db) panicked on start; its log line is the quote. The same on
    3.6.16 and 3.7.3 (case -3.6, -3.7)."""
    c = fx / case
    t = json.loads((c / "truth.json").read_text())
    a = t["affected"][0]
    panic = [json.loads(l) for l in (c / "logs" / f"{a['member']}.log").read_text(errors="replace").splitlines()
             if l.startswith("{") and '"level":"panic"' in l]
    check(len(panic) == 1, f"{case}: one panic in {a['member']}'s log: {len(panic)}")
    if not panic:
        return
    quote = f'("{panic[0]["msg"]}": "{panic[0]["error"]}")'
    check("failed to find database snapshot file" in quote, f"etcd's log line: {quote}")
    outs = []
    rc, v, err = run(dump_db, "-o", "json", "verify", c / a["member"])
    outs.append(("dump-db verify -o json", rc, [x["headline"] for x in (v or {}).get("verdicts", [])
                                                if x["kind"] == "stale_db"]))
    p = subprocess.run([dump_db, "verify", str(c / a["member"])], capture_output=True, text=True, timeout=300)
    outs.append(("dump-db verify", p.returncode, [l for l in p.stdout.splitlines() if "[stale_db]" in l]))
    nodes = [c / n for n in ("node1", "node2", "node3")]
    rc, d, err = run(diff_db, "-o", "json", *nodes)
    outs.append(("diff-db -o json", rc, [x["headline"] for x in (d or {}).get("verdicts", [])
                                         if x["kind"] == "stale_db"]))
    p = subprocess.run([diff_db, *map(str, nodes)], capture_output=True, text=True, timeout=300)
    outs.append(("diff-db", p.returncode, [l for l in p.stdout.splitlines() if "[stale_db]" in l]))
    for what, rc, heads in outs:
        check(rc == 1 and len(heads) == 1 and heads[0].endswith(quote) and "does not match" not in heads[0]
              and f"consistent_index {a['db_applied_index']} < snapshot index {a['newest_snap_index']}" in heads[0],
              f"{what} on {case}: exit {rc}, {heads}; want the log's {quote}")
    # with a .snap.db of the snapshot index whose consistent_index is still
    # below it (node3's own old db put there), etcd's other refusal (its
    # source: every release's recoverSnapshotBackend, then NewServer /
    # recoverSnapshot) is quoted, with that db's index
    with tempfile.TemporaryDirectory(prefix="kvf-causes-") as tmp:
        m = Path(tmp) / a["member"]
        shutil.copytree(c / a["member"], m)
        shutil.copyfile(m / "member" / "snap" / "db", m / "member" / "snap" / f"{a['newest_snap_index']:016x}.snap.db")
        rc, v, err = run(dump_db, "-o", "json", "verify", m)
        heads = [x["headline"] for x in (v or {}).get("verdicts", []) if x["kind"] == "stale_db"]
        want = (f'("database file ({m}/member/snap/db index {a["db_applied_index"]}) does not match with snapshot '
                f'(index {a["newest_snap_index"]})")')
        check(rc == 1 and len(heads) == 1 and heads[0].endswith(want) and "failed to find" not in heads[0],
              f"{case}: verify with a .snap.db behind the snapshot: {heads}; want {want}")


def main():
    dump_wal, dump_db, diff_db, fx = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])

    # ---- lost writes below consistent_index ----
    lw = fx / "cause-lost-writes-planted"
    after = json.loads((lw / "truth" / "after.json").read_text())
    rev = {n: a["status"][0]["Status"]["header"]["revision"] for n, a in after.items()}
    lacking = [n for n, a in after.items() if "/app/b010" not in a["keys"]]
    check(lacking == ["node2"] and rev["node2"] == rev["node1"] - 1 == rev["node3"] - 1,
          f"etcd's own answers: members lacking /app/b010 {lacking}, revisions {rev}")
    lost_rev = int((lw / "truth" / "lost_revision").read_text())
    # the entry that wrote it, from the member's own WAL
    ents = [e for e in lines(dump_wal, "-o", "json", "--kind", "put", "--key-prefix", "/app/b010", lw / "node2")
            if e.get("record") == "entry"]
    check(len(ents) == 1, f"one put of /app/b010 in node2's WAL, got {len(ents)}")
    idx = ents[0]["index"] if ents else -1
    off = ents[0]["offset"] if ents else -1

    rc, v, err = run(dump_db, "-o", "json", "verify", lw / "node2")
    check(rc == 1, f"verify node2: exit {rc}, want 1 ({err})")
    c = v["checked"] if v else {}
    check(c.get("missing") == 1 and c.get("first_missing_index") == idx and c.get("applied_twice") == 0,
          f"verify node2: missing {c.get('missing')} first {c.get('first_missing_index')} (want 1, {idx})")
    check(v and v["consistent_index"] >= idx, "verify node2: consistent_index covers the lost entry")
    check(v and [x["kind"] for x in v["verdicts"]] == ["lost_writes"], f"verify node2: verdicts "
          f"{[x['kind'] for x in v['verdicts']] if v else None}")
    if v and v["verdicts"]:
        vd = v["verdicts"][0]
        check(vd["first_divergent_index"] == idx, f"verify node2: first divergent index {vd['first_divergent_index']}")
        ev = [e for e in vd["evidence"] if e["wal_index"] == idx]
        check(ev and ev[0]["file"] and ev[0]["file"].endswith(".wal") and ev[0]["offset"] == off,
              f"verify node2: evidence names the entry's segment and offset {off}: {ev}")
        check(any(e["file"] and e["file"].endswith("/db") and e["offset"] is not None for e in vd["evidence"]),
              "verify node2: evidence names consistent_index in the db file with its offset")
        check(v["missing"] and v["missing"][0]["revision"] == lost_rev,
              f"verify node2: the lost entry would be revision {lost_rev}: {v['missing'][:1]}")
    for n in ("node1", "node3"):
        rc, v, err = run(dump_db, "-o", "json", "verify", lw / n)
        check(rc == 0 and v and v["checked"]["missing"] == 0 and v["checked"]["applied"] == rev[n] - 1,
              f"verify {n}: exit {rc}, applied {v and v['checked']['applied']} of revisions 2..{rev[n]}")
        check(v and [x["kind"] for x in v["verdicts"]] == ["consistent"], f"verify {n}: verdicts")

    rc, d, err = run(diff_db, "-o", "json", lw / "node1", lw / "node2", lw / "node3")
    check(rc == 1, f"diff lost-writes: exit {rc} ({err})")
    if d:
        check(divergent_kinds(d) == [("lost_writes", "node2")], f"diff lost-writes: {divergent_kinds(d)}")
        vd = next((x for x in d["verdicts"] if x["kind"] == "lost_writes"), None)
        check(vd and vd["first_divergent_index"] == idx, f"diff lost-writes: first divergent index "
              f"{vd and vd['first_divergent_index']}, want {idx}")
        check(vd and any(e["wal_index"] == idx and e["offset"] == off for e in vd["evidence"]),
              "diff lost-writes: evidence names the lost entry")
        offs = [s["offset"] for s in d["history"]["offsets"].get("node2", [])]
        check(offs == [-1] and d["history"]["first_divergent_revision"] == lost_rev,
              f"diff lost-writes: offsets {offs}, first divergent revision {d['history']['first_divergent_revision']}")
        n2 = next(n for n in d["nodes"] if n["name"] == "node2")
        check(n2["first_divergent_index"] == idx and n2["own_wal_check"] and n2["own_wal_check"]["missing"] == 1,
              f"diff lost-writes: node2's own row: {n2['first_divergent_index']} {n2['own_wal_check']}")
        rk = [r["member"] for r in d["ranking"]]
        check(rk[-1] == "node2" and not d["ranking"][-1]["complete"] and d["recovery_plan"]["possible"]
              and d["recovery_plan"]["source"] in ("node1", "node3"), f"diff lost-writes: ranking {rk}")
        check(d["verdict"]["cause"] == "unexplained", "diff lost-writes: the old verdict object is unchanged")
    # without the peer that is complete: no recovery plan for two members... node2 alone vs node1 still works
    rc, d, err = run(diff_db, "-o", "json", lw / "node2", lw / "node3")
    check(rc == 1 and d and divergent_kinds(d) == [("lost_writes", "node2")], "diff node2 node3: lost_writes on node2")

    # ---- lost writes, triggered: etcd 3.5.2 SIGKILLed under compare-heavy
    # txns until the window was hit (fixtures' cause-lost-writes, nothing
    # planted); the member and index from how the case was made, etcd's
    # revisions and hashes from its own answers (truth.json)
    rl = fx / "cause-lost-writes"
    truth = json.loads((rl / "truth.json").read_text())
    aff = truth["affected"][0]
    who, first = aff["member"], aff["first_affected_wal_index"]
    revs = {n: m["etcd"]["revision"] for n, m in truth["members"].items() if m.get("etcd")}
    others = [n for n in ("node1", "node2", "node3") if n != who]
    check(all(revs[n] == revs[who] + aff["revision_shift"] for n in others),
          f"etcd's answers: {who} {aff['revision_shift']} revision behind its peers: {revs}")
    for d in (who, f"{who}-killed"):
        rc, v, err = run(dump_db, "-o", "json", "verify", rl / d)
        check(rc == 1 and v and v["checked"]["missing"] == 1 and v["checked"]["first_missing_index"] == first
              and [(x["kind"], x["first_divergent_index"]) for x in v["verdicts"]] == [("lost_writes", first)],
              f"verify {d} (triggered 13766): exit {rc}, {v and v['checked']}, "
              f"{v and [(x['kind'], x['first_divergent_index']) for x in v['verdicts']]}; want lost_writes at {first}")
    for n in others:
        rc, v, err = run(dump_db, "-o", "json", "verify", rl / n)
        check(rc == 0 and v and v["checked"]["missing"] == 0, f"verify {n} (triggered 13766): exit {rc}")
    rc, d, err = run(diff_db, "-o", "json", *(rl / n for n in ("node1", "node2", "node3")))
    check(rc == 1 and d and [(x["kind"], x["member"], x["first_divergent_index"]) for x in d["verdicts"]
                             if x["divergence"]] == [("lost_writes", who, first)],
          f"diff triggered lost-writes: exit {rc}, {d and [(x['kind'], x['member']) for x in d['verdicts']]}")

    # ---- applied twice, before and after the restart: fixtures'
    # cause-defrag-killed-3.5.2 (etcd 3.5.2 SIGKILLed during an online defrag
    # under load, nothing planted). Its killed dir holds writes of entries
    # past its consistent_index (etcd replays them at start); after the
    # restart its revisions run ahead of its peers' from that entry on.
    dk = fx / "cause-defrag-killed-3.5.2"
    truth = json.loads((dk / "truth.json").read_text())
    aff = truth["affected"][0]
    who, first = aff["member"], aff["first_affected_wal_index"]
    rc, v, err = run(dump_db, "-o", "json", "verify", dk / who)
    vk = [(x["kind"], x["first_divergent_index"]) for x in v["verdicts"]] if v else None
    check(rc == 1 and vk == [("applied_twice", first)] and v["checked"]["above_consistent_index"]["with_effect"] > 0,
          f"verify {who} killed mid-defrag: exit {rc}, {vk}; want applied_twice at {first}")
    rc, d, err = run(diff_db, "-o", "json", *(dk / n for n in ("node1", f"{who}-final", "node3")))
    dv = [(x["kind"], x["member"], x["first_divergent_index"]) for x in d["verdicts"] if x["divergence"]] if d else None
    fin = truth["members"][f"{who}-final"]["etcd"]["revision"]
    peer = truth["members"]["node1"]["etcd"]["revision"]
    check(rc == 1 and dv == [("applied_twice", f"{who}-final", first)] and fin == peer + aff["revision_shift_up"],
          f"diff-db after the restart: exit {rc}, {dv}; etcd: {fin} vs {peer}")

    # ---- one verdict per cause, on fixtures' reproductions: the member and
    # entry from how each case was made (truth.json), no other divergence
    for case, kind in (("cause-txn-compacted-range", "txn_compacted_range"),
                       ("cause-txn-compacted-range-3.4", "txn_compacted_range"),
                       ("cause-txn-compacted-range-3.6", "txn_compacted_range"),
                       ("cause-db-older-than-snap", "stale_db"),
                       ("cause-db-older-than-snap-3.6", "stale_db"),
                       ("cause-db-older-than-snap-3.7", "stale_db"),
                       ("cause-damaged-page", "page_damage"),
                       ("cause-snapshot-restore", "restored_snapshot"),
                       ("cause-snapshot-restore-3.6", "restored_snapshot"),
                       ("cause-snapshot-restore-3.7", "restored_snapshot")):
        truth = json.loads((fx / case / "truth.json").read_text())
        aff = truth["affected"][0]
        rc, d, err = run(diff_db, "-o", "json", *sorted((fx / case).glob("node?")))
        dv = [(x["kind"], x["member"]) for x in d["verdicts"] if x["divergence"]] if d else None
        check(dv == [(kind, aff["member"])], f"{case}: verdicts {dv}, want only {kind} on {aff['member']} (exit {rc})")
        v = next((x for x in d["verdicts"] if x["kind"] == kind), None) if d else None
        if v and "first_affected_wal_index" in aff:
            check(v["first_divergent_index"] == aff["first_affected_wal_index"],
                  f"{case}: first divergent index {v['first_divergent_index']}, want {aff['first_affected_wal_index']}")
        if v and "offset" in aff:
            check(any(e["offset"] == aff["offset"] and e["file"].endswith("/db") for e in v["evidence"]),
                  f"{case}: evidence names the damaged page at offset {aff['offset']}: {v['evidence'][:2]}")
        if v and "snapshot_revision" in aff:
            check(f"holds revision {aff['snapshot_revision']} " in v["headline"],
                  f"{case}: the restored revision {aff['snapshot_revision']}: {v['headline']}")
        # a damaged page makes the comparison partial: exit 2, the verdict still said
        check(rc == (2 if kind == "page_damage" else 1), f"{case}: exit {rc}")
    rc, d, err = run(diff_db, "-o", "json", *sorted((fx / "cause-txn-compacted-range-3.7").glob("node?")))
    check(rc == 0 and d and not [x for x in d["verdicts"] if x["divergence"]],
          f"cause-txn-compacted-range-3.7 (fixed in 3.7: every member failed the txn alike): exit {rc}")

    # ---- applied twice: real 3.5.2 killed during a defrag, restarted ----
    at = fx / "cause-applied-twice"
    get = json.loads((at / "truth" / "get.json").read_text())
    import base64
    twice = {base64.b64decode(kv["key"]).decode() for kv in get.get("kvs", []) if int(kv.get("version", 1)) > 1}
    check(twice, "etcd's answer: some key at version 2 that the load wrote once")
    rc, v, err = run(dump_db, "-o", "json", "verify", at / "node1")
    check(rc == 1, f"verify applied-twice: exit {rc}, want 1 ({err})")
    if v:
        c = v["checked"]
        check(c["applied_twice"] == len(twice) and c["missing"] == 0,
              f"verify applied-twice: {c['applied_twice']} repeats, etcd shows {len(twice)} keys at version 2")
        check(all(x["key"] in twice and x["first_revision"] < x["revision"] for x in v["applied_twice"]),
              f"verify applied-twice: repeated keys {[x['key'] for x in v['applied_twice']]} not all at version 2")
        check([x["kind"] for x in v["verdicts"]] == ["applied_twice"], "verify applied-twice: one verdict")
        first = min((x["index"] for x in v["applied_twice"]), default=None)
        check(v["verdicts"][0]["first_divergent_index"] == first == c["first_twice_index"],
              f"verify applied-twice: first index {v['verdicts'][0]['first_divergent_index']} {first}")
        # each repeated write's entry, from the WAL: a put of that key, at that index
        for x in v["applied_twice"][:3]:
            ents = [e for e in lines(dump_wal, "-o", "json", "--index", f"{x['index']}:{x['index']}", at / "node1")
                    if e.get("record") == "entry"]
            check(ents and ents[0]["request"]["kind"] == "put", f"verify applied-twice: entry {x['index']} is a put")
    killed = json.loads((at / "truth" / "killed.verify.json").read_text())
    check(killed["checked"]["above_consistent_index"]["with_effect"] == len(twice),
          "the killed dir held exactly those writes past consistent_index")

    # ---- the incident: authRevision skew, as before ----
    inc = fx / "incident-authskew"
    rc, d, err = run(diff_db, "-o", "json", *sorted(inc.glob("node*")))
    check(rc == 1 and d and divergent_kinds(d) == [("auth_skew", "node1"), ("auth_skew", "node2")],
          f"incident: {d and divergent_kinds(d)}")
    if d:
        check(d["verdict"]["cause"] == "auth_revision_skew", "incident: old verdict object")
        for v in d["verdicts"]:
            m = v["member"]
            refused = sorted(w["index"] for k in d["divergent_keys"] for w in k["wal"]
                             if w["fate"][m] == "rejected_auth_revision" and w["fate"]["node3"] == "applied")
            check(refused and v["first_divergent_index"] == refused[0],
                  f"incident {m}: first divergent index {v['first_divergent_index']}, first refused {refused[:1]}")
            ar = next(n["auth_revision"] for n in d["nodes"] if n["name"] == m)
            check(any(e["file"] and e["file"].endswith("/db") and e["offset"] and f"= {ar}" in e["text"]
                      for e in v["evidence"]), f"incident {m}: evidence names its authRevision in the db")
            check(any(e["wal_index"] == refused[0] and e["file"].endswith(".wal") for e in v["evidence"]),
                  f"incident {m}: evidence names the first refused entry in the WAL")
            check("11651" in v["versions"] and "3.4.8" in v["versions"], f"incident {m}: versions")
            check("node3" in v["recovery"], f"incident {m}: recovery from node3")
        check(d["ranking"][0]["member"] == "node3" and d["recovery_plan"]["source"] == "node3", "incident: rank node3")
    # dump-db verify on node1 alone: its refusals are explained, nothing lost
    rc, v, err = run(dump_db, "-o", "json", "verify", inc / "node1")
    check(rc == 0 and v and v["checked"]["refused"] == 42 and v["checked"]["missing"] == 0,
          f"incident verify node1: exit {rc}, refused {v and v['checked']['refused']}")

    # ---- healthy, stale ----
    rc, d, err = run(diff_db, "-o", "json", *sorted((fx / "healthy").glob("node*")))
    check(rc == 0 and d and [v["kind"] for v in d["verdicts"]] == ["consistent"], f"healthy: exit {rc}")
    rc, d, err = run(diff_db, "-o", "json", *sorted((fx / "stale-member").glob("node*")))
    kinds = sorted((v["kind"], v["member"]) for v in d["verdicts"]) if d else None
    check(kinds == [("lag", "node3")], f"stale: verdicts {kinds}")
    if d:
        node3 = next(n for n in d["nodes"] if n["name"] == "node3")
        # lag is no divergence (no first divergent index); the first entry
        # node3 lacks is its evidence, and its row's first index
        lag = d["verdicts"][0]
        check(lag["first_divergent_index"] is None and lag["divergence"] is False, "stale: lag is no divergence")
        check(any(e["wal_index"] == node3["consistent_index"] + 1 for e in lag["evidence"])
              and node3["first_divergent_index"] == node3["consistent_index"] + 1, "stale: first index")
        check(d["ranking"][-1]["member"] == "node3", "stale: node3 ranked last")
    for n in ("node1", "node2", "node3"):
        rc, v, err = run(dump_db, "-o", "json", "verify", fx / "healthy" / n)
        check(rc == 0 and v and v["checked"]["missing"] == 0 and v["checked"]["applied_twice"] == 0,
              f"healthy verify {n}: exit {rc}")
    for ver in ("3.5", "3.6", "3.7"):
        rc, v, err = run(dump_db, "-o", "json", "verify", fx / f"etcd-{ver}" / "node1")
        check(rc == 0 and v and v["checked"]["missing"] == 0 and v["checked"]["applied"] > 0
              and not v["stale_db"] and v["snap"]["index"], f"etcd-{ver} verify: exit {rc} {err}")

    non_divergent(diff_db, fx)
    for case in ("cause-db-older-than-snap", "cause-db-older-than-snap-3.6", "cause-db-older-than-snap-3.7"):
        stale_db_quote(dump_db, diff_db, fx, case)

    for f in failures:
        print("FAIL:", f)
    print(f"causes: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
