#!/usr/bin/env python3
"""Make testdata/fixtures/cause-<name>.tar.gz: real reproductions, on real
etcd clusters (tests/live/etcdcluster.py, 127.0.0.1, private ports, stopped
by PID, data in a temp dir under /var/tmp), of each cause of divergence
diff-db must tell apart (issue 13 "Reproductions"), each with etcd's own
answers beside the data dirs.

    tests/live/make_cause_fixtures.py [--out DIR] CASE...      (or: all)
    tests/live/make_cause_fixtures.py --list

One function per case (case_<name>); see each one's docstring and
testdata/fixtures/README-causes.md for what it did and what etcd said.

Layout of every tarball, under cause-<name>/:
  nodeN[, nodeN-<moment>]  data dirs (member/wal, member/snap), as etcd left
                           them (or, where said, as copied at a moment)
  logs/nodeN.log           each member's etcd log
  answers/<when>/          etcd's answers from the running members:
                           nodeN.status.json (endpoint status -w json),
                           nodeN.hashkv.json ({rev: endpoint hashkv -w json}),
                           nodeN.get.json (get --consistency=s --prefix "" -w json),
                           members.json (member list -w json),
                           nodeN.alarms.txt (alarm list)
  truth.json               what the case is (cause, member, first affected WAL
                           index where known, planted or not) and etcd's
                           numbers per member dir (the schema is in
                           README-causes.md)
"""
import base64
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from etcdcluster import Cluster, ClusterError, CtlError  # noqa: E402

REPO = HERE.parent.parent
OUT = REPO / "testdata" / "fixtures"
SCRIPT = "tests/live/make_cause_fixtures.py"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Gateway:
    """One keep-alive HTTP connection to a member's gRPC gateway (much
    cheaper per write than an etcdctl process: load needs hundreds a
    second)."""

    def __init__(self, c, i, timeout=10):
        self.c, self.i = c, i
        self.conn = http.client.HTTPConnection("127.0.0.1", c.member(i).client_port, timeout=timeout)

    def post(self, path, body):
        try:
            self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        doc = json.loads(data) if data else {}
        if r.status != 200:
            raise ClusterError(f"node{self.i} {path}: HTTP {r.status}: {data[:200]!r}")
        return doc

    def put(self, key, value):
        return self.post("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def txn(self, compare, success, failure=()):
        return self.post("/v3/kv/txn", {"compare": list(compare), "success": list(success),
                                        "failure": list(failure)})

    def close(self):
        self.conn.close()


class Load(threading.Thread):
    """Writes through member `via` until stopped; write(gw, n) does one
    write. Errors while a member is being killed are counted, not fatal."""

    def __init__(self, c, via, write, name="load", pace=0.0):
        super().__init__(daemon=True, name=name)
        self.c, self.via, self.write, self.pace = c, via, write, pace
        self.stop_ = threading.Event()
        self.done = 0
        self.errors = 0
        self.last_error = None

    def run(self):
        gw = Gateway(self.c, self.via)
        n = 0
        while not self.stop_.is_set():
            try:
                self.write(gw, n)
                self.done += 1
                if self.pace:
                    time.sleep(self.pace)
            except (OSError, ValueError, ClusterError, http.client.HTTPException) as e:
                self.errors += 1
                self.last_error = str(e)[:200]
                time.sleep(0.05)
                gw = Gateway(self.c, self.via)
            n += 1
        gw.close()

    def stop(self):
        self.stop_.set()
        self.join(timeout=30)


def put_load(prefix, keys=200, size=40):
    def write(gw, n):
        gw.put(f"{prefix}{n % keys:04d}", f"v{n}-" + "x" * size)
    return write


class Fixture:
    """One case's output tree and truth.json, and etcd's answers."""

    def __init__(self, name, work):
        self.name = name
        self.root = work / f"cause-{name}"
        self.root.mkdir(parents=True)
        (self.root / "answers").mkdir()
        (self.root / "logs").mkdir()
        self.truth = {"case": name, "cause": name, "made_by": f"{SCRIPT} {name}",
                      "planted": False, "members": {}, "affected": [], "events": []}
        self.answers = {}

    def event(self, what, **kw):
        """A step of the reproduction, in order, with etcd's numbers."""
        log(what + (f" {kw}" if kw else ""))
        self.truth["events"].append({"t": round(time.time(), 3), "what": what, **kw})

    def take_answers(self, c, when, revs=(), members=None):
        """etcd's answers from every running member (or `members`), saved
        under answers/<when>/; returns {nodeN: summary}."""
        d = self.root / "answers" / when
        d.mkdir(parents=True, exist_ok=True)
        out = {}
        idx = members or [m.index for m in c.members if m.running]
        voter = next((i for i in idx if not c.member(i).learner), idx[0])
        (d / "members.json").write_text(json.dumps(c.ctl_json(voter, "member", "list"), indent=1))
        # `alarm list` is a raft request (an entry in every WAL): ask it
        # first, then wait for every member to apply it, then the rest
        alarms = {i: c.ctl(i, "alarm", "list").stdout for i in idx}
        if all(c.member(i).running for i in idx) and len(idx) == len([m for m in c.members if m.running]):
            c.wait_converged(timeout=60)
        for i in idx:
            name = c.member(i).name
            st = c.status(i)
            (d / f"{name}.status.json").write_text(json.dumps(st, indent=1))
            hk = {}
            for rev in (0, *revs):
                try:
                    hk[str(rev)] = c.hashkv(i, rev)
                except CtlError as e:
                    hk[str(rev)] = {"error": (e.stderr or e.stdout).strip()[:300]}
            (d / f"{name}.hashkv.json").write_text(json.dumps(hk, indent=1))
            get = c.ctl_json(i, "get", "--prefix", "--consistency=s", "--", "")
            (d / f"{name}.get.json").write_text(json.dumps(get, indent=1))
            (d / f"{name}.alarms.txt").write_text(alarms[i])
            out[name] = summary(st, hk, get, alarms[i], f"answers/{when}")
            keys_at = {}
            for rev in revs:  # the live key count at each revision asked
                try:
                    g = c.ctl_json(i, "get", "--prefix", "--consistency=s", "--keys-only",
                                   f"--rev={rev}", "--", "")
                    keys_at[str(rev)] = int(g.get("count", 0))
                except CtlError as e:
                    keys_at[str(rev)] = {"error": (e.stderr or e.stdout).strip()[:300]}
            out[name]["keys_at"] = keys_at
            (d / f"{name}.keys-at.json").write_text(json.dumps(keys_at, indent=1))
        self.answers[when] = out
        return out

    def member(self, dirname, *, etcd=None, **kw):
        """Record a member dir of the fixture: etcd's summary for it (None
        where etcd could not be asked about exactly this state) and facts."""
        self.truth["members"][dirname] = {"dir": dirname, "etcd": etcd, **kw}

    def affected(self, member, what, **kw):
        self.truth["affected"].append({"member": member, "what": what, **kw})

    def copy_dir(self, src, dirname):
        shutil.copytree(src, self.root / dirname, symlinks=True)

    def copy_logs(self, c):
        for m in c.members:
            if m.log_path.exists():
                shutil.copy(m.log_path, self.root / "logs" / f"{m.name}.log")

    def write(self, out_dir):
        (self.root / "truth.json").write_text(json.dumps(self.truth, indent=1) + "\n")
        out = Path(out_dir) / f"cause-{self.name}.tar.gz"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        pack(self.root, tmp)
        os.replace(tmp, out)
        log(f"wrote {out} ({out.stat().st_size} bytes)")
        return out


def pack(root, out):
    """root as a gzip'd GNU tar with sparse members: etcd's preallocated WAL
    segments (64 MB, mostly zeros) and bbolt's grown files are stored and
    unpacked as holes; the bytes read back are the same, the unpacked
    fixture takes little disk. GNU tar stores as sparse only files with
    holes, and a copy has its zeros written out: `fallocate --dig-holes`
    turns the zero blocks of this work copy (never a live member's dir)
    into holes first; the contents stay byte for byte the same."""
    for dirpath, _, files in os.walk(root):
        for n in files:
            p = Path(dirpath) / n
            if not p.is_symlink() and p.stat().st_size >= 1 << 20:
                subprocess.run(["fallocate", "--dig-holes", str(p)], check=True, timeout=120)
    with open(out, "wb") as fh:
        t = subprocess.Popen(["tar", "-C", str(root.parent), "--sparse",
                              "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", root.name],
                             stdout=subprocess.PIPE)
        g = subprocess.run(["gzip", "-9n"], stdin=t.stdout, stdout=fh, timeout=600)
        t.stdout.close()
        if t.wait(timeout=600) != 0 or g.returncode != 0:
            raise RuntimeError(f"tar/gzip of {root} failed")


def summary(st, hk, get, alarms, source):
    """The numbers the tests compare: revision, key count, HashKV per rev,
    raft indexes, ids (16 hex digits, as etcdctl prints them)."""
    h = st["header"]
    return {
        "source": source,
        "member_id": f"{int(h['member_id']):016x}",
        "cluster_id": f"{int(h['cluster_id']):016x}",
        "revision": int(h["revision"]),
        "raft_index": int(st.get("raftIndex", 0)),
        "raft_applied_index": int(st.get("raftAppliedIndex", 0)),
        "raft_term": int(st.get("raftTerm", 0)),
        "leader": f"{int(st.get('leader', 0)):016x}",
        "is_learner": bool(st.get("isLearner", False)),
        "db_size": int(st.get("dbSize", 0)),
        "keys": int(get.get("count", len(get.get("kvs", [])))),
        "get_revision": int(get["header"]["revision"]),
        "hashkv": {r: ({"hash": int(v["hash"]), "compact_revision": int(v.get("compact_revision", 0)),
                        **({"hash_revision": int(v["hash_revision"])} if "hash_revision" in v else {})}
                       if "hash" in v else v) for r, v in hk.items()},
        "alarms": [l for l in alarms.splitlines() if l.strip()],
    }


def at_rev(summ, rev):
    """etcd's numbers for a copy whose head is `rev`: the running member's
    HashKV at that revision (what the copy would answer at its head)."""
    return {"source": summ["source"] + f" (hashkv at {rev})", "revision": rev,
            "member_id": summ["member_id"], "cluster_id": summ["cluster_id"],
            "hashkv": {"0": summ["hashkv"][str(rev)]},
            **({"keys": summ["keys_at"][str(rev)]} if isinstance(summ["keys_at"].get(str(rev)), int) else {})}


def new_cluster(work, version, **kw):
    kw.setdefault("start_timeout", 120)
    return Cluster(size=kw.pop("size", 3), version=version, base_dir=work, **kw)


def stop_clean(c, f):
    codes = c.stop_all()
    f.event("stopped every member (followers first, leader last)", exit_codes={f"node{i}": r for i, r in codes.items()})
    return codes


def wait_exit_or_ready(c, i, timeout):
    """Start member i (existing) and wait until it serves or exits: ("ready",
    None) or ("exited", code)."""
    m = c.member(i)
    c._spawn(m, "existing")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not m.running:
            code = m.proc.returncode
            m.proc = None
            return "exited", code
        st = c._status_or_none(i, timeout=2)
        if st and st["Status"].get("leader"):
            return "ready", None
        time.sleep(0.3)
    return "timeout", None


FATAL = ('"level":"panic"', '"level":"fatal"', "panic:", " C | ", " F | ")


def log_lines(c, i, *needles, limit=5):
    """The lines of member i's log containing any needle (etcd's own words)."""
    try:
        text = c.member(i).log_path.read_text(errors="replace")
    except OSError:
        return []
    hits = [l for l in text.splitlines() if any(n in l for n in needles)]
    return [l[:600] for l in hits[-limit:]]


def cp_a(src, dst):
    """`cp -a` as an operator runs it (not shutil: the same syscalls and
    order a real copy of a running member would make)."""
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True, timeout=120)


