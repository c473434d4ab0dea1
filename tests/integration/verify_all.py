#!/usr/bin/env python3
"""Every member of every fixture against its own WAL, as a user runs it;
the recovery plans; the detectors' reproductions through the diff-db
program (every divergent cause and no other, the exit status).

`dump-db -o json verify DIR` on each member data dir of the fixtures, and
`diff-db --verify -o json` on each fixture's members, must name a divergent
cause exactly where etcd's own answers in the fixture say one is, and no
other: a member restored with `etcdctl snapshot restore` (`etcdutl` from
3.6), a lease revoke etcd refused for want of a user, a txn etcd 3.7 failed
on every member alike, a healthy member of each version are consistent. What is expected comes from
the fixtures (truth.json's affected members, etcd's gets and statuses), not
from this tool.

usage: verify_all.py DUMP_DB DIFF_DB FIXTURES_DIR
"""
import json
import subprocess
import sys
from pathlib import Path

DUMP_DB, DIFF_DB, FX = sys.argv[1], sys.argv[2], Path(sys.argv[3])
failures = []
checks = 0

# the verdict a cause-* fixture's truth.json stands for, on its affected
# members ("cause" -> kind; None: etcd's answers show no divergence)
CAUSE_KIND = {
    "lost-writes": "lost_writes",
    "db-older-than-snap": "stale_db",
    "txn-compacted-range": "txn_compacted_range",
    "damaged-page": "page_damage",
}


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)


def members(d):
    return sorted(p for p in d.iterdir() if (p / "member" / "snap" / "db").is_file())


def divergent(doc):
    return {(v["kind"], v.get("member")) for v in doc.get("verdicts", []) if v.get("divergence")}


def expected_cause(d):
    """{member dir name: kind} from the fixture's own record of what etcd did."""
    t = d / "truth.json"
    if t.is_file():
        truth = json.loads(t.read_text())
        kind = CAUSE_KIND.get(truth.get("cause"))
        if truth.get("cause") == "defrag-killed" and truth.get("diverged"):
            kind = "applied_twice"       # etcd's revisions ran ahead after the restart
        out = {}
        for a in truth.get("affected", []):
            if kind:
                out[a["member"]] = kind
        return out
    if d.name == "detect-txn-range":
        # etcd's serializable gets: the member without the txn's key lacks it
        tr = json.loads((d / "truth" / "txn-range.json").read_text())
        got = tr["get_b_serializable"]
        return {m: "txn_compacted_range" for m, kvs in got.items() if not kvs and any(got.values())}
    if d.name == "cause-lost-writes-planted":
        # PLANTED (truth/README): /app/b010 removed from node2's db; etcd's
        # serializable get of it after the restart, member by member
        after = json.loads((d / "truth" / "after.json").read_text())
        return {m: "lost_writes" for m, a in after.items() if not a["get_b010"].get("kvs")}
    if d.name == "cause-applied-twice":
        # each key was put once; etcd's get shows some at version 2
        get = json.loads((d / "truth" / "get.json").read_text())
        twice = [kv for kv in get["kvs"] if int(kv.get("version", 1)) > 1]
        return {"node1": "applied_twice"} if twice else {}
    return {}


def affected_kind(exp, name):
    """A member's copies (node3-killed, node2-final) share its fate."""
    for m, k in exp.items():
        if name == m or name.startswith(m + "-"):
            return k
    return None


sets = sorted(p for p in FX.iterdir() if p.is_dir() and (p.name.startswith(("cause-", "detect-")) or p.name in (
    "healthy", "incident-authskew", "stale-member", "etcd-3.5", "etcd-3.6", "etcd-3.7")))
check(len(sets) >= 30, f"only {len(sets)} fixture sets found under {FX}")
for d in sets:
    exp = expected_cause(d)
    ms = members(d)
    for m in ms:
        p = subprocess.run([DUMP_DB, "-o", "json", "verify", str(m)], capture_output=True, text=True)
        if p.returncode not in (0, 1):
            check(False, f"{m}: dump-db verify exit {p.returncode}: {p.stderr.strip()[:200]}")
            continue
        doc = json.loads(p.stdout)
        kinds = {k for k, _ in divergent(doc)}
        want = affected_kind(exp, m.name)
        # auth skew is the incident's, and only diff-db sees it; verify
        # alone counts its refusals (exit 0)
        check(kinds == ({want} if want else set()),
              f"{m.relative_to(FX)}: dump-db verify names {sorted(kinds) or 'nothing'}, etcd's answers say "
              f"{want or 'nothing'}")
        check(p.returncode == (1 if want else 0), f"{m.relative_to(FX)}: dump-db verify exit {p.returncode}")
        c = doc["checked"]
        if not want and c["aligned"]:
            check(c["missing"] == 0, f"{m.relative_to(FX)}: {c['missing']} writes called missing")
    # the fixture's members compared, each against its own WAL too
    base = [m for m in ms if "-" not in m.name]
    if d.name == "cause-two-clusters" or len(base) < 2:
        continue
    p = subprocess.run([DIFF_DB, "--verify", "-o", "json"] + [str(m) for m in base], capture_output=True, text=True)
    doc = json.loads(p.stdout) if p.stdout.strip() else {}
    for kind, member in divergent(doc):
        if kind in ("lost_writes", "applied_twice", "txn_compacted_range", "stale_db"):
            check(exp.get(member) == kind, f"{d.name}: diff-db --verify names {kind} on {member}; etcd's answers "
                  f"say {exp.get(member) or 'nothing'} there")
    for member, kind in exp.items():
        if kind in ("lost_writes", "applied_twice", "txn_compacted_range", "stale_db") and member in {
                m.name for m in base}:
            check((kind, member) in divergent(doc), f"{d.name}: diff-db --verify does not name {kind} on {member}")

