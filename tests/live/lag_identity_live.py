#!/usr/bin/env python3
"""diff-db on evidence as it arrives in a postmortem (issue 14 §2, §3, §4, §5),
made by real etcd clusters on 127.0.0.1 and checked against what etcd said.

A: a 3-member cluster under a Kubernetes-shaped write load (Pods created
   the API server's way, a txn "mod_revision == 0 then put", through the
   gRPC gateway). Each member's data dir is copied with `cp -a`, a second
   or so apart, while the load goes on; the load holds still for the
   instant of each copy (and 300 ms before it, past etcd's 100 ms backend
   commit interval) so that the member's `endpoint status` taken then is
   exactly the state on disk. diff-db on the three copies must exit 0 with
   one lag verdict per member behind the most advanced one, its gap in
   entries (raftAppliedIndex) and revisions as the statuses say; the Pods
   group by kind and namespace, each present exactly on the copies taken
   after its create.
B: the compaction shape: 192 puts (revision 193), node3 stopped, puts to
   390, `etcdctl compact 390 --physical`, puts to 410. node3 lacks
   revisions 194..410 (not 391..410), exit 0.
   Then node3 is removed (`member remove`), wiped and added back (`member
   add`, a new id), started, and caught up: the cluster's own members
   compare clean, and the copy of the old node3 is named as a removed
   member, not as another cluster.
Both: inputs of the two clusters are refused (exit 2) grouped by cluster,
   with the cluster ids etcd reports; the same member given twice (same
   files) is refused; two copies of one member are named as such; a long
   label (`n1.snapshot.db`) keeps the member table aligned, and no line
   ends in a space; every member id is printed as 16 hex digits, the
   number etcd reports.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from livecheck import check, etcd_version_arg, failures, member_logs, report, start_cluster, timings  # noqa: E402
from k8svalues import Api, auger_value, k8s_protobuf, uid  # noqa: E402

BUILD = Path(os.environ["KVF_BUILD"])
DIFF_DB = str(BUILD / "diff-db" / "diff-db")


def diff(*args):
    p = subprocess.run([DIFF_DB, *map(str, args)], capture_output=True, text=True, timeout=300)
    return p


def diff_json(*args):
    p = diff("-o", "json", *args)
    try:
        doc = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        doc = None
    return p.returncode, doc, p.stderr


def hex16(n):
    return "%016x" % n


def copy_member(c, i, dest):
    """cp -a of member i's data dir: the files as they are, etcd running."""
    subprocess.run(["cp", "-a", str(c.data_dir(i)), str(dest)], check=True, timeout=120)


def scenario_lag(c, out):
    """A: copies taken a second apart under load; returns {label: status}."""
    api = Api(c)
    pod = auger_value("pod")
    hold = threading.Event()      # set: the load holds still
    idle = threading.Event()      # set by the load while it holds
    stop = threading.Event()
    created = []                  # (name, revision)
    errors = []

    def load():
        n = 0
        try:
            while not stop.is_set():
                if hold.is_set():
                    idle.set()
                    time.sleep(0.01)
                    continue
                idle.clear()
                name = f"web-{n:04d}"
                m = {"name": name, "namespace": "default", "uid": uid(), "creationTimestamp": 1796000000 + n,
                     "labels": {"app": "web"}}
                rev = api.object(f"/registry/pods/default/{name}", "protobuf",
                                 {"kind": "Pod", "apiVersion": "v1", **m}, k8s_protobuf(pod, m), member=1)
                created.append((name, rev))
                api.put(f"/load/{n % 50:02d}", "x" * (10 + n % 90), member=1)
                n += 1
        except Exception as e:  # noqa: BLE001 -- reported as a failure below
            errors.append(repr(e))
            idle.set()

    t = threading.Thread(target=load)
    t.start()
    statuses = {}
    try:
        time.sleep(1.5)
        for i in (1, 2, 3):
            hold.set()
            idle.wait(30)
            time.sleep(0.3)   # past etcd's backend commit interval (100 ms)
            st = c.status(i)
            copy_member(c, i, out / f"node{i}")
            st_after = c.status(i)
            hold.clear()
            check(st_after["raftAppliedIndex"] == st["raftAppliedIndex"],
                  f"A: node{i} applied entries during its copy ({st['raftAppliedIndex']} -> "
                  f"{st_after['raftAppliedIndex']}): the statuses would not describe the copy")
            statuses[f"node{i}"] = st
            time.sleep(1.2)
    finally:
        stop.set()
        hold.clear()
        t.join(60)
    check(not errors, f"A: the load failed: {errors}")
    return statuses, created