def dump_db_json(*args):
    """Our own dump-db, to record a fact of a copy no etcd can be asked
    about (a killed member's db before restart); None when not built."""
    exe = Path(os.environ.get("KVF_BUILD", REPO / "build")) / "dump-db" / "dump-db"
    if not exe.exists():
        return None
    p = subprocess.run([str(exe), "-o", "json", *map(str, args)], capture_output=True, text=True, timeout=120)
    return json.loads(p.stdout) if p.returncode == 0 else {"exit": p.returncode, "stderr": p.stderr[:300]}


# ---------------------------------------------------------------- cases

def _stale_copy(work, version, name):
    f = Fixture(name, work)
    f.truth["cause"] = "stale-copy"
    c = new_cluster(work, version, snapshot_count=100)
    with c:
        f.truth["etcd_version"] = c.version
        for n in range(30):
            c.put(1 + n % 3, f"/stale/{n:03d}", f"first-{n}")
        c.wait_converged()
        # past the backend's batch interval (100 ms): the db on disk then holds
        # what endpoint status says (lag-copies is the case of a copy without it)
        time.sleep(1.5)
        before = c.status(3)
        copy = work / "node3-copy"
        cp_a(c.data_dir(3), copy)
        after = c.status(3)
        f.event("cp -a of node3's data dir while it runs (no writes during the copy)",
                raft_index_before=before["raftIndex"], raft_index_after=after["raftIndex"],
                applied_before=before["raftAppliedIndex"], revision=before["header"]["revision"])
        copy_index = after["raftAppliedIndex"]
        copy_rev = after["header"]["revision"]
        for n in range(30, 60):
            c.put(1 + n % 2, f"/stale/{n:03d}", f"later-{n}")
        c.delete(1, "/stale/000")
        c.txn(2, ['value("/stale/001") = "first-1"'], ["put /stale/txn yes"], ["put /stale/txn no"])
        for n in range(10):
            c.put(1 + n % 3, f"/stale/{n:03d}", f"rewritten-{n}")
        c.wait_converged()
        ans = f.take_answers(c, "final", revs=(copy_rev,))
        f.event("answers taken from all three members (node3 still current)")
        c.stop_member(3)
        f.event("node3 stopped; its data dir replaced by the older copy")
        shutil.rmtree(c.data_dir(3))
        cp_a(copy, c.data_dir(3))
        # the evidence as handed over: node3 = the old copy, before etcd touched it
        f.copy_dir(c.data_dir(3), "node3")
        outcome, code = wait_exit_or_ready(c, 3, timeout=40)
        f.event(f"node3 restarted on the older copy: {outcome}", exit_code=code,
                log=log_lines(c, 3, *FATAL))
        f.truth["restart_on_copy"] = {"outcome": outcome, "exit_code": code}
        if outcome == "ready":
            c.wait_converged(timeout=60)
            f.take_answers(c, "after-restart", revs=(copy_rev,))
        stop_clean(c, f)
        for i in (1, 2):
            f.copy_dir(c.data_dir(i), f"node{i}")
        f.copy_dir(c.data_dir(3), "node3-after-restart")
        f.copy_logs(c)
        f.member("node1", etcd=ans["node1"])
        f.member("node2", etcd=ans["node2"])
        f.member("node3", etcd=at_rev(ans["node3"], copy_rev), copied_at={
                     "raft_applied_index": copy_index, "revision": copy_rev},
                 note="an older cp -a of node3 (no writes while it was copied); its etcd numbers are "
                      f"node3's hashkv at revision {copy_rev}, asked later of the running node3")
        f.member("node3-after-restart", etcd=f.answers.get("after-restart", {}).get("node3"),
                 note="node3's data dir after etcd was started on the older copy")
        f.affected("node3", "data dir replaced by an older copy while node1/node2 ran on",
                   first_affected_wal_index=copy_index + 1, copy_revision=copy_rev,
                   final_revision=ans["node1"]["revision"])
        f.truth["expected"] = "node3 behind (an older copy), not diverged: every entry it has matches"
    return f


