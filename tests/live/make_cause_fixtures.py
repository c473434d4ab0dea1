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
import signal
import subprocess
import sys
import tarfile
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

    def __init__(self, c, via, write, name="load"):
        super().__init__(daemon=True, name=name)
        self.c, self.via, self.write = c, via, write
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
        with tarfile.open(tmp, "w:gz", compresslevel=9) as t:
            t.add(self.root, arcname=self.root.name)
        os.replace(tmp, out)
        log(f"wrote {out} ({out.stat().st_size} bytes)")
        return out


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


CASES = {
    "stale-copy": case_stale_copy,
    "stale-copy-3.4": case_stale_copy_34,
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
