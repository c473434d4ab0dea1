#!/usr/bin/env python3
"""diff-db on evidence as SREs bring it (issue 14 §2, §3 first bullet, §4
second bullet, §5 first two bullets), on the real-etcd fixtures, checked
against what etcd said when they were made (truth/*.json).

- evidence/copies: `cp -a` of each running 3.4.23 member under write load,
  two seconds apart (truth/copies.json: each member's endpoint status just
  before its copy). Only lag: exit 0, one lag verdict per member behind,
  its gap within what the statuses bound (a copy holds at least what its
  member had applied at the status before it, and at most what the cluster
  had at the next status).
- stale-member: node3 stopped, 30 writes later (truth/node3-last-status.json
  and final/node1.status.json): exit 0, the exact gap.
- evidence + healthy: two real clusters: refused (exit 2), inputs grouped
  under the cluster ids etcd reported.
- the same files twice: refused; two copies of node3 (copies/node3 and
  leftovers/node3, taken minutes apart): named as one member, compared.
- the snapshot file node1.snapshot.db as a member: the table's columns line
  up, no line ends in a space.
- member ids (all three of evidence's are >= 2^63): 16 hex digits, the
  numbers `member list` gave.
- Kubernetes objects (issue 14 §4): incident-authskew's divergent
  Deployments, whose values ({"kind": ..., "spec": ...}) have no ObjectMeta,
  named by their keys (/registry/<resource>/<namespace>/<name>), grouped
  under their namespace; expected from each member's `etcdctl get` in
  truth/final. evidence's copies: the /registry/ keys every copy holds
  (`dump-db -o json keys`) are the same, so no object is listed.
- --kind/--namespace: they hide divergent keys (counted), never change the
  verdicts or the exit status.

usage: lagid.py DIFF_DB FIXTURES_DIR DUMP_DB
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
    return cond


def run(diff_db, *args):
    return subprocess.run([diff_db, *map(str, args)], capture_output=True, text=True, timeout=120)


def run_json(diff_db, *args):
    p = run(diff_db, "-o", "json", *args)
    try:
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None, p.stderr
    except ValueError:
        return p.returncode, None, p.stderr


def hex16(n):
    return "%016x" % n


def node(d, name):
    return next((n for n in (d or {}).get("nodes", []) if n["name"] == name), None)


def lag_copies(diff_db, ev):
    copies = json.loads((ev / "truth" / "copies.json").read_text())
    nodes = [ev / "copies" / f"node{i}" for i in (1, 2, 3)]
    rc, d, err = run_json(diff_db, *nodes)
    check(rc == 0, f"copies: exit {rc}, want 0 (only lag); {err.strip()[:300]}")
    if not check(d is not None, "copies: no JSON"):
        return
    check(d.get("lag_only") is True and d.get("divergent") is False,
          f"copies: lag_only {d.get('lag_only')}, divergent {d.get('divergent')}")
    check(d.get("verdicts") and all(v["kind"] == "lag" and not v["divergence"] for v in d["verdicts"]),
          f"copies: verdicts {[(v['kind'], v['divergence']) for v in d.get('verdicts', [])]}")
    ref = d["history"]["reference"]
    check(ref == "node3", f"copies: reference {ref}, want node3 (copied last)")
    order = ["node1", "node2", "node3"]
    r = node(d, ref)
    lag = {v["member"]: v for v in d.get("verdicts", []) if v["kind"] == "lag"}
    for k, label in enumerate(order):
        n = node(d, label)
        st = copies[label]
        # the copy holds at least what the member had applied before it...
        check(n["revision"] >= st["header"]["revision"] and n["consistent_index"] >= st["raftAppliedIndex"] - 10,
              f"copies: {label} revision {n['revision']} below its status before the copy "
              f"({st['header']['revision']})")
        # ...and at most what the cluster had at the next member's status
        if k + 1 < len(order):
            nxt = copies[order[k + 1]]
            check(n["revision"] <= nxt["header"]["revision"],
                  f"copies: {label} revision {n['revision']} above the cluster's at the next status "
                  f"({nxt['header']['revision']})")
        check(n["member_id"] == hex16(st["header"]["member_id"]),
              f"copies: {label} member_id {n['member_id']}, etcd: {hex16(st['header']['member_id'])}")
        if label == ref:
            continue
        check(label in lag, f"copies: no lag verdict for {label}")
        check(n.get("lag_revisions") == r["revision"] - n["revision"] and
              n.get("lag_entries") == r["consistent_index"] - n["consistent_index"],
              f"copies: {label} lag {n.get('lag_entries')}/{n.get('lag_revisions')}")
        want = f"lacks revisions {n['revision'] + 1}..{r['revision']}"
        check(any(want in e["text"] for e in lag.get(label, {}).get("evidence", [])),
              f"copies: {label}'s verdict says '{want}'")
    p = run(diff_db, *nodes)
    check(p.returncode == 0, f"copies (text): exit {p.returncode}")
    for label in ("node1", "node2"):
        n = node(d, label)
        ge, gr = d["nodes"][2]["consistent_index"] - n["consistent_index"], d["nodes"][2]["revision"] - n["revision"]
        check(f"{label} is {ge} entries and {gr} revisions behind node3" in p.stdout,
              f"copies (text): {label}'s gap")
    check("divergent" not in p.stdout, "copies (text): says 'divergent' for lag only")
    check("keys not yet applied on every member" in p.stdout, "copies (text): header 'keys not yet applied'")


def lag_copies_35(diff_db, fx):
    """cause-lag-copies (fixtures branch): etcd 3.5.35, cp -a under load; each
    copy's db revision as etcdutl snapshot status read it."""
    t = json.loads((fx / "truth.json").read_text())
    m = t["members"]
    rc, d, err = run_json(diff_db, *[fx / m[k]["dir"] for k in ("node1", "node2", "node3")])
    check(rc == 0, f"lag-copies 3.5: exit {rc}, want 0; {err.strip()[:200]}")
    lag = {v["member"]: v for v in (d or {}).get("verdicts", []) if v["kind"] == "lag"}
    check(set(lag) == {"node1", "node2"} and len(lag) == len((d or {}).get("verdicts", [])),
          f"lag-copies 3.5: verdicts {[(v['kind'], v['member']) for v in (d or {}).get('verdicts', [])]}")
    for k in ("node1", "node2"):
        n = node(d, k)
        want = m["node3"]["etcd"]["revision"] - m[k]["etcd"]["revision"]
        check(n and n.get("lag_revisions") == want, f"lag-copies 3.5: {k} {n and n.get('lag_revisions')} "
              f"revisions behind, etcdutl: {want}")
        check(n and n["member_id"] == m[k]["etcd"]["member_id"], f"lag-copies 3.5: {k} id {n and n['member_id']}")
    cl = (d or {}).get("identity", {}).get("clusters", [])
    check(len(cl) == 1 and cl[0]["cluster_id"] == m["node1"]["etcd"]["cluster_id"], f"lag-copies 3.5: clusters {cl}")