def case_stale_copy(work):
    """etcd 3.5.35: node3's data dir copied (cp -a) while it runs; 30 more
    puts, a delete, a txn and 10 overwrites through node1/node2; node3 stopped
    and its data dir replaced by the copy; etcd started on it (the outcome
    is recorded). node3 = the copy as handed over; node3-after-restart = the
    dir after that start."""
    return _stale_copy(work, "3.5", "stale-copy")


def case_stale_copy_34(work):
    """The same as stale-copy on Debian's etcd 3.4.23."""
    return _stale_copy(work, "3.4", "stale-copy-3.4")


def case_stale_copy_36(work):
    """The same as stale-copy on etcd 3.6.16."""
    return _stale_copy(work, "3.6", "stale-copy-3.6")


def case_stale_copy_37(work):
    """The same as stale-copy on etcd 3.7.3."""
    return _stale_copy(work, "3.7", "stale-copy-3.7")


def etcdutl_status(c, db, work):
    """`etcdutl snapshot status -w json` of a private copy of db (etcdutl
    opens read-write; never the evidence): etcd's own revision for a db
    no running member can be asked about. None for 3.4 (no etcdutl)."""
    if not c.ctl_bins.etcdutl:
        return None
    priv = Path(tempfile.mkdtemp(prefix="utl-", dir=work)) / "db"
    shutil.copy(db, priv)
    p = c.etcdutl("snapshot", "status", priv, "-w", "json", check=False)
    shutil.rmtree(priv.parent, ignore_errors=True)
    if p.returncode != 0:
        return {"error": (p.stderr or p.stdout).strip()[:300]}
    return json.loads(p.stdout)


def utl_etcd(utl, summ_ids):
    """etcd's numbers for a copied db: etcdutl's revision (3.5's totalKey
    counts every bucket's keys, not live keys: not used)."""
    if not utl or "revision" not in utl:
        return None
    return {"source": "etcdutl snapshot status -w json of a private copy of the db",
            "revision": int(utl["revision"]), **summ_ids}


def ids(summ):
    return {"member_id": summ["member_id"], "cluster_id": summ["cluster_id"]}


def case_lag_copies(work):
    """etcd 3.5.35: under a write load through node1 (puts of 200 keys),
    `cp -a` of each member's data dir, node1, node2, node3, two seconds
    apart; then the load stops and the cluster converges. node1..3 = the
    copies: members only behind each other (lag), nothing diverged."""
    f = Fixture("lag-copies", work)
    c = new_cluster(work, "3.5", snapshot_count=1000)
    with c:
        f.truth["etcd_version"] = c.version
        for n in range(20):
            c.put(1 + n % 3, f"/base/{n:02d}", f"b{n}")
        c.wait_converged()
        pre = f.take_answers(c, "before-load")
        load = Load(c, 1, put_load("/load/"))
        load.start()
        time.sleep(1)
        copies = {}
        for i in (1, 2, 3):
            before = c.status(i)
            cp_a(c.data_dir(i), work / f"copy{i}")
            after = c.status(i)
            copies[i] = (before, after)
            f.event(f"cp -a of node{i} under load", applied_before=before["raftAppliedIndex"],
                    applied_after=after["raftAppliedIndex"], revision_before=before["header"]["revision"],
                    revision_after=after["header"]["revision"], puts_so_far=load.done)
            time.sleep(2)
        load.stop()
        f.event("load stopped", puts=load.done, errors=load.errors)
        c.wait_converged()
        ans = f.take_answers(c, "final")
        stop_clean(c, f)
        f.copy_logs(c)
        for i, (before, after) in copies.items():
            name = f"node{i}"
            f.copy_dir(work / f"copy{i}", name)
            utl = etcdutl_status(c, f.root / name / "member" / "snap" / "db", work)
            f.member(name, etcd=utl_etcd(utl, ids(ans[name])), etcdutl_snapshot_status=utl,
                     copied_between={"before": {"raft_applied_index": before["raftAppliedIndex"],
                                                "revision": before["header"]["revision"]},
                                     "after": {"raft_applied_index": after["raftAppliedIndex"],
                                               "revision": after["header"]["revision"]}},
                     note="a cp -a of the running member; no etcd answer is for exactly this state: "
                          "the status before/after the copy bracket it; the db may trail the WAL by a "
                          "backend batch (100 ms)")
        f.truth["final"] = {k: {x: v[x] for x in ("revision", "keys", "raft_applied_index", "hashkv")}
                            for k, v in ans.items()}
        f.truth["before_load"] = {k: {x: v[x] for x in ("revision", "keys", "hashkv")} for k, v in pre.items()}
        f.truth["expected"] = "lag only (consistent): each copy is a prefix of the same history"
        f.truth["cause"] = "lag"
    return f


def case_killed_under_load(work):
    """etcd 3.5.35: node3 SIGKILLed (by PID) five times under a write load
    through node1 (puts and txns), restarted each time; then the load stops,
    the cluster converges and etcd's answers say whether anything diverged.
    node3-killed = node3's data dir right after the last kill (before its
    restart); node1..3 = the final dirs after a clean stop."""
    return _killed(work, "3.5", "killed-under-load")


def case_killed_under_load_34(work):
    """The same as killed-under-load on Debian's etcd 3.4.23."""
    return _killed(work, "3.4", "killed-under-load-3.4")


def case_killed_under_load_36(work):
    """The same as killed-under-load on etcd 3.6.16."""
    return _killed(work, "3.6", "killed-under-load-3.6")


def case_killed_under_load_37(work):
    """The same as killed-under-load on etcd 3.7.3."""
    return _killed(work, "3.7", "killed-under-load-3.7")