def check_lag(copies, statuses, created):
    rc, d, err = diff_json(*[copies / f"node{i}" for i in (1, 2, 3)])
    check(rc == 0, f"A: copies under load: exit {rc}, want 0 (lag is no divergence); {err.strip()[:300]}")
    if not d:
        return
    ref = max(statuses, key=lambda k: statuses[k]["raftAppliedIndex"])
    check(d["history"]["reference"] == ref, f"A: reference {d['history']['reference']}, want {ref}")
    check(d.get("lag_only") is True and d.get("divergent") is False,
          f"A: lag_only {d.get('lag_only')}, divergent {d.get('divergent')}")
    lag = {v["member"]: v for v in d.get("verdicts", []) if v["kind"] == "lag"}
    others = [v["kind"] for v in d.get("verdicts", []) if v["kind"] != "lag"]
    check(not others, f"A: verdicts other than lag: {others}")
    rs = statuses[ref]
    for label, st in statuses.items():
        node = next(n for n in d["nodes"] if n["name"] == label)
        ge = rs["raftAppliedIndex"] - st["raftAppliedIndex"]
        gr = rs["header"]["revision"] - st["header"]["revision"]
        if label == ref or (ge == 0 and gr == 0):
            check(label not in lag, f"A: {label} is not behind, yet has a lag verdict")
            continue
        check(label in lag and not lag[label]["divergence"], f"A: no lag verdict for {label} ({ge} entries behind)")
        check(node.get("lag_entries") == ge and node.get("lag_revisions") == gr,
              f"A: {label} lags {node.get('lag_entries')} entries / {node.get('lag_revisions')} revisions; endpoint "
              f"status: {ge} / {gr}")
        want = f"{st['header']['revision'] + 1}..{rs['header']['revision']}"
        texts = [e["text"] for e in lag.get(label, {}).get("evidence", [])]
        check(any(want in t for t in texts), f"A: {label}'s lag verdict names revisions {want}: {texts}")
        check(node["member_id"] == hex16(st["header"]["member_id"]),
              f"A: {label} member_id {node['member_id']}, etcd says {hex16(st['header']['member_id'])}")
    # the text says the same, and says "not yet applied", not "divergent"
    p = diff(*[copies / f"node{i}" for i in (1, 2, 3)])
    for label, st in statuses.items():
        ge = rs["raftAppliedIndex"] - st["raftAppliedIndex"]
        gr = rs["header"]["revision"] - st["header"]["revision"]
        if label != ref and ge:
            check(f"{label} is {ge} entries and {gr} revisions behind {ref}" in p.stdout,
                  f"A: text names {label}'s gap ({ge} entries, {gr} revisions)")
    check("divergent key" not in p.stdout and "not yet applied" in p.stdout,
          "A: text header says 'not yet applied', not 'divergent keys'")
    check(not any(l.endswith(" ") for l in p.stdout.splitlines()), "A: a text line ends in a space")
    # Kubernetes objects: each Pod present on exactly the copies taken after its create
    groups = d.get("kubernetes", {}).get("groups", [])
    pods = next((g for g in groups if g["kind"] == "Pod" and g["namespace"] == "default"), None)
    rev = {k: s["header"]["revision"] for k, s in statuses.items()}
    want = {}
    for name, r in created:
        on = sorted(k for k in rev if r <= rev[k])
        if on and len(on) < 3:
            want[name] = on
    check(pods is not None and pods["count"] == len(want),
          f"A: Pod default group: {pods and pods['count']} objects, want {len(want)}")
    got = {o["object"].split("/", 1)[1]: sorted(o["present_on"]) for o in (pods or {}).get("objects", [])}
    bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    check(got == want, f"A: Pods present on (got, want): {[(k, got.get(k), want.get(k)) for k in bad[:6]]}")
    # the text (render_diff_k8s.c): per pattern of presence (which copies
    # hold the Pod), the first 10 in key order, then "... and N more present
    # on the same members"; with --keys, every one. The lines are checked in
    # order, exactly, under the group's header.
    def pod_line(name, on):
        absent = sorted(set(rev) - set(on))
        return f"    Pod default/{name} present on {', '.join(on)}; absent on {', '.join(absent)}"

    patterns = {}
    for name in sorted(want):
        patterns.setdefault(tuple(want[name]), []).append(name)
    order = []                    # patterns in the order the first Pod of each comes
    for name in sorted(want):
        if tuple(want[name]) not in order:
            order.append(tuple(want[name]))
    pk = diff("--keys", *[copies / f"node{i}" for i in (1, 2, 3)])
    for text, every in ((p.stdout, False), (pk.stdout, True)):
        head = f"  Pod in namespace default: {len(want)} object{'s' if len(want) != 1 else ''}"
        lines = text.splitlines()
        if not check(head in lines, f"A: text ({'--keys' if every else 'default'}) has no line '{head}'"):
            continue
        expect = []
        for pat in order:
            names = patterns[pat]
            shown = names if every else names[:10]
            expect += [pod_line(n, list(pat)) for n in shown]
            if len(shown) < len(names):
                expect.append(f"    ... and {len(names) - len(shown)} more present on the same members "
                              "(--keys lists each)")
        at = lines.index(head) + 1
        got = lines[at:at + len(expect)]
        bad = [(g, e) for g, e in zip(got, expect) if g != e][:3]
        check(got == expect, f"A: text ({'--keys' if every else 'default'}): {len(got)} lines under the Pods' "
              f"header, {len(expect)} expected; first differences (got, want): {bad}")
        nxt = lines[at + len(expect)] if at + len(expect) < len(lines) else ""
        check(not nxt.startswith("    "), f"A: text: more Pod lines than expected: '{nxt}'")