def lag_beside_divergence(diff_db, fx):
    """cause-lost-writes (3.5.2, etcd 13766): node3 lost a write at restart;
    node3-killed is its dir right after the kill, behind and already
    without the write. Exit 1, lost writes on both, lag on neither."""
    rc, d, err = run_json(diff_db, *[fx / n for n in ("node1", "node2", "node3", "node3-killed")])
    vs = [(v["kind"], v["member"], v["divergence"]) for v in (d or {}).get("verdicts", [])]
    check(rc == 1, f"lost-writes: exit {rc}, want 1: {err.strip()[:200]}")
    # node3-killed is behind, but its own WAL check (analysis/verify.c) finds
    # entry 3501 covered by its consistent_index without its write: it lost
    # it already, so neither copy is told that catching up fixes it
    check(("lost_writes", "node3", True) in vs and ("lost_writes", "node3-killed", True) in vs
          and not any(k == "lag" and m in ("node3", "node3-killed") for k, m, _ in vs),
          f"lost-writes: verdicts {vs}")


def two_clusters_fixture(diff_db, fx):
    """cause-two-clusters (fixtures branch): members of two real clusters
    mixed; the grouping must be etcd's (truth.json: each member's cluster id)."""
    t = json.loads((fx / "truth.json").read_text())
    want = {}
    for name, m in t["members"].items():
        want.setdefault(m["etcd"]["cluster_id"], set()).add(m["dir"])
    rc, d, err = run_json(diff_db, *[fx / m["dir"] for m in t["members"].values()])
    got = {c["cluster_id"]: set(c["inputs"]) for c in (d or {}).get("identity", {}).get("clusters", [])}
    check(rc == 2 and got == want, f"two-clusters fixture: exit {rc}, grouping {got}, etcd's {want}")
    p = run(diff_db, *[fx / m["dir"] for m in t["members"].values()])
    for cid, dirs in want.items():
        check(f"cluster {cid}: " in p.stderr, f"two-clusters fixture: text names cluster {cid}")
    check(not p.stdout, "two-clusters fixture: nothing compared")