def _killed(work, version, name):
    f = Fixture(name, work)
    f.truth["cause"] = "killed-under-load"
    c = new_cluster(work, version, snapshot_count=500)
    with c:
        f.truth["etcd_version"] = c.version

        def write(gw, n):
            if n % 3 == 2:
                k = f"/kill/{n % 100:03d}"
                gw.txn([{"target": "VERSION", "key": b64(k), "result": "GREATER", "version": "0"}],
                       [{"request_put": {"key": b64(k), "value": b64(f"t{n}")}}],
                       [{"request_put": {"key": b64(k), "value": b64(f"new{n}")}}])
            else:
                gw.put(f"/kill/{n % 100:03d}", f"p{n}-" + "z" * 30)
        load = Load(c, 1, write, pace=0.004)  # ~200 writes/s: a small fixture
        load.start()
        kills = 5
        for k in range(1, kills + 1):
            time.sleep(random.uniform(0.8, 2.0))
            st = c.status(3)
            code = c.kill_member(3)
            f.event(f"kill {k}: SIGKILL node3 under load", exit_code=code,
                    applied_before=st["raftAppliedIndex"], revision_before=st["header"]["revision"],
                    puts_so_far=load.done)
            if k == kills:
                cp_a(c.data_dir(3), work / "node3-killed")
            time.sleep(0.5)
            c.restart_member(3, timeout=60)
        load.stop()
        f.event("load stopped", writes=load.done, errors=load.errors)
        c.wait_converged(timeout=60)
        ans = f.take_answers(c, "final")
        hashes = {n: a["hashkv"]["0"]["hash"] for n, a in ans.items()}
        revs = {n: a["revision"] for n, a in ans.items()}
        f.event("etcd's answers after the kills", hashkv=hashes, revisions=revs)
        stop_clean(c, f)
        f.copy_logs(c)
        for i in (1, 2, 3):
            f.copy_dir(c.data_dir(i), f"node{i}")
            f.member(f"node{i}", etcd=ans[f"node{i}"])
        f.copy_dir(work / "node3-killed", "node3-killed")
        utl = etcdutl_status(c, f.root / "node3-killed" / "member" / "snap" / "db", work)
        f.member("node3-killed", etcd=utl_etcd(utl, ids(ans["node3"])), etcdutl_snapshot_status=utl,
                 db=dump_db_json("status", f.root / "node3-killed"),
                 note="node3 right after the last SIGKILL, before its restart (db = its last "
                      "backend commit; the WAL goes further)")
        diverged = len(set(hashes.values())) > 1 or len(set(revs.values())) > 1
        f.truth["diverged"] = diverged
        f.truth["kills"] = kills
        f.truth["expected"] = ("consistent: a fixed etcd replays its WAL after a crash"
                               if not diverged else "diverged (see events)")
        if diverged:
            f.affected("node3", "diverged after SIGKILLs under load")
    return f


def case_lost_writes(work):
    """etcd 3.5.2 (issue 13766): node3 SIGKILLed under a load of txns whose
    compare reads a range of 2000 keys (so each apply spends long with the
    new consistent_index set in memory and its writes not yet in the
    backend batch, the window of the bug), restarted, and compared with
    node1 (revision, HashKV); up to 12 tries until node3 lost a write.
    node3-killed = node3's dir right after the kill that hit."""
    f = Fixture("lost-writes", work)
    c = new_cluster(work, "3.5.2")
    tries = int(os.environ.get("KVF_LOST_WRITES_TRIES", "12"))
    with c:
        f.truth["etcd_version"] = c.version
        gw = Gateway(c, 1)
        for n in range(2000):
            gw.put(f"/bulk/{n:04d}", f"b{n}")
        gw.close()
        c.wait_converged(timeout=60)
        cmp_all = [{"target": "MOD", "key": b64("/bulk/"), "range_end": b64("/bulk0"),
                    "result": "GREATER", "mod_revision": "0"}]

        def write(gw, n):
            k = f"/lw/{n % 300:03d}"
            gw.txn(cmp_all, [{"request_put": {"key": b64(k), "value": b64(f"w{n}")}}])
        hit = None
        for t in range(1, tries + 1):
            loads = [Load(c, 1, write, "l1"), Load(c, 2, write, "l2")]
            for ld in loads:
                ld.start()
            time.sleep(random.uniform(1.0, 2.5))
            st = c.status(3)
            c.kill_member(3)
            for ld in loads:
                ld.stop()
            killed = work / f"killed-{t}"
            cp_a(c.data_dir(3), killed)
            c.restart_member(3, timeout=60)
            sts = c.wait_converged(timeout=60)
            r = {i: s["header"]["revision"] for i, s in sts.items()}
            f.event(f"try {t}: SIGKILL node3 under txn load, restart", applied_before_kill=st["raftAppliedIndex"],
                    writes=sum(ld.done for ld in loads), revisions=r)
            if len(set(r.values())) > 1:
                hit = t
                break
            shutil.rmtree(killed)
        f.truth["tries"] = t
        if hit is None:
            f.event(f"no lost write in {tries} tries")
            raise ClusterError(f"lost-writes: the window was not hit in {tries} tries")
        killed_db = dump_db_json("status", work / f"killed-{hit}")
        ci = killed_db.get("consistent_index") if killed_db else None
        krev = killed_db.get("revision") if killed_db else None
        c.put(1, "/after/lost", "x")
        c.wait_converged()
        revs = [r for r in (krev, krev + 1) if r] if krev else []
        ans = f.take_answers(c, "final", revs=revs)
        stop_clean(c, f)
        f.copy_logs(c)
        for i in (1, 2, 3):
            f.copy_dir(c.data_dir(i), f"node{i}")
            f.member(f"node{i}", etcd=ans[f"node{i}"])
        f.copy_dir(work / f"killed-{hit}", "node3-killed")
        utl = etcdutl_status(c, f.root / "node3-killed" / "member" / "snap" / "db", work)
        f.member("node3-killed", etcd=utl_etcd(utl, ids(ans["node3"])), etcdutl_snapshot_status=utl,
                 db=killed_db, note="node3 right after the SIGKILL that hit, before its restart: its db's "
                 "consistent_index covers an entry whose writes are not in it")
        f.affected("node3", "writes lost below consistent_index after a crash (etcd 13766)",
                   first_affected_wal_index=ci, consistent_index_after_kill=ci,
                   revision_after_kill=krev, revision_shift=ans["node1"]["revision"] - ans["node3"]["revision"],
                   how_known="consistent_index and revision of node3-killed's db (read with this "
                             "project's dump-db status) at the kill that hit; etcd then replayed "
                             "only the entries above it")
        f.truth["expected"] = ("node3 lost writes below its consistent_index: revision shift down from "
                               "that entry on; node1/node2 complete")
    return f


def case_snapshot_restore(work):
    """etcd 3.5.35: `etcdctl snapshot save` from node1 after 20 puts; 20 more
    writes; node3 stopped, its data dir replaced by `etcdctl snapshot
    restore` of that older snapshot (node3's name, peer URL, the cluster's
    --initial-cluster and token: the same member id), and etcd started on it
    while node1/node2 run. node3 = the restored dir before etcd started on
    it; node3-after-start = after; snapshots/node1.db = the snapshot."""
    return _snapshot_restore(work, "3.5", "snapshot-restore")


def case_snapshot_restore_36(work):
    """The same as snapshot-restore on etcd 3.6.16, restored with `etcdutl
    snapshot restore` (etcdctl's was removed in 3.6)."""
    return _snapshot_restore(work, "3.6", "snapshot-restore-3.6")


def case_snapshot_restore_37(work):
    """The same as snapshot-restore-3.6 on etcd 3.7.3."""
    return _snapshot_restore(work, "3.7", "snapshot-restore-3.7")


def restore_tool(c):
    """etcdctl up to 3.5; etcdutl from 3.6 (etcdctl snapshot restore,
    deprecated in 3.5, is gone in 3.6)."""
    major, minor = (int(x) for x in c.version.split(".")[:2])
    return "etcdutl" if (major, minor) >= (3, 6) else "etcdctl"