def scenario_compaction(c, out):
    """B: node3 at 193, the others compacted at 390 and at 410."""
    api = Api(c)
    rev = 1
    while rev < 193:
        rev = api.put(f"/b/{rev:04d}", f"v{rev}", member=1)
    check(rev == 193, f"B: revision {rev} after the first puts, want 193")
    c.wait_converged()
    time.sleep(0.3)
    st3 = c.status(3)
    c.stop_member(3)
    while rev < 390:
        rev = api.put(f"/b/{rev:04d}", f"w{rev}", member=1)
    c.ctl(1, "compact", "390", "--physical")
    while rev < 410:
        rev = api.put(f"/c/{rev:04d}", f"z{rev}", member=2)
    time.sleep(0.5)
    st = {"node1": c.status(1), "node2": c.status(2), "node3": st3}
    c.stop_member(1)
    c.stop_member(2)
    for i in (1, 2, 3):
        copy_member(c, i, out / f"node{i}")
    return st


def check_compaction(copies, st):
    rc, d, err = diff_json(*[copies / f"node{i}" for i in (1, 2, 3)])
    check(rc == 0, f"B: member behind a compaction: exit {rc}, want 0; {err.strip()[:300]}")
    if not d:
        return
    r3, r1 = st["node3"]["header"]["revision"], st["node1"]["header"]["revision"]
    check((r3, r1) == (193, 410), f"B: revisions node3 {r3}, node1 {r1}: the shape is 193 / 410")
    lag = [v for v in d.get("verdicts", []) if v["kind"] == "lag"]
    check(len(lag) == 1 and lag[0]["member"] == "node3", f"B: lag verdicts {[v['member'] for v in lag]}")
    texts = [e["text"] for v in lag for e in v["evidence"]]
    check(any(f"lacks revisions {r3 + 1}..{r1}" in t for t in texts),
          f"B: node3 lacks revisions {r3 + 1}..{r1}: {texts}")
    check(not any("391.." in t for t in texts), "B: the gap counted from the compaction (391..)")
    n3 = next(n for n in d["nodes"] if n["name"] == "node3")
    ge = st["node1"]["raftAppliedIndex"] - st["node3"]["raftAppliedIndex"]
    check(n3.get("lag_entries") == ge and n3.get("lag_revisions") == r1 - r3,
          f"B: node3 lags {n3.get('lag_entries')} / {n3.get('lag_revisions')}, endpoint status {ge} / {r1 - r3}")
    p = diff(*[copies / f"node{i}" for i in (1, 2, 3)])
    check(f"lacks revisions {r3 + 1}..{r1}" in p.stdout, "B: the text names the gap from node3's own revision")