def stale(diff_db, st):
    rc, d, err = run_json(diff_db, *[st / f"node{i}" for i in (1, 2, 3)])
    check(rc == 0, f"stale: exit {rc}")
    s3 = json.loads((st / "truth" / "node3-last-status.json").read_text())[0]["Status"]
    s1 = json.loads((st / "truth" / "final" / "node1.status.json").read_text())[0]["Status"]
    n3 = node(d, "node3")
    check(n3 and n3.get("lag_entries") == s1["raftAppliedIndex"] - s3["raftAppliedIndex"] and
          n3.get("lag_revisions") == s1["header"]["revision"] - s3["header"]["revision"],
          f"stale: node3 lag {n3 and (n3.get('lag_entries'), n3.get('lag_revisions'))}")


def identity(diff_db, fx):
    ev, he = fx / "evidence", fx / "healthy"
    copies = json.loads((ev / "truth" / "copies.json").read_text())
    ca = hex16(copies["node1"]["header"]["cluster_id"])
    hget = json.loads((he / "truth" / "final" / "node2.get.json").read_text())
    cb = hex16(hget["header"]["cluster_id"])
    p = run(diff_db, ev / "copies" / "node1", ev / "copies" / "node2", he / "node1")
    check(p.returncode == 2, f"two clusters: exit {p.returncode}, want 2")
    check(f"cluster {ca}: node1 ({ev / 'copies' / 'node1'}), node2 ({ev / 'copies' / 'node2'})" in p.stderr,
          f"two clusters: evidence's members grouped under {ca}: {p.stderr[:500]}")
    check(f"cluster {cb}: node1#3 ({he / 'node1'})" in p.stderr,
          f"two clusters: healthy's member under {cb}: {p.stderr[:500]}")
    check(not p.stdout and "unexplained" not in p.stderr and "recovery" not in p.stderr,
          "two clusters: nothing compared, no recovery plan")
    rc, d, _ = run_json(diff_db, ev / "copies" / "node1", he / "node2")
    check(rc == 2 and d and sorted(c["cluster_id"] for c in d.get("identity", {}).get("clusters", [])) == sorted([ca, cb]),
          f"two clusters (JSON): exit {rc}")
    # without WALs (a snapshot file, a bare db): told apart by the members buckets
    p = run(diff_db, ev / "snapshot" / "node1.snapshot.db", he / "node1" / "member" / "snap" / "db")
    check(p.returncode == 2 and p.stderr.count("cluster (no WAL: known by its members)") == 2,
          f"two clusters, no WAL: exit {p.returncode}: {p.stderr[:300]}")
    p = run(diff_db, ev / "snapshot" / "node1.snapshot.db", ev / "copies" / "node2" / "member" / "snap" / "db")
    check(p.returncode != 2, f"one cluster, no WAL: exit {p.returncode}: {p.stderr[:300]}")
    # the same files twice
    p = run(diff_db, ev / "copies" / "node2", ev / "copies" / "node2" / "member" / "snap" / "db")
    check(p.returncode == 2 and "are the same files" in p.stderr, f"same files: exit {p.returncode} {p.stderr[:200]}")
    # two copies of one member
    p = run(diff_db, ev / "copies" / "node3", ev / "leftovers" / "node3")
    mid = hex16(copies["node3"]["header"]["member_id"])
    check(p.returncode != 2 and f"node3 and node3#2 are two copies of the same member (member id {mid})" in p.stdout,
          f"two copies of node3: exit {p.returncode}: {p.stdout[:300]}")
    rc, d, _ = run_json(diff_db, ev / "copies" / "node3", ev / "leftovers" / "node3")
    dups = (d or {}).get("identity", {}).get("duplicates")
    check(dups == [{"inputs": ["node3", "node3#2"], "kind": "same_member"}], f"two copies of node3 (JSON): {dups}")
    # ids >= 2^63, as member list gave them
    members = json.loads((ev / "truth" / "members.json").read_text())["members"]
    check(any(m["ID"] >= 1 << 63 for m in members), "ids: the fixture has no id >= 2^63")
    rc, d, _ = run_json(diff_db, *[ev / "copies" / f"node{i}" for i in (1, 2, 3)])
    cl = (d or {}).get("identity", {}).get("clusters", [])
    got = sorted(m["id"] for m in cl[0]["members"]) if cl else []
    check(got == sorted(hex16(m["ID"]) for m in members), f"ids: {got}")