def _snapshot_restore(work, version, name):
    f = Fixture(name, work)
    f.truth["cause"] = "snapshot-restore"
    c = new_cluster(work, version, snapshot_count=100)
    with c:
        f.truth["etcd_version"] = c.version
        for n in range(20):
            c.put(1 + n % 3, f"/snap/{n:02d}", f"before-{n}")
        (f.root / "snapshots").mkdir()
        snap = f.root / "snapshots" / "node1.db"
        c.snapshot_save(1, snap)
        snap_rev = c.status(1)["header"]["revision"]
        f.event("etcdctl snapshot save from node1", revision=snap_rev, size=snap.stat().st_size)
        for n in range(20):
            c.put(1 + n % 2, f"/snap/{n:02d}", f"after-{n}")
        c.delete(1, "/snap/19")
        c.wait_converged()
        ans = f.take_answers(c, "before-restore", revs=(snap_rev,))
        m3 = c.member(3)
        c.stop_member(3)
        restored = work / "restored"
        tool = restore_tool(c)
        args = ("snapshot", "restore", str(snap), "--name", m3.name, "--data-dir", str(restored),
                "--initial-cluster", c._initial_cluster(), "--initial-cluster-token", c.token,
                "--initial-advertise-peer-urls", m3.peer_url)
        if tool == "etcdutl":
            # offline, on a copy: etcdutl opens the snapshot read-write
            priv = work / "snapshot-copy.db"
            shutil.copy(snap, priv)
            p = c.etcdutl(*args[:2], str(priv), *args[3:], check=False, timeout=60)
        else:
            p = c.ctl(1, *args, check=False, timeout=60)
        f.truth["restored_with"] = tool
        f.event(f"{tool} snapshot restore into a new data dir for node3", exit_code=p.returncode,
                output=(p.stderr + p.stdout).strip().splitlines()[-3:])
        if p.returncode != 0:
            raise ClusterError(f"snapshot restore failed: {p.stderr}")
        shutil.rmtree(m3.data_dir)
        cp_a(restored, m3.data_dir)
        f.copy_dir(m3.data_dir, "node3")
        outcome, code = wait_exit_or_ready(c, 3, timeout=40)
        f.event(f"node3 started on the restored dir: {outcome}", exit_code=code, log=log_lines(c, 3, *FATAL))
        f.truth["start_on_restored"] = {"outcome": outcome, "exit_code": code}
        if outcome == "ready":
            c.wait_converged(timeout=60)
            f.take_answers(c, "after-start", revs=(snap_rev,))
        stop_clean(c, f)
        f.copy_logs(c)
        for i in (1, 2):
            f.copy_dir(c.data_dir(i), f"node{i}")
            f.member(f"node{i}", etcd=ans[f"node{i}"])
        f.copy_dir(c.data_dir(3), "node3-after-start")
        f.member("node3", etcd=at_rev(ans["node1"], snap_rev) | {"member_id": ans["node3"]["member_id"]},
                 note=f"restored from node1's snapshot at revision {snap_rev}; its etcd numbers are "
                      f"node1's hashkv/keys at {snap_rev}")
        f.member("node3-after-start", etcd=f.answers.get("after-start", {}).get("node3"))
        f.affected("node3", f"restored from an older `{tool} snapshot restore` into a running cluster",
                   snapshot_revision=snap_rev, cluster_revision=ans["node1"]["revision"],
                   member_id=ans["node3"]["member_id"])
        f.truth["expected"] = ("node3 is a restored snapshot: a new raft log (restore's own entries), "
                               "its keys those of revision %d; behind, not diverged" % snap_rev)
    return f


def bolt_leaves(path, bucket=b"key"):
    """Leaf page ids of a bbolt bucket, walked from the meta with the higher
    txid (bbolt's layout: 16-byte page header; meta; branch/leaf elements),
    to choose a real page to damage."""
    data = Path(path).read_bytes()
    import struct
    psz = struct.unpack_from("<I", data, 16 + 8)[0]
    metas = []
    for pg in (0, 1):
        o = pg * psz + 16
        magic, ver, ps, fl, root, seq, free, pgid, txid = struct.unpack_from("<IIIIQQQQQ", data, o)
        metas.append((txid, root))
    root = max(metas)[1]

    def elems(pg):
        o = pg * psz
        _, flags, count, _ = struct.unpack_from("<QHHI", data, o)
        return flags, count, o + 16

    def walk(pg, leaves):
        flags, count, eo = elems(pg)
        if flags & 0x01:  # branch: pos u32, ksize u32, pgid u64
            for k in range(count):
                pos, ksz, child = struct.unpack_from("<IIQ", data, eo + 16 * k)
                walk(child, leaves)
        elif flags & 0x02:
            leaves.append(pg)
        return leaves

    for leaf in walk(root, []):
        flags, count, eo = elems(leaf)
        for k in range(count):
            fl, pos, ksz, vsz = struct.unpack_from("<IIII", data, eo + 16 * k)
            key = data[eo + 16 * k + pos: eo + 16 * k + pos + ksz]
            if fl & 0x01 and key == bucket:
                v = eo + 16 * k + pos + ksz
                broot = struct.unpack_from("<Q", data, v)[0]
                return psz, walk(broot, []) if broot else []
    return psz, []