def retry(f, timeout=40):
    """etcd refuses membership changes ("unhealthy cluster") until a member
    has been connected to every voter for 5 s (etcdserver HealthInterval)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return f()
        except Exception as e:  # noqa: BLE001
            # "member not found": a member add answered by a follower that
            # had not applied the removal just before it yet
            if not any(m in str(e) for m in ("unhealthy cluster", "member not found")) or \
                    time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def readd_member(c, i):
    """member remove, wipe, member add (a new id), start it with the others'
    list (--initial-cluster-state existing); wait until it has caught up."""
    old = c.status(i)["header"]["member_id"]
    via = 1 if i != 1 else 2
    retry(lambda: c.ctl(via, "member", "remove", f"{old:x}"))
    c.stop_member(i)
    m = c.member(i)
    shutil.rmtree(m.data_dir)
    # A member added later gets a random id (sha1 of its URLs, the token
    # and the time): add and remove until one has a leading zero in its 16
    # hex digits (1 in 16), the id etcd writes as a 15-digit bucket key
    for attempt in range(64):
        resp = retry(lambda: c.ctl_json(via, "member", "add", m.name, f"--peer-urls={m.peer_url}"))
        new = int(resp["member"]["ID"])
        if new < 1 << 60 or attempt == 63:
            break
        retry(lambda: c.ctl(via, "member", "remove", f"{new:x}"))
        time.sleep(0.2)
    timings["re-add tries"] = attempt + 1
    names = []
    for x in resp["members"]:
        name = x.get("name") or (m.name if int(x["ID"]) == new else None)
        names += [f"{name}={u}" for u in x.get("peerURLs") or [] if name]
    c._spawn(m, "existing", initial_cluster=",".join(names))
    c.wait_ready([i])
    c.wait_converged()
    return old, new


def check_identity(a, b, sa, sb, a_long):
    # two clusters
    p = diff(a / "node1", a / "node2", b / "node1", b / "node2")
    check(p.returncode == 2, f"two clusters: exit {p.returncode}, want 2")
    ca, cb = hex16(sa["node1"]["header"]["cluster_id"]), hex16(sb["node1"]["header"]["cluster_id"])
    check(f"cluster {ca}: node1 ({a / 'node1'}), node2 ({a / 'node2'})" in p.stderr,
          f"two clusters: A's inputs grouped under cluster {ca}: {p.stderr[:600]}")
    check(f"cluster {cb}: node1#3 ({b / 'node1'}), node2#4 ({b / 'node2'})" in p.stderr,
          f"two clusters: B's inputs grouped under cluster {cb}: {p.stderr[:600]}")
    check(not p.stdout.strip() and "unexplained" not in p.stderr, "two clusters: nothing compared")
    rc, d, _ = diff_json(a / "node1", b / "node3")
    cls = (d or {}).get("identity", {}).get("clusters", [])
    check(rc == 2 and len(cls) == 2 and {c["cluster_id"] for c in cls} == {ca, cb},
          f"two clusters (JSON): exit {rc}, {d and d.get('identity', {}).get('clusters')}")
    for label, st in list(sa.items()) + list(sb.items()):
        ids = [m["id"] for c in (d or {}).get("identity", {}).get("clusters", []) for m in c["members"]]
        check(hex16(st["header"]["member_id"]) in ids,
              f"ids: {label}'s {hex16(st['header']['member_id'])} in {ids}")
    # the same member twice: the same files under two names
    p = diff(a / "node1", a / "node1" / "member" / "snap" / "db")
    check(p.returncode == 2 and "are the same files" in p.stderr,
          f"same files: exit {p.returncode}, {p.stderr.strip()[:200]}")
    # two copies of one member (taken at different times): named, compared
    p = diff(a / "node1", a_long / "node1-later")
    mid = hex16(sa["node1"]["header"]["member_id"])
    check(p.returncode in (0, 1) and f"two copies of the same member (member id {mid})" in p.stdout,
          f"two copies of node1: exit {p.returncode}, {p.stdout[:300]}")
    # a long label: the member table's columns line up, no trailing space
    p = diff(a_long / "n1.snapshot.db", a / "node2", a / "node3")
    lines = p.stdout.splitlines()
    table = lines[:4]
    check(p.returncode in (0, 1) and table and table[1].startswith("n1.snapshot.db "),
          f"long label: exit {p.returncode}, {table}")
    ends = {len(l) for l in table}
    check(len(ends) == 1, f"long label: table rows of different widths {sorted(ends)}: {table}")
    edges = [[i for i in range(1, len(l)) if l[i] == " " and l[i - 1] != " "] for l in table]
    # the label column is left aligned, the others right aligned
    check(all(e[1:] == edges[0][1:] for e in edges[1:]), f"long label: column edges differ: {edges}")
    check(not any(l.endswith(" ") for l in lines), "long label: a line ends in a space")


def check_readd(b, b2, old, new, sb2):
    p = diff(*[b2 / f"node{i}" for i in (1, 2, 3)])
    check(p.returncode == 0, f"re-added: the members after node3 was re-added: exit {p.returncode}: "
          f"{p.stderr.strip()[:300]} {p.stdout[-400:]}")
    rc, d, err = diff_json(b2 / "node1", b2 / "node2", b2 / "node3", f"node3-old={b / 'node3'}")
    check(rc != 2, f"re-added: the old copy of node3 taken for another cluster (exit 2): {err.strip()[:300]}")
    rem = (d or {}).get("identity", {}).get("removed_members", [])
    check(any(r["input"] == "node3-old" and r["member_id"] == hex16(old) for r in rem),
          f"re-added: node3-old named as removed member {hex16(old)}: {rem}")
    lag = [v for v in (d or {}).get("verdicts", []) if v["kind"] == "lag" and v["member"] == "node3-old"]
    check(rc == 0 and lag and "removed from the cluster" in lag[0]["headline"],
          f"re-added: node3-old's lag verdict says it was removed: exit {rc}, {[v['headline'] for v in lag]}; "
          f"divergent: {[(v['kind'], v['member'], v['headline'], [e['text'] for e in v['evidence']]) for v in (d or {}).get('verdicts', []) if v['divergence']][:1]} ids old {hex16(old)} new {hex16(new)}")
    n3 = next((n for n in (d or {}).get("nodes", []) if n["name"] == "node3"), None)
    check(n3 and n3["member_id"] == hex16(new), f"re-added: node3's id {n3 and n3['member_id']}, want {hex16(new)}")
    # the members buckets differ (node3-old lists itself): every id as 16 hex digits
    items = (d or {}).get("buckets", {}).get("members", []) + (d or {}).get("buckets", {}).get("members_removed", [])
    for it in items:
        check(len(it["key"]) == 16, f"re-added: members bucket key {it['key']} is not 16 hex digits")
        for v in it["values"].values():
            if v and v.startswith("{"):
                check(json.loads(v)["id"] == it["key"], f"re-added: member value id {v[:80]} for key {it['key']}")
    check(items, "re-added: the members buckets differ between node3-old and the others")
    if new < 1 << 60:   # drawn in 64 tries but for 1 run in 60
        key = f"{new:x}"
        check(len(key) < 16 and any(it["key"] == "0" * (16 - len(key)) + key for it in items),
              f"re-added: the id {key} (a leading zero) as 16 digits in the members bucket: "
              f"{[it['key'] for it in items]}")
        rc2, d2, _ = diff_json(b2 / "node1", b2 / "node3")
        ids = [m["id"] for cl in (d2 or {}).get("identity", {}).get("clusters", []) for m in cl["members"]]
        check(hex16(new) in ids, f"re-added: identity lists {hex16(new)}: {ids}")
    else:
        print(f"note: no member id below 2^60 drawn in 64 tries (last {new:016x})")


def main():
    t0 = time.monotonic()
    version = etcd_version_arg()
    # the copies: ~900 MB (every WAL segment is preallocated to 64 MB);
    # removed at the end unless KVF_LIVE_KEEP=1 or KVF_LIVE_OUT names a dir
    keep = os.environ.get("KVF_LIVE_KEEP") == "1" or bool(os.environ.get("KVF_LIVE_OUT"))
    out = Path(os.environ.get("KVF_LIVE_OUT") or tempfile.mkdtemp(prefix="kvf-lagid-"))
    shutil.rmtree(out, ignore_errors=True)
    try:
        return run_all(version, out, t0)
    finally:
        if not keep:
            shutil.rmtree(out, ignore_errors=True)


def run_all(version, out, t0):
    for sub in ("a", "a-extra", "b", "b2"):
        (out / sub).mkdir(parents=True)
    a, a_x, b, b2 = out / "a", out / "a-extra", out / "b", out / "b2"
    ca, rc = start_cluster(version, size=3)
    if ca is None:
        return rc
    with ca:
        timings["start A"] = time.monotonic() - t0
        t = time.monotonic()
        sa, created = scenario_lag(ca, a)
        timings["A copies"] = time.monotonic() - t
        ca.snapshot_save(1, a_x / "n1.snapshot.db")
        copy_member(ca, 1, a_x / "node1-later")
        ca.stop_all()
        member_logs(ca, 20)
    t = time.monotonic()
    check_lag(a, sa, created)
    timings["A checks"] = time.monotonic() - t
    cb, rc = start_cluster(version, size=3)
    if cb is None:
        return rc
    with cb:
        t = time.monotonic()
        sb = scenario_compaction(cb, b)
        timings["B"] = time.monotonic() - t
        check_compaction(b, sb)
        cb.restart_all()
        cb.wait_converged()
        t = time.monotonic()
        old, new = readd_member(cb, 3)
        Api(cb).put("/after-readd", "x", member=1)
        cb.wait_converged()
        time.sleep(0.3)
        sb2 = {f"node{i}": cb.status(i) for i in (1, 2, 3)}
        cb.stop_all()
        for i in (1, 2, 3):
            copy_member(cb, i, b2 / f"node{i}")
        timings["re-add"] = time.monotonic() - t
        member_logs(cb, 20)
    check_identity(a, b, sa, sb, a_x)
    check_readd(b, b2, old, new, sb2)
    timings["total"] = time.monotonic() - t0
    return report(f"lag-identity-live (etcd {version}): {len(failures)} failure(s)")


if __name__ == "__main__":
    sys.exit(main())