def table(diff_db, ev):
    p = run(diff_db, ev / "snapshot" / "node1.snapshot.db", ev / "copies" / "node2", ev / "copies" / "node3")
    lines = p.stdout.splitlines()
    t = lines[:4]
    check(len(t) == 4 and t[1].startswith("node1.snapshot.db "), f"table: {t}")
    edges = [[i for i in range(1, len(l)) if l[i] == " " and l[i - 1] != " "][1:] + [len(l)] for l in t]
    check(all(e == edges[0] for e in edges), f"table: columns do not line up: {t}")
    check(not any(l.endswith(" ") for l in lines), "table: a line ends in a space")


def etcd_state(path):
    """key -> (value, version, lease) as etcd answered `get --prefix`."""
    d = json.loads(path.read_text())
    check(d.get("count") == len(d.get("kvs", [])), f"{path}: count {d.get('count')} != {len(d.get('kvs', []))} kvs")
    return {base64.b64decode(kv["key"]): (base64.b64decode(kv.get("value", "")), kv.get("version"), kv.get("lease", 0))
            for kv in d.get("kvs", [])}


def divergent(states):
    """The keys whose latest state differs between members (present on some,
    or another value, version or lease), sorted."""
    keys = set().union(*states.values())
    return sorted(k for k in keys if len({states[m].get(k) for m in states}) > 1)


def expect_objects(states, keys):
    """What the Kubernetes view must list for these divergent keys, by the
    rule of man/diff-db.1: the values' own kind (TypeMeta), and, since these
    values carry no ObjectMeta, namespace and name from the key's
    /registry/<resource>/<namespace>/<name>."""
    out = []
    for k in keys:
        parts = k.decode().split("/")
        if parts[:2] != ["", "registry"]:
            continue
        if not check(len(parts) == 5, f"k8s: {k!r} is not /registry/<resource>/<namespace>/<name>"):
            continue
        on = [m for m in states if k in states[m]]
        value = json.loads(states[on[0]][k][0])
        check("metadata" not in value, f"k8s: {k!r}'s value has metadata; this case is about values without")
        out.append({"key": k.decode(), "kind": value["kind"], "resource": parts[2], "namespace": parts[3],
                    "name": parts[4], "present_on": on, "absent_on": [m for m in states if k not in states[m]]})
    return out


def k8s_authskew(diff_db, fx):
    members = ["node1", "node2", "node3"]
    states = {m: etcd_state(fx / "truth" / "final" / f"{m}.get.json") for m in members}
    keys = divergent(states)
    want = expect_objects(states, keys)
    check(len(want) == 2, f"k8s: the fixture has {len(want)} divergent /registry/ keys, this test expects 2")
    nodes = [fx / m for m in members]
    p = run(diff_db, *nodes)
    check(p.returncode == 1, f"k8s: exit {p.returncode}, want 1")
    lines = p.stdout.splitlines()
    try:
        at = lines.index(f"== Kubernetes objects: {len(want)} divergent, by kind and namespace")
    except ValueError:
        check(False, f"k8s: no header '== Kubernetes objects: {len(want)} divergent, by kind and namespace'")
        return
    groups = {}
    for w in want:
        groups.setdefault((w["kind"], w["namespace"]), []).append(w)
    expect = []
    for (kind, ns), objs in sorted(groups.items()):
        expect.append(f"  {kind} in namespace {ns}: {len(objs)} object{'s' if len(objs) != 1 else ''}")
        for w in objs:
            expect.append(f"    {w['kind']} {w['namespace']}/{w['name']} present on {', '.join(w['present_on'])}; "
                          f"absent on {', '.join(w['absent_on'])}")
    expect.append(f"  names from the keys (/registry/[GROUP/]RESOURCE/[NAMESPACE/]NAME) for {len(want)} objects "
                  "whose values give none")
    got = lines[at + 1:at + 1 + len(expect)]
    check(got == expect, f"k8s: text section\n  got  {got}\n  want {expect}")
    check(at + 1 + len(expect) < len(lines) and lines[at + 1 + len(expect)] == "",
          "k8s: more lines in the section than expected")
    check("cluster-scoped" not in p.stdout, "k8s: namespaced objects grouped as cluster-scoped")
    rc, d, err = run_json(diff_db, *nodes)
    check(rc == 1, f"k8s (JSON): exit {rc}")
    kd = (d or {}).get("kubernetes", {})
    check(kd.get("divergent_objects") == len(want) and "shown_objects" not in kd,
          f"k8s (JSON): divergent_objects {kd.get('divergent_objects')}")
    jg = [(g["kind"], g["namespace"], g["count"]) for g in kd.get("groups", [])]
    check(jg == [(k, ns, len(o)) for (k, ns), o in sorted(groups.items())], f"k8s (JSON): groups {jg}")
    objs = [o for g in kd.get("groups", []) for o in g["objects"]]
    for w, o in zip(want, objs):
        exp = {"key": w["key"], "object": f"{w['kind']} {w['namespace']}/{w['name']}", "kind": w["kind"],
               "kind_from": "value", "namespace": w["namespace"], "name": w["name"], "name_from": "key",
               "resource": w["resource"], "api_group": None, "present_on": w["present_on"],
               "absent_on": w["absent_on"], "values_differ": False}
        sub = {k: o.get(k) for k in exp}
        check(sub == exp, f"k8s (JSON): object\n  got  {sub}\n  want {exp}")
    check(len(objs) == len(want), f"k8s (JSON): {len(objs)} objects")
    check((d or {}).get("buckets", {}).get("key", {}).get("divergent") == len(keys),
          f"k8s (JSON): {d and d['buckets']['key']['divergent']} divergent keys, etcd's answers differ in {len(keys)}")
    check("filter" not in (d or {}), "k8s (JSON): a filter without --kind/--namespace")
    filters(diff_db, nodes, d, p, keys, want)