# The recovery plan. Only one member's dirs at hand, and it lost writes
# (cause-lost-writes: node3, and its dir as the kill left it): no member
# holds every write, so no plan, and the text says what each lacks from
# where (truth.json: the first affected WAL index).
lw = FX / "cause-lost-writes"
first = json.loads((lw / "truth.json").read_text())["affected"][0]["first_affected_wal_index"]
p = subprocess.run([DIFF_DB, "-o", "json", str(lw / "node3"), str(lw / "node3-killed")], capture_output=True, text=True)
plan = json.loads(p.stdout)["recovery_plan"]
check(not plan["possible"] and plan["source"] is None, f"cause-lost-writes node3 + node3-killed: a plan: {plan}")
for m in ("node3", "node3-killed"):
    check(f"{m}: lost_writes from WAL index {first}" in plan["text"],
          f"cause-lost-writes: the refused plan does not say {m} lacks writes from WAL index {first}: {plan['text']}")
check(p.returncode == 1, f"cause-lost-writes node3 + node3-killed: exit {p.returncode}")
# Stale membership records on every member (a restore's zombies, 3.5.2's
# lost promotion) take no write away: a plan, after the membership repair,
# and no claim that writes are missing.
for name in ("detect-zombie", "cause-learner-promotion"):
    p = subprocess.run([DIFF_DB, "-o", "json"] + [str(m) for m in members(FX / name) if "-" not in m.name],
                       capture_output=True, text=True)
    plan = json.loads(p.stdout)["recovery_plan"]
    check(plan["possible"] and plan["membership_repair"], f"{name}: recovery plan {plan}")
    check("no member holds every write" not in plan["text"] and "membership records" in plan["text"],
          f"{name}: plan text: {plan['text']}")

# The detectors' reproductions through the diff-db program itself: every
# divergent cause named (kind and member) and no other, and the exit status.
def cli_divergent(nodes):
    p = subprocess.run([DIFF_DB, "-o", "json"] + [str(m) for m in nodes], capture_output=True, text=True)
    doc = json.loads(p.stdout) if p.stdout.strip() else {}
    return p.returncode, divergent(doc), doc


def ids(path):
    return {f"{m['ID']:016x}" for m in json.loads(path.read_text())}


zb = FX / "detect-zombie"
rc, got, doc = cli_divergent(members(zb))
# etcdctl snapshot restore copied cluster A's bucket members into every
# member of B: A's ids (its member list) that B's member list lacks
zombies = ids(zb / "truth" / "cluster-a-members.json") - ids(zb / "truth" / "cluster-b-members.json")
want = {("zombie_member", m.name) for m in members(zb)}
check(got == want and rc == 1, f"detect-zombie: diff-db names {sorted(got)} (exit {rc}), want {sorted(want)}")
for v in doc.get("verdicts", []):
    if v["kind"] == "zombie_member":
        check(all(z in v["headline"] for z in zombies), f"detect-zombie: {v['headline']} lacks one of {zombies}")
learner = json.loads((FX / "detect-learner" / "truth" / "learner.json").read_text())
for ver, affected in (("3.5.2", True), ("3.5.35", False)):   # 19557: 3.5.1-3.5.19
    nodes = members(FX / "detect-learner" / ver)
    rc, got, doc = cli_divergent(nodes)
    want = {("promotion_lost", m.name) for m in nodes} if affected else set()
    check(got == want and rc == (1 if affected else 0),
          f"detect-learner {ver}: diff-db names {sorted(got)} (exit {rc}), want {sorted(want)}")
    for v in doc.get("verdicts", []):
        if v["kind"] == "promotion_lost":
            check(learner[ver]["promoted"] in v["headline"], f"detect-learner {ver}: {v['headline']}")
tr = json.loads((FX / "detect-txn-range" / "truth" / "txn-range.json").read_text())
rc, got, doc = cli_divergent(members(FX / "detect-txn-range"))
want = {("txn_compacted_range", m) for m, kvs in tr["get_b_serializable"].items() if not kvs}
check(got == want and rc == 1, f"detect-txn-range: diff-db names {sorted(got)} (exit {rc}), want {sorted(want)}")
for name in ("detect-lease-auth", "detect-compaction", "detect-alarm"):
    # etcd's answers: the lease stays on every member; the compaction and
    # the alarm leave the key histories equal (README of each)
    rc, got, doc = cli_divergent([m for m in members(FX / name) if m.name.startswith("node")])
    check(got == set() and rc == 0, f"{name}: diff-db names {sorted(got)} (exit {rc}), want nothing divergent")

for f in failures:
    print("FAIL:", f)
print(f"{len(sets)} fixture sets, {checks} checks; {len(failures)} failures")
sys.exit(1 if failures else 0)
