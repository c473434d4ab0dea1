#!/usr/bin/env python3
"""diff-db on the three real-etcd scenarios, checked against what the live
members reported (truth/final/nodeN.keys from etcdctl get --consistency=s).

usage: diffref.py DIFF_DB FIXTURES_DIR
"""
import base64
import json
import subprocess
import sys
from pathlib import Path

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def text(v):
    return base64.b64decode(v["base64"]).decode() if isinstance(v, dict) else v


def diff(diff_db, fixture, *extra):
    nodes = [str(p) for p in sorted(fixture.glob("node*"))]
    p = subprocess.run([diff_db, "-o", "json", *extra, *nodes], capture_output=True, text=True, timeout=120)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr


def live_keys(fixture, node):
    f = fixture / "truth" / "final" / f"{node}.keys"
    return set(l for l in f.read_text().splitlines() if l) if f.exists() else None


def main():
    diff_db, fx = sys.argv[1], Path(sys.argv[2])

    # --- the incident ---
    inc = fx / "incident-authskew"
    rc, d, err = diff(diff_db, inc)
    check(rc == 1, f"incident: exit {rc}, want 1 ({err})")
    names = [n["name"] for n in d["nodes"]]
    truth = {n: live_keys(inc, n) for n in names}
    union = set().union(*truth.values())
    want = {k: {n: k in truth[n] for n in names} for k in union if len({k in truth[n] for n in names}) > 1}
    got = {text(k["key"]): k["present"] for k in d["divergent_keys"]}
    check(got == want, f"incident: divergent keys differ from etcdctl's views: "
                       f"extra {sorted(set(got) - set(want))[:3]}, missing {sorted(set(want) - set(got))[:3]}, "
                       f"presence {[k for k in got if k in want and got[k] != want[k]][:3]}")
    check(d["verdict"]["cause"] == "auth_revision_skew", f"incident: cause {d['verdict']['cause']}")
    ar = {n["name"]: n["auth_revision"] for n in d["nodes"]}
    check(ar == {"node1": 14, "node2": 13, "node3": 12}, f"incident: auth revisions {ar}")
    check(d["verdict"]["most_complete_node"] == "node3", f"incident: most complete {d['verdict']['most_complete_node']}")
    for k in d["divergent_keys"]:
        rejected = [w for w in k["wal"] if "rejected_auth_revision" in w["fate"].values()]
        check(k["cause"] == "auth_revision_rejected" and rejected,
              f"incident: {text(k['key'])} not traced to a rejected entry: {k['cause']} {k['reason']}")
        for w in rejected:
            # the members that rejected it hold a higher authRevision than the header
            for n, fate in w["fate"].items():
                if fate == "rejected_auth_revision":
                    check(ar[n] > w["auth_revision"], f"incident: {n} rejected entry {w['index']} "
                                                      f"with auth_revision {w['auth_revision']} >= its {ar[n]}")
                else:
                    check(ar[n] <= w["auth_revision"], f"incident: {n} applied entry {w['index']}")
            check(w["username"] == "root", f"incident: entry {w['index']} user {w['username']}")
    check(d["history"]["first_divergent_revision"] == 165, f"incident: first divergent revision "
          f"{d['history']['first_divergent_revision']}")
    offs = {n: [s["offset"] for s in segs] for n, segs in d["history"]["offsets"].items()}
    check(offs.get("node1") == [-42] and offs.get("node2") == [-22], f"incident: offsets {offs}")
    rc2, d2, _ = diff(diff_db, inc, "--wal", "node1=/nonexistent")
    check(rc2 == 2, "incident: a missing --wal directory is trouble (exit 2)")
    dbs = [str(p / "member" / "snap" / "db") for p in sorted(inc.glob("node*"))]
    p = subprocess.run([diff_db, "-o", "json", *dbs], capture_output=True, text=True, timeout=120)
    nowal = json.loads(p.stdout)
    check(p.returncode == 1 and nowal["verdict"]["cause"] == "auth_revision_skew" and not nowal["verdict"]["wal_used"],
          "incident without WALs: still auth skew (suspected)")
    check([n["name"] for n in nowal["nodes"]] == ["node1", "node2", "node3"], "labels from directory names")

    # --- healthy ---
    rc, d, err = diff(diff_db, fx / "healthy")
    check(rc == 0 and not d["divergent_keys"] and d["verdict"]["cause"] == "none",
          f"healthy: exit {rc}, {len(d['divergent_keys'])} divergent, cause {d['verdict']['cause']}")

    # --- stale member ---
    st = fx / "stale-member"
    rc, d, err = diff(diff_db, st)
    # issue 14: a member only behind is no divergence: exit 0, one lag
    # verdict naming node3 and its gap, as the live members reported it
    # (node3's last endpoint status before it stopped, node1's at the end)
    check(rc == 0 and d["verdict"]["cause"] == "member_behind" and d["lag_only"] and not d["divergent"],
          f"stale: exit {rc}, cause {d['verdict']['cause']}, lag_only {d.get('lag_only')}")
    s3 = json.loads((st / "truth" / "node3-last-status.json").read_text())[0]["Status"]
    s1 = json.loads((st / "truth" / "final" / "node1.status.json").read_text())[0]["Status"]
    lag = [v for v in d["verdicts"] if v["kind"] == "lag"]
    check(len(lag) == 1 and lag[0]["member"] == "node3" and not lag[0]["divergence"],
          f"stale: one lag verdict, on node3, not divergence: {[(v['kind'], v['member']) for v in d['verdicts']]}")
    gap_e = s1["raftAppliedIndex"] - s3["raftAppliedIndex"]
    gap_r = s1["header"]["revision"] - s3["header"]["revision"]
    n3 = next(n for n in d["nodes"] if n["name"] == "node3")
    check(n3["lagging"] and n3["lag_entries"] == gap_e and n3["lag_revisions"] == gap_r,
          f"stale: node3 lags {n3.get('lag_entries')} entries / {n3.get('lag_revisions')} revisions, "
          f"etcd's endpoint status says {gap_e} / {gap_r}")
    want_rev = f"{s3['header']['revision'] + 1}..{s1['header']['revision']}"
    check(lag and any(want_rev in e["text"] for e in lag[0]["evidence"]),
          f"stale: the lag verdict names revisions {want_rev}: {lag and [e['text'] for e in lag[0]['evidence']]}")
    states = d["history"]["states"]
    check(states["node3"] == "behind" and states["node1"] == "same" and states["node2"] == "same",
          f"stale: history states {states}")
    node3 = next(n for n in d["nodes"] if n["name"] == "node3")
    node1 = next(n for n in d["nodes"] if n["name"] == "node1")
    check(any(f"{node3['revision'] + 1}..{node1['revision']}" in e for e in d["verdict"]["evidence"]),
          f"stale: the revisions node3 lacks are named: {d['verdict']['evidence']}")
    want = {k for k in (live_keys(st, "node1") or set())} - set()
    check(all(text(k["key"]).startswith("/probe/after-node3-down/") and not k["present"]["node3"]
              and k["cause"] == "not_yet_applied" for k in d["divergent_keys"]) and len(d["divergent_keys"]) == 30,
          f"stale: 30 keys written after node3 stopped, not applied there")

    for f in failures:
        print("FAIL:", f)
    print(f"diff-db fixtures: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