def verdict_section(text):
    return text[text.index("\n== verdict"):] if "\n== verdict" in text else None


def filters(diff_db, nodes, d, p, keys, want):
    """--kind/--namespace hide what does not match; the verdict, the exit
    status and the comparison stay those of every key."""
    n = len(keys)
    deps = [w["key"] for w in want if w["kind"] == "Deployment" and w["namespace"] == "default"]
    cases = [(["--kind", "Deployment"], "--kind Deployment", deps),
             (["--kind", "deployments", "--namespace", "default"], "--kind deployments --namespace default", deps),
             (["--kind", "pods,Job"], "--kind pods,Job", []),
             (["--namespace", "kube-system"], "--namespace kube-system", []),
             (["--namespace", ""], "--namespace ''", [])]
    for args, shown_as, shown in cases:
        q = run(diff_db, *args, *nodes)
        check(q.returncode == p.returncode, f"filter {args}: exit {q.returncode}, unfiltered {p.returncode}")
        line = (f"  filter {shown_as}: {len(shown)} of {n} divergent keys shown, {n - len(shown)} hidden "
                "(the verdict and the exit status cover every key)")
        check(line in q.stdout.splitlines(), f"filter {args}: no line '{line}'")
        check(verdict_section(q.stdout) == verdict_section(p.stdout), f"filter {args}: the verdict changed")
        listed = [l.strip() for l in q.stdout.splitlines() if l.startswith("  /")]
        check(all(any(l.startswith(k) for k in shown) for l in listed) and
              all(any(l == k for l in listed) for k in shown), f"filter {args}: keys listed {listed}, want {shown}")
        check(f"== Kubernetes objects: {len(want)} divergent" in q.stdout and
              f"  filter: {len(shown)} of {len(want)} shown" in q.stdout, f"filter {args}: the objects' filter line")
        rc, e, _ = run_json(diff_db, *args, *nodes)
        check(rc == p.returncode and e is not None, f"filter {args} (JSON): exit {rc}")
        if e is None:
            continue
        for f in ("verdicts", "verdict", "divergent", "lag_only", "history", "nodes", "buckets", "ranking"):
            check(e.get(f) == d.get(f), f"filter {args} (JSON): '{f}' differs from the unfiltered run")
        check([k["key"] for k in e["divergent_keys"]] == shown, f"filter {args} (JSON): divergent_keys")
        fl = e.get("filter", {})
        check(fl.get("shown_keys") == len(shown) and fl.get("hidden_keys") == n - len(shown),
              f"filter {args} (JSON): filter {fl}")
        kd = e.get("kubernetes", {})
        check(kd.get("divergent_objects") == len(want) and kd.get("shown_objects") == len(shown) and
              [o["key"] for g in kd.get("groups", []) for o in g["objects"]] == shown,
              f"filter {args} (JSON): kubernetes {kd.get('divergent_objects')}/{kd.get('shown_objects')}")
    q = run(diff_db, "--kind", "", *nodes)
    check(q.returncode == 2 and not q.stdout, f"--kind '': exit {q.returncode}, want 2")