def case_damaged_page(work):
    """etcd 3.5.35: 80 puts of 200-byte values (the key bucket spans several
    leaf pages); stopped cleanly; then in node2's db one leaf page of the key
    bucket (the middle one, found by walking the bucket from the newest meta)
    damaged: 32 bytes at its element headers (offset 16..48 in the page)
    XORed with 0xff, the same in the fixture and in the live dir. etcd is
    then started on all three and what node2 does is recorded."""
    f = Fixture("damaged-page", work)
    c = new_cluster(work, "3.5", snapshot_count=200)
    with c:
        f.truth["etcd_version"] = c.version
        gw = Gateway(c, 1)
        for n in range(80):
            gw.put(f"/page/{n:03d}", f"{n:03d}-" + "v" * 200)
        gw.close()
        c.wait_converged()
        time.sleep(1)
        ans = f.take_answers(c, "before-damage")
        stop_clean(c, f)
        for i in (1, 2, 3):
            f.copy_dir(c.data_dir(i), f"node{i}")
        db = f.root / "node2" / "member" / "snap" / "db"
        psz, leaves = bolt_leaves(db)
        if len(leaves) < 2:
            raise ClusterError(f"key bucket has {len(leaves)} leaf pages; need more data")
        page = leaves[len(leaves) // 2]
        off = page * psz + 16
        with open(db, "r+b") as fh:
            fh.seek(off)
            old = fh.read(32)
            new = bytes(b ^ 0xFF for b in old)
            fh.seek(off)
            fh.write(new)
        with open(c.data_dir(2) / "member" / "snap" / "db", "r+b") as fh:
            fh.seek(off)
            fh.write(new)
        f.truth["planted"] = True
        f.truth["damage"] = {"member": "node2", "file": "node2/member/snap/db", "page": page,
                             "page_size": psz, "offset": off, "length": 32, "xor": "0xff",
                             "before_hex": old.hex(), "after_hex": new.hex(),
                             "key_bucket_leaves": leaves}
        f.event("node2's db: 32 bytes of a key-bucket leaf page XORed (planted: bit rot cannot be "
                "triggered through etcd)", page=page, offset=off)
        for i in (1, 3):
            c._spawn(c.member(i), "existing")
        outcome, code = wait_exit_or_ready(c, 2, timeout=40)
        f.event(f"etcd started on the damaged node2: {outcome}", exit_code=code, log=log_lines(c, 2, *FATAL))
        f.truth["start_on_damaged"] = {"outcome": outcome, "exit_code": code}
        if outcome == "ready":
            try:
                f.take_answers(c, "after-damage")
            except (ClusterError, CtlError) as e:
                f.event("answers after the damage failed", error=str(e)[:300])
        c.stop_all()
        f.copy_logs(c)
        for i in (1, 3):
            f.member(f"node{i}", etcd=ans[f"node{i}"])
        f.member("node2", etcd=ans["node2"], damaged=True,
                 expect={"dump_db_status": [0, 1], "dump_db_check": 1, "dump_wal_verify": 0},
                 note="etcd's numbers are from before the damage")
        f.affected("node2", "one leaf page of the key bucket damaged (planted)", page=page, offset=off)
        f.truth["expected"] = "page corruption on node2 (restore it from a peer); node1/node3 agree"
    return f


def case_txn_compacted_range(work):
    """etcd 3.5.35 (etcd 18667): puts, a compaction at C, then through
    node2's gateway a txn with no compare whose success is a Range of /t/a at
    revision C-1 (below the compaction) and a put of /t/txn. node2, which
    serves the request, keeps the Range, fails it (compacted) and applies
    nothing; node1/node3 strip the Range (removeNeedlessRangeReqs) and apply
    the put. Then 10 more puts."""
    return _txn_compacted(work, "3.5", "txn-compacted-range")


def case_txn_compacted_range_34(work):
    """The same as txn-compacted-range on Debian's etcd 3.4.23."""
    return _txn_compacted(work, "3.4", "txn-compacted-range-3.4")


def case_txn_compacted_range_36(work):
    """The same as txn-compacted-range on etcd 3.6.16 (fixed only in 3.7.0)."""
    return _txn_compacted(work, "3.6", "txn-compacted-range-3.6")


def case_txn_compacted_range_37(work):
    """The same as txn-compacted-range on etcd 3.7.3, where 18667 is fixed
    (3.7.0): the contrast case."""
    return _txn_compacted(work, "3.7", "txn-compacted-range-3.7")


def _txn_compacted(work, version, name):
    f = Fixture(name, work)
    f.truth["cause"] = "txn-compacted-range"
    c = new_cluster(work, version, snapshot_count=200)
    with c:
        f.truth["etcd_version"] = c.version
        for n in range(10):
            c.put(1 + n % 3, "/t/a", f"a{n}")
            c.put(1 + n % 3, f"/t/k{n}", f"k{n}")
        comp = int(c.put(1, "/t/a", "last")["header"]["revision"])
        c.ctl(1, "compaction", str(comp))
        st0 = c.wait_converged()
        before_index = st0[1]["raftIndex"]
        gw = Gateway(c, 2)
        body = {"success": [{"request_range": {"key": b64("/t/a"), "revision": str(comp - 1)}},
                            {"request_put": {"key": b64("/t/txn"), "value": b64("applied?")}}]}
        try:
            resp = gw.post("/v3/kv/txn", body)
        except ClusterError as e:
            resp = {"error": str(e)[:400]}
        gw.close()
        st1 = c.wait_converged()
        revs = {f"node{i}": s["header"]["revision"] for i, s in st1.items()}
        f.event("txn via node2: range /t/a at revision below the compaction + put /t/txn",
                compaction=comp, range_revision=comp - 1, response=resp,
                raft_index_before=before_index, raft_index_after=st1[1]["raftIndex"], revisions=revs)
        txn_index = st1[1]["raftIndex"] if st1[1]["raftIndex"] == before_index + 1 else None
        for n in range(10):
            c.put(1 + n % 2, f"/t/after{n}", f"x{n}")
        c.wait_converged()
        ans = f.take_answers(c, "final", revs=(comp + 1,))
        stop_clean(c, f)
        f.copy_logs(c)
        for i in (1, 2, 3):
            f.copy_dir(c.data_dir(i), f"node{i}")
            f.member(f"node{i}", etcd=ans[f"node{i}"])
        f.truth["compaction_revision"] = comp
        f.truth["txn_response_via_node2"] = resp
        shift = ans["node1"]["revision"] - ans["node2"]["revision"]
        f.truth["txn_index"] = txn_index
        f.truth["diverged"] = shift != 0
        if shift:
            f.affected("node2", "the serving member failed a txn whose Range revision was compacted; the "
                       "others applied its put (etcd 18667)", first_affected_wal_index=txn_index,
                       revision_shift=shift)
            f.truth["expected"] = ("node2 lacks the txn's put (shift down by 1 from that entry); node1/node3 "
                                   "have it; the WAL txn has request_range revision %d < compaction %d"
                                   % (comp - 1, comp))
        else:
            f.truth["expected"] = ("consistent: every member treated the txn alike (%s); the WAL txn at %s "
                                   "has request_range revision %d < compaction %d"
                                   % (json.dumps(resp)[:120], txn_index, comp - 1, comp))
    return f


def wait_for_name(d, prefix, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for e in os.scandir(d):
                if e.name.startswith(prefix):
                    return Path(e.path)
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    return None


def case_defrag_killed(work):
    """etcd 3.5.35: 1200 values of 8 KiB, every other one deleted, then
    `etcdctl defrag` on node2 and node2 SIGKILLed (by PID) once
    member/snap/db.tmp* has grown past 64 KiB (polled every 0.5 ms): an
    online defragmentation interrupted midway. node2 = its dir right after
    the kill; then node2 is restarted and the outcome recorded; node1/node3
    final."""
    return _defrag(work, "3.5", "defrag-killed", load=False)


def case_defrag_killed_352(work):
    """etcd 3.5.2 (etcd 14733: defrag's commit did not save
    consistent_index, 3.5.0-3.5.5): as defrag-killed, with puts going in
    through node1 while node2 defragments; after node2's restart and
    convergence, etcd's answers say whether node2 applied entries twice
    (revision above its peers). node2 = the killed dir, node2-final = after."""
    return _defrag(work, "3.5.2", "defrag-killed-3.5.2", load=True)


def case_defrag_killed_36(work):
    """The same as defrag-killed on etcd 3.6.16."""
    return _defrag(work, "3.6", "defrag-killed-3.6", load=False)


def case_defrag_killed_37(work):
    """The same as defrag-killed on etcd 3.7.3 (whose start builds the raft
    snapshot from the WAL and never lists member/snap, so the db.tmp* the
    kill left stays after the restart: the event says what was left)."""
    return _defrag(work, "3.7", "defrag-killed-3.7", load=False)


def double_applied(killed_db, final):
    """What the kill left for 14733: the revision shift up after restart and,
    when there is one, the first entry applied twice: the first above the
    killed db's consistent_index (the defrag's commit had persisted the
    writes of the entries after it, without consistent_index; the load is
    one put per entry, so those are the next `shift` entries)."""
    shift = final["node2"]["revision"] - final["node1"]["revision"]
    out = {"revision_shift_up": shift}
    ci = killed_db.get("consistent_index") if killed_db else None
    if shift > 0 and ci:
        out["first_affected_wal_index"] = ci + 1
        out["how_known"] = ("node2's killed db: consistent_index %d (this project's dump-db status) with the "
                            "writes of the entries after it already in; etcd replayed them" % ci)
    return out


def _defrag(work, version, name, load):
    f = Fixture(name, work)
    f.truth["cause"] = "defrag-killed"
    c = new_cluster(work, version, snapshot_count=5000, extra_args=["--quota-backend-bytes", str(64 << 20)])
    with c:
        f.truth["etcd_version"] = c.version
        gw = Gateway(c, 1)
        big = "y" * 8192
        for n in range(1200):
            gw.put(f"/big/{n:04d}", big + str(n))
        for n in range(0, 1200, 2):
            gw.post("/v3/kv/deleterange", {"key": b64(f"/big/{n:04d}")})
        gw.close()
        c.wait_converged()
        time.sleep(1)
        ans = f.take_answers(c, "before-defrag")
        snapdir = c.data_dir(2) / "member" / "snap"
        tmp = None
        ld = None
        for attempt in range(1, 6):
            if load:
                ld = Load(c, 1, put_load("/during/", keys=50, size=20), pace=0.002)
                ld.start()
                time.sleep(0.5)
            d = subprocess.Popen([c.etcdctl, "--endpoints", c.member(2).endpoint, "defrag",
                                  "--command-timeout=60s"], env=c._env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            tmp = wait_for_name(snapdir, "db.tmp", 30)
            # midway: once the copy has written past bbolt's first pages
            deadline = time.monotonic() + 10
            while tmp is not None and time.monotonic() < deadline:
                try:
                    if tmp.stat().st_size > 64 * 1024:
                        break
                except FileNotFoundError:
                    break
                time.sleep(0.0005)
            code = c.kill_member(2)
            out, err = d.communicate(timeout=60)
            left = [n for n in os.listdir(snapdir) if n.startswith("db.tmp")]
            f.event(f"defrag attempt {attempt}: SIGKILL node2 when db.tmp appeared", exit_code=code,
                    seen=tmp.name if tmp else None, left=left, etcdctl=(err or out).decode()[-200:],
                    load_writes=ld.done if ld else None)
            if left:
                tmp = snapdir / left[0]
                break
            tmp = None
            c.restart_member(2, timeout=60)
        if tmp is None:
            raise ClusterError("no db.tmp left by a killed defrag in 5 attempts")
        f.copy_dir(c.data_dir(2), "node2")
        f.truth["db_tmp"] = {"name": tmp.name, "size": tmp.stat().st_size, "attempts": attempt,
                             "db_size": (snapdir / "db").stat().st_size}
        killed_db = dump_db_json("status", f.root / "node2")
        outcome, code = wait_exit_or_ready(c, 2, timeout=60)
        f.event(f"node2 restarted after the killed defrag: {outcome}", exit_code=code,
                left=[n for n in os.listdir(snapdir) if n.startswith("db.tmp")], log=log_lines(c, 2, *FATAL))
        f.truth["restart_after_kill"] = {"outcome": outcome, "exit_code": code}
        if ld:
            ld.stop()
            f.event("load stopped", writes=ld.done, errors=ld.errors)
        final = None
        if outcome == "ready":
            c.wait_converged(timeout=60)
            final = f.take_answers(c, "after-restart")
            revs = {k: v["revision"] for k, v in final.items()}
            hashes = {k: v["hashkv"]["0"]["hash"] for k, v in final.items()}
            f.event("etcd's answers after node2's restart", revisions=revs, hashkv=hashes)
            f.truth["diverged"] = len(set(revs.values())) > 1 or len(set(hashes.values())) > 1
        stop_clean(c, f)
        f.copy_logs(c)
        src = final if load and final else ans
        for i in (1, 3):
            f.copy_dir(c.data_dir(i), f"node{i}")
            f.member(f"node{i}", etcd=src[f"node{i}"])
        if load:
            utl = etcdutl_status(c, f.root / "node2" / "member" / "snap" / "db", work)
            f.member("node2", etcd=utl_etcd(utl, ids(ans["node2"])), etcdutl_snapshot_status=utl, db=killed_db,
                     note="node2 right after the SIGKILL during defrag, under load")
            f.copy_dir(c.data_dir(2), "node2-final")
            f.member("node2-final", etcd=final["node2"] if final else None, note="node2 after its restart")
        else:
            f.member("node2", etcd=ans["node2"], db=killed_db, note="node2 right after the SIGKILL during "
                     "defrag; etcd's numbers are from just before the defrag (no writes since)")
        f.affected("node2", "online defrag killed midway: member/snap/" + tmp.name + " left over",
                   consistent_index_after_kill=killed_db.get("consistent_index") if killed_db else None,
                   revision_after_kill=killed_db.get("revision") if killed_db else None,
                   **(double_applied(killed_db, final) if load and final else {}))
        f.truth["expected"] = ("an interrupted defrag on node2 (db.tmp*); no divergence (3.5.6+)" if not load else
                               "an interrupted defrag on node2 (db.tmp*); on 3.5.0-3.5.5 entries below the "
                               "defrag's commit may be applied twice (14733): see diverged")
    return f


def _learner(work, version, name):
    f = Fixture(name, work)
    f.truth["cause"] = "learner-promotion"
    c = new_cluster(work, version, snapshot_count=200)
    with c:
        f.truth["etcd_version"] = c.version
        for n in range(15):
            c.put(1 + n % 3, f"/l/{n:02d}", f"v{n}")
        i = c.add_learner(1, timeout=120)
        lid = f"{c.member(i).id:016x}"
        f.event(f"learner node{i} added and started", id=lid)
        for n in range(15, 25):
            c.put(1 + n % 3, f"/l/{n:02d}", f"v{n}")
        c.promote(i)
        f.event(f"node{i} promoted")
        for n in range(25, 35):
            c.put(1 + n % 4, f"/l/{n:02d}", f"v{n}")
        c.wait_converged(timeout=60)
        ans = f.take_answers(c, "final")
        stop_clean(c, f)
        f.copy_logs(c)
        for m in c.members:
            f.copy_dir(m.data_dir, m.name)
            f.member(m.name, etcd=ans[m.name], db=dump_db_json("status", f.root / m.name))
        f.truth["learner"] = {"member": f"node{i}", "id": lid}
        f.affected(f"node{i}", "added as a learner and promoted", id=lid)
        f.truth["expected"] = ("consistent; etcd 3.5.1-3.5.19 (#19557) may leave isLearner:true in the "
                               "members bucket while confState counts it a voter")
    return f


def case_learner_promotion(work):
    """etcd 3.5.2 (in the range of etcd 19557: promotion not persisted to the
    members bucket): 3 members, 15 puts, node4 added as a learner, 10 puts,
    promoted (member promote via the leader), 10 puts through all four;
    etcd's answers; the four data dirs after a clean stop."""
    return _learner(work, "3.5.2", "learner-promotion")


def case_learner_promotion_35(work):
    """The same as learner-promotion on etcd 3.5.35 (19557 fixed in 3.5.20)."""
    return _learner(work, "3.5", "learner-promotion-3.5.35")


def case_learner_promotion_36(work):
    """The same as learner-promotion on etcd 3.6.16."""
    return _learner(work, "3.6", "learner-promotion-3.6")


def case_learner_promotion_37(work):
    """The same as learner-promotion on etcd 3.7.3."""
    return _learner(work, "3.7", "learner-promotion-3.7")


def case_two_clusters(work):
    """etcd 3.5.35: two separate 3-member clusters A and B (other tokens,
    the same member names node1..3 and the same keys with other values),
    both stopped cleanly; a-node1-again = a cp -a of a-node1 after the stop
    (the same member given twice)."""
    f = Fixture("two-clusters", work)
    f.truth["cause"] = "identity"
    for tag in ("a", "b"):
        c = new_cluster(work, "3.5", snapshot_count=200)
        with c:
            f.truth["etcd_version"] = c.version
            for n in range(12):
                c.put(1 + n % 3, f"/same/{n:02d}", f"{tag}-{n}")
            c.wait_converged()
            ans = f.take_answers(c, f"cluster-{tag}")
            stop_clean(c, f)
            for m in c.members:
                shutil.copy(m.log_path, f.root / "logs" / f"{tag}-{m.name}.log")
                f.copy_dir(m.data_dir, f"{tag}-{m.name}")
                f.member(f"{tag}-{m.name}", etcd=ans[m.name], cluster=tag)
            f.truth[f"cluster_{tag}"] = {"cluster_id": ans["node1"]["cluster_id"], "token": c.token,
                                         "members": {k: v["member_id"] for k, v in ans.items()}}
    cp_a(f.root / "a-node1", f.root / "a-node1-again")
    f.member("a-node1-again", etcd=f.truth["members"]["a-node1"]["etcd"], cluster="a", copy_of="a-node1")
    f.affected("b-node1", "a member of another cluster (B) among A's")
    f.affected("a-node1-again", "the same member (a-node1) given twice")
    f.truth["expected"] = ("refuse: a-* and b-* are two clusters (cluster ids differ); a-node1-again is "
                           "a-node1 again")
    return f


def case_db_older_than_snap(work):
    """etcd 3.5.35, --snapshot-count 20: 10 puts; after a pause (the backend
    committed) node3's member/snap/db alone copied; 60 more puts, so node3
    writes .snap files past that db; node3 stopped and its db replaced by
    the older copy (WAL and .snap files kept): a db older than the member's
    newest raft snapshot. etcd started on it; the outcome recorded."""
    return _db_older(work, "3.5", "db-older-than-snap")


def case_db_older_than_snap_36(work):
    """The same as db-older-than-snap on etcd 3.6.16."""
    return _db_older(work, "3.6", "db-older-than-snap-3.6")


def case_db_older_than_snap_37(work):
    """The same as db-older-than-snap on etcd 3.7.3."""
    return _db_older(work, "3.7", "db-older-than-snap-3.7")


def _db_older(work, version, name):
    f = Fixture(name, work)
    f.truth["cause"] = "db-older-than-snap"
    c = new_cluster(work, version, snapshot_count=20)
    with c:
        f.truth["etcd_version"] = c.version
        for n in range(10):
            c.put(1 + n % 3, f"/old/{n:02d}", f"v{n}")
        c.wait_converged()
        time.sleep(1.5)
        st = c.status(3)
        db3 = c.data_dir(3) / "member" / "snap" / "db"
        cp_a(db3, work / "old-db")
        old_rev, old_index = st["header"]["revision"], st["raftAppliedIndex"]
        f.event("cp -a of node3's member/snap/db alone", revision=old_rev, applied=old_index)
        for n in range(60):
            c.put(1 + n % 3, f"/old/{n % 30:02d}", f"w{n}")
        c.wait_converged()
        ans = f.take_answers(c, "final", revs=(old_rev,))
        c.stop_member(3)
        snaps = sorted(p.name for p in (c.data_dir(3) / "member" / "snap").glob("*.snap"))
        f.event("node3 stopped; its db replaced by the older copy", snap_files=snaps)
        os.remove(db3)
        cp_a(work / "old-db", db3)
        f.copy_dir(c.data_dir(3), "node3")
        outcome, code = wait_exit_or_ready(c, 3, timeout=40)
        f.event(f"node3 started with the older db: {outcome}", exit_code=code, log=log_lines(c, 3, *FATAL))
        f.truth["start_with_old_db"] = {"outcome": outcome, "exit_code": code}
        if outcome == "ready":
            c.wait_converged(timeout=60)
            f.take_answers(c, "after-start", revs=(old_rev,))
        stop_clean(c, f)
        f.copy_logs(c)
        for i in (1, 2):
            f.copy_dir(c.data_dir(i), f"node{i}")
            f.member(f"node{i}", etcd=ans[f"node{i}"])
        f.copy_dir(c.data_dir(3), "node3-after-start")
        f.member("node3", etcd=at_rev(ans["node3"], old_rev), snap_files=snaps,
                 db_copied_at={"revision": old_rev, "raft_applied_index": old_index},
                 note="node3's WAL and .snap files are its own (newest: %s); its db is the older copy "
                      "(revision %d): etcd numbers = node3's hashkv at %d" % (snaps[-1] if snaps else None,
                                                                             old_rev, old_rev))
        f.member("node3-after-start", etcd=f.answers.get("after-start", {}).get("node3"))
        newest = int(snaps[-1].split("-")[1].split(".")[0], 16) if snaps else None
        f.affected("node3", "db older than the member's newest raft snapshot", db_applied_index=old_index,
                   newest_snap_index=newest, first_affected_wal_index=old_index + 1)
        f.truth["expected"] = ("node3's db (consistent_index ~%d) predates its newest .snap (index %s): "
                               "etcd will not start it; the entries in between are not in the db"
                               % (old_index, newest))
    return f


CASES = {
    "stale-copy": case_stale_copy,
    "stale-copy-3.4": case_stale_copy_34,
    "stale-copy-3.6": case_stale_copy_36,
    "stale-copy-3.7": case_stale_copy_37,
    "lag-copies": case_lag_copies,
    "killed-under-load": case_killed_under_load,
    "killed-under-load-3.4": case_killed_under_load_34,
    "killed-under-load-3.6": case_killed_under_load_36,
    "killed-under-load-3.7": case_killed_under_load_37,
    "lost-writes": case_lost_writes,
    "snapshot-restore": case_snapshot_restore,
    "snapshot-restore-3.6": case_snapshot_restore_36,
    "snapshot-restore-3.7": case_snapshot_restore_37,
    "damaged-page": case_damaged_page,
    "txn-compacted-range": case_txn_compacted_range,
    "txn-compacted-range-3.4": case_txn_compacted_range_34,
    "txn-compacted-range-3.6": case_txn_compacted_range_36,
    "txn-compacted-range-3.7": case_txn_compacted_range_37,
    "db-older-than-snap": case_db_older_than_snap,
    "db-older-than-snap-3.6": case_db_older_than_snap_36,
    "db-older-than-snap-3.7": case_db_older_than_snap_37,
    "defrag-killed": case_defrag_killed,
    "defrag-killed-3.5.2": case_defrag_killed_352,
    "defrag-killed-3.6": case_defrag_killed_36,
    "defrag-killed-3.7": case_defrag_killed_37,
    "learner-promotion": case_learner_promotion,
    "learner-promotion-3.5.35": case_learner_promotion_35,
    "learner-promotion-3.6": case_learner_promotion_36,
    "learner-promotion-3.7": case_learner_promotion_37,
    "two-clusters": case_two_clusters,
}


def main(argv):
    out = OUT
    if "--out" in argv:
        k = argv.index("--out")
        out = Path(argv[k + 1])
        del argv[k:k + 2]
    if not argv or argv == ["--list"]:
        for n, fn in CASES.items():
            print(f"{n}: {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0 if argv else 2
    if argv[0] == "--repack":
        # pack existing tarballs again (sparse): the same files, byte for byte
        for t in map(Path, argv[1:]):
            w = Path(tempfile.mkdtemp(prefix="kvf-repack-", dir=os.environ.get("KVF_FIXTURE_TMP", "/var/tmp")))
            try:
                subprocess.run(["tar", "-xzf", str(t), "-C", str(w)], check=True, timeout=600)
                (root,) = list(w.iterdir())
                pack(root, t.with_suffix(".tmp"))
                os.replace(t.with_suffix(".tmp"), t)
                log(f"repacked {t} ({t.stat().st_size} bytes)")
            finally:
                shutil.rmtree(w, ignore_errors=True)
        return 0
    names = list(CASES) if argv == ["all"] else argv
    bad = [n for n in names if n not in CASES]
    if bad:
        sys.exit(f"unknown case(s) {bad}; known: {', '.join(CASES)}")
    rc = 0
    for n in names:
        # not /tmp: other test runs on this machine clean kvf-live-* there
        work = Path(tempfile.mkdtemp(prefix=f"kvf-cause-{n}-", dir=os.environ.get("KVF_FIXTURE_TMP", "/var/tmp")))
        try:
            f = CASES[n](work)
            f.write(out)
        except Exception as e:  # one case failing must not lose the others
            log(f"{n}: FAILED: {e!r}")
            rc = 1
        finally:
            if os.environ.get("KVF_LIVE_KEEP") != "1":
                shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