def k8s_evidence(diff_db, db_tool, ev):
    """evidence's copies differ by lag only in /load/: every copy holds the
    same Kubernetes objects, so none is listed; --kind hides the /load keys
    and the lag verdicts and exit 0 stay."""
    nodes = [ev / "copies" / f"node{i}" for i in (1, 2, 3)]
    regs = []
    for nd in nodes:
        q = subprocess.run([db_tool, "-o", "json", "--prefix", "/registry/", "keys", str(nd)],
                           capture_output=True, text=True, timeout=120)
        regs.append(sorted((k["key"], k.get("value_size"), k["mod_revision"])
                           for k in map(json.loads, q.stdout.splitlines())))
    check(len(regs[0]) == 22 and regs[0] == regs[1] == regs[2],
          f"evidence k8s: the copies' /registry/ keys ({[len(r) for r in regs]}) are not the same 22")
    rc, d, _ = run_json(diff_db, *nodes)
    check(rc == 0 and d and d["kubernetes"] == {"divergent_objects": 0, "groups": []},
          f"evidence k8s (JSON): {d and d.get('kubernetes')}")
    p = run(diff_db, *nodes)
    check("Kubernetes objects" not in p.stdout, "evidence k8s: objects listed though none differ")
    n = (d or {}).get("buckets", {}).get("key", {}).get("divergent")
    q = run(diff_db, "--kind", "Pod", *nodes)
    check(q.returncode == 0 and f"  filter --kind Pod: 0 of {n} divergent keys shown, {n} hidden (the verdict and "
          "the exit status cover every key)" in q.stdout and "/load/" not in q.stdout and
          verdict_section(q.stdout) == verdict_section(p.stdout), f"evidence --kind Pod: exit {q.returncode}")


def members_bucket_ids(diff_db, d):
    """diff-db's members bucket, as etcdctl prints ids: 16 hex digits, ids
    at or above 2^63 (cause-snapshot-restore's 82b362d4c865b5c2) and with a
    leading zero alike, one rendering; the ids are etcd's own (member list)."""
    rc, doc, err = run_json(diff_db, *sorted(p for p in d.glob("node?")))
    if not check(doc is not None, f"{d.name}: diff-db -o json gave no JSON (exit {rc}): {err[:200]}"):
        return
    listed = set()
    for m in sorted(d.glob("answers/*/members.json")):
        listed |= {f"{x['ID']:016x}" for x in json.loads(m.read_text())["members"]}
    rows = doc["buckets"].get("members", [])
    if not check(isinstance(rows, list) and all(isinstance(r, dict) and "key" in r for r in rows),
                 f"{d.name}: members bucket is not a list of {{key, values}} rows: {str(rows)[:200]}"):
        return
    keys = [r["key"] for r in rows]
    check(rows and all(isinstance(k, str) and len(k) == 16 and all(c in "0123456789abcdef" for c in k)
                       for k in keys), f"{d.name}: members bucket keys not 16 hex digits: {keys}")
    check(set(keys) <= listed and any(int(k, 16) >= 1 << 63 for k in keys),
          f"{d.name}: members bucket keys {keys} vs etcd's member list {sorted(listed)}")
    for r in rows:
        for node, v in r["values"].items():
            if v:
                check(json.loads(v).get("id") == r["key"], f"{d.name}: {node}'s record under {r['key']}: {v[:120]}")


def main():
    diff_db, fx, db_tool = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    lag_copies(diff_db, fx / "evidence")
    stale(diff_db, fx / "stale-member")
    # a fixture missing is a failure, not a case skipped
    for name, case in (("cause-two-clusters", two_clusters_fixture), ("cause-lost-writes", lag_beside_divergence),
                       ("cause-lag-copies", lag_copies_35), ("incident-authskew", k8s_authskew),
                       ("cause-snapshot-restore", members_bucket_ids)):
        if check((fx / name).is_dir(), f"{name} fixture missing ({fx / name})"):
            case(diff_db, fx / name)
    identity(diff_db, fx)
    table(diff_db, fx / "evidence")
    if check(Path(db_tool).is_file(), f"dump-db not found at {db_tool}"):
        k8s_evidence(diff_db, db_tool, fx / "evidence")
    for f in failures:
        print("FAIL:", f)
    print(f"lagid: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
