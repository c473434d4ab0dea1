"""A real etcd cluster on 127.0.0.1 for the live tests (stdlib only).

    from etcdcluster import Cluster, require_etcd

    with Cluster(size=3) as c:            # starts, waits until every member serves
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        c.put(2, "/k", "v", user="root")  # etcdctl against member 2's endpoint
        c.wait_converged()
        c.stop_all()                      # followers first, leader last
        wal = c.data_dir(1) / "member" / "wal"
    # leaving the block stops whatever still runs and removes the temp dir

Members are numbered from 1. Every etcd is a child of this process and is
stopped by its PID (SIGTERM, a bounded wait, then SIGKILL); nothing is ever
signalled by name. Stopping is idempotent and runs on every way out: the
context manager, atexit, SIGTERM/SIGHUP (turned into SystemExit so the
`with` blocks unwind), and, should this process be SIGKILLed, the kernel's
parent-death signal set on each child. Every wait has a deadline and every
subprocess a timeout.

Ports come from 20000-32000, below Linux's ephemeral range (32768-60999) so
that no outgoing connection holds them; each is probed by binding it. Another
process may still take a port between the probe and etcd's bind; start()
then retries the whole cluster on fresh ports.

etcd 3.4 facts this module relies on (sources: etcd 3.4.23):
- authRevision (auth/store.go): a new auth store starts at 1 (NewAuthStore
  commits a revision when it reads 0); every successful user/role mutation
  (UserAdd, UserDelete, UserChangePassword, UserGrantRole, UserRevokeRole,
  RoleAdd, RoleDelete, RoleGrantPermission, RoleRevokePermission) and
  AuthDisable add 1 (commitRevision); AuthEnable does not (it only re-reads
  the stored value), and a refused request changes nothing. etcdctl 3.4 has
  no `auth status`, so `Cluster.auth_revision` follows these rules for the
  requests issued through this module's auth helpers.
- The request header (etcdserver/v3_server.go, processInternalRaftRequestOnce)
  carries the user and the auth revision of the member that received the
  request, taken when it proposes; permissions are checked only when the
  entry is applied, so refused writes are in the WAL too.
- Every etcdctl call with --user first sends an Authenticate request, which
  is itself a raft entry: calls as a user add entries to the log. Endpoint
  status needs no credentials, so polling never writes; hashkv is admin-only
  and, with auth on, authenticates as root: etcdctl 3.4 does so twice (its
  client, then the maintenance connection it dials to the endpoint).
"""
import atexit
import base64
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PORT_RANGE = (20000, 32000)
ROOT = "root"


class EtcdMissing(RuntimeError):
    """etcd or etcdctl is not installed; live tests must fail on this, not skip."""


class ClusterError(RuntimeError):
    """A member did not start, stop or answer in time (message names the log)."""


class CtlError(ClusterError):
    """etcdctl exited non-zero; carries the arguments, exit code and output."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args_ = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"etcdctl {' '.join(map(str, args))}: exit {returncode}: "
                         f"{(stderr or stdout).strip()}")


def require_etcd():
    """(etcd, etcdctl) paths, or EtcdMissing with how to install them.

    KVF_ETCD and KVF_ETCDCTL override the lookup in PATH."""
    found = []
    for prog, var in (("etcd", "KVF_ETCD"), ("etcdctl", "KVF_ETCDCTL")):
        path = os.environ.get(var) or shutil.which(prog)
        if not path or not os.access(path, os.X_OK):
            raise EtcdMissing(
                f"{prog} not found (PATH or ${var}): the live tests need a real etcd; "
                "install Debian's etcd-server and etcd-client (3.4), or configure with "
                "-Dlive_tests=false")
        found.append(path)
    return tuple(found)


def _clean_env():
    # etcd reads every ETCD_* variable as a flag and etcdctl every ETCDCTL_*;
    # a stray ETCDCTL_ENDPOINTS would send our commands to someone else's cluster.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ETCD_") and not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    return env


def _free_ports(count, taken=()):
    rng = random.SystemRandom()
    ports = []
    for _ in range(200 * count):
        if len(ports) == count:
            break
        port = rng.randrange(*PORT_RANGE)
        if port in ports or port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    if len(ports) < count:
        raise ClusterError(f"found only {len(ports)} free ports in {PORT_RANGE}")
    return ports


def _die_with_parent():
    # Runs in the child between fork and exec: PR_SET_PDEATHSIG (1) makes the
    # kernel SIGKILL etcd if this test process dies without cleaning up.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


_live_clusters = set()  # open clusters; close() removes itself
_handlers_installed = False


def _stop_every_cluster():
    for c in list(_live_clusters):
        c.close()


def _on_signal(signum, frame):
    # Only the first signal unwinds; later ones must not interrupt the cleanup
    # it started (the parent-death signal covers a final SIGKILL).
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_stop_every_cluster)
    try:
        for s in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(s) in (signal.SIG_DFL, None):
                signal.signal(s, _on_signal)
    except ValueError:  # not the main thread: atexit and pdeathsig still hold
        pass


class Member:
    """One etcd process: name nodeI, its ports, data dir and log file."""

    def __init__(self, index, client_port, peer_port, data_dir, log_path):
        self.index = index
        self.name = f"node{index}"
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.client_port}"

    @property
    def client_url(self):
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self):
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    """An N-member etcd cluster on 127.0.0.1 in a fresh temporary directory.

    size: members (node1..nodeN). base_dir: parent of the temp dir (default
    $TMPDIR). keep: leave the temp dir (data dirs and logs) behind; also set
    by KVF_LIVE_KEEP=1. heartbeat_ms / election_ms: raft timing; the
    defaults are twice etcd's, so that a loaded machine does not lose its
    leader in the middle of a test. start_timeout: seconds for all members
    to serve. ctl_timeout: etcdctl --command-timeout in seconds.
    """

    def __init__(self, size=3, *, base_dir=None, keep=None, heartbeat_ms=200,
                 election_ms=2000, start_timeout=60, ctl_timeout=10, extra_args=()):
        self.etcd, self.etcdctl = require_etcd()
        self.size = size
        self.keep = keep if keep is not None else os.environ.get("KVF_LIVE_KEEP") == "1"
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.start_timeout = start_timeout
        self.ctl_timeout = ctl_timeout
        self.extra_args = list(extra_args)
        self.dir = Path(tempfile.mkdtemp(prefix="kvf-live-", dir=base_dir))
        self.token = f"kvf-{os.getpid()}-{random.SystemRandom().getrandbits(48):012x}"
        self.members = []
        self.passwords = {}
        self.auth_enabled = False
        self.auth_revision = 1
        self._roles_of = {}
        self._closed = False
        self._env = _clean_env()
        _install_handlers()
        _live_clusters.add(self)

    # --- lifecycle ---

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
        return False

    def member(self, i):
        """Member i (1-based)."""
        if not 1 <= i <= len(self.members):
            raise IndexError(f"no member {i} (cluster of {len(self.members)})")
        return self.members[i - 1]

    def data_dir(self, i):
        """Member i's --data-dir (holds member/wal and member/snap/db)."""
        return self.member(i).data_dir

    def log_path(self, i):
        return self.member(i).log_path

    def start(self, attempts=3):
        """Start every member of a new cluster and wait until each serves."""
        if self._closed:
            raise ClusterError("cluster already closed")
        last = None
        for attempt in range(1, attempts + 1):
            self._layout(attempt)
            for m in self.members:
                self._spawn(m, "new")
            try:
                self.wait_ready(timeout=self.start_timeout)
                return self
            except ClusterError as e:
                last = e
                busy = any("address already in use" in self.log_tail(m.index, 200)
                           for m in self.members)
                self._kill_all()
                if not busy:
                    raise
        raise ClusterError(f"no free ports after {attempts} attempts: {last}")

    def _layout(self, attempt):
        ports = _free_ports(2 * self.size)
        run = self.dir / f"run{attempt}"
        (run / "logs").mkdir(parents=True)
        self.members = [Member(i, ports[2 * i - 2], ports[2 * i - 1], run / f"node{i}",
                               run / "logs" / f"node{i}.log")
                        for i in range(1, self.size + 1)]

    def _initial_cluster(self):
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def _spawn(self, m, state):
        args = [self.etcd, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self._initial_cluster(),
                "--initial-cluster-state", state, "--initial-cluster-token", self.token,
                "--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_ms),
                "--logger", "zap", "--log-outputs", "stderr", *self.extra_args]
        with open(m.log_path, "ab") as log:
            log.write(f"### {time.strftime('%H:%M:%S')} start: {' '.join(args)}\n".encode())
            log.flush()
            m.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      env=self._env, preexec_fn=_die_with_parent)

    def wait_ready(self, members=None, timeout=60):
        """Wait until each member (default: all running) answers endpoint
        status and knows a leader; etcd serves clients only once it has
        published itself through raft, so this means the cluster has quorum."""
        idx = members or [m.index for m in self.members if m.proc is not None]
        deadline = time.monotonic() + timeout
        pending = list(idx)
        while pending:
            for i in list(pending):
                m = self.member(i)
                if not m.running:
                    raise ClusterError(f"{m.name} exited with {m.proc.returncode if m.proc else '?'}"
                                       f"; log {m.log_path}:\n{self.log_tail(i)}")
                left = deadline - time.monotonic()
                st = self._status_or_none(i, timeout=max(1.0, min(5.0, left)))
                if st and st["Status"].get("leader"):
                    pending.remove(i)
            if pending:
                if time.monotonic() > deadline:
                    raise ClusterError("members " + ", ".join(f"node{i}" for i in pending)
                                       + f" not ready after {timeout}s; logs in {self.dir}")
                time.sleep(0.2)
        return self

    def stop_member(self, i, timeout=15):
        """Stop member i by its PID: SIGTERM, wait up to timeout s, then
        SIGKILL. Returns the exit code (None if it was not running)."""
        m = self.member(i)
        p = m.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        m.proc = None
        return p.returncode

    def restart_member(self, i, timeout=None):
        """Start stopped member i again on its data dir and ports
        (--initial-cluster-state existing) and wait until it serves."""
        m = self.member(i)
        if m.running:
            raise ClusterError(f"{m.name} is running (pid {m.pid})")
        self._spawn(m, "existing")
        return self.wait_ready([i], timeout=timeout or self.start_timeout)

    def restart_all(self, timeout=None):
        """Start every stopped member again and wait until all serve. They
        start together: one member of three alone has no quorum and never
        becomes ready, so restart_member one by one would wait in vain."""
        stopped = [m for m in self.members if not m.running]
        for m in stopped:
            self._spawn(m, "existing")
        return self.wait_ready([m.index for m in stopped], timeout=timeout or self.start_timeout)

    def leader(self):
        """Index of the member the running members name as leader, or None."""
        ids = {}
        lead = None
        for m in self.members:
            if m.running:
                st = self._status_or_none(m.index, timeout=5)
                if st:
                    ids[st["Status"]["header"]["member_id"]] = m.index
                    lead = lead or st["Status"].get("leader")
        return ids.get(lead)

    def stop_all(self, timeout=15):
        """Stop every running member, followers first and the leader last:
        a leader stopped while followers run hands leadership over, and the
        new leader's empty entry would reach only some WALs. Returns
        {member index: exit code} for the members that were running
        (etcd 3.4 re-raises SIGTERM after its cleanup: -15 is a clean stop)."""
        running = [m.index for m in self.members if m.running]
        lead = self.leader() if running else None
        order = [i for i in running if i != lead] + ([lead] if lead in running else [])
        return {i: self.stop_member(i, timeout=timeout) for i in order}

    def _kill_all(self):
        for m in self.members:
            if m.proc is not None:
                self.stop_member(m.index, timeout=5)

    def close(self):
        """Stop every member (by PID) and remove the temp dir unless kept.
        Idempotent; safe to call from atexit and after a failed start."""
        if self._closed:
            return
        for m in self.members:
            try:
                self.stop_member(m.index, timeout=10)
            except Exception:
                if m.proc is not None and m.proc.poll() is None:
                    m.proc.kill()
        self._closed = True
        _live_clusters.discard(self)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, i, lines=30):
        try:
            with open(self.member(i).log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- etcdctl ---

    def _credentials(self, user):
        if user is None:
            return []
        if ":" in user:
            return ["--user", user]
        if user not in self.passwords:
            raise KeyError(f"no password known for user {user!r}")
        return ["--user", f"{user}:{self.passwords[user]}"]

    def ctl(self, i, *args, user=None, input=None, check=True, timeout=None):
        """Run etcdctl against member i only; returns CompletedProcess (text).

        user: None (no credentials), a name added with user_add, or
        "name:password". Raises CtlError on a non-zero exit when check."""
        t = timeout or self.ctl_timeout
        argv = [self.etcdctl, "--endpoints", self.member(i).endpoint,
                f"--command-timeout={t}s", "--dial-timeout=5s",
                *self._credentials(user), *map(str, args)]
        try:
            p = subprocess.run(argv, input=input, capture_output=True, text=True,
                               env=self._env, timeout=t + 15)
        except subprocess.TimeoutExpired as e:
            raise ClusterError(f"etcdctl {' '.join(map(str, args))} on node{i}: no answer "
                               f"in {t + 15}s") from e
        if check and p.returncode != 0:
            raise CtlError(args, p.returncode, p.stdout, p.stderr)
        return p

    def ctl_json(self, i, *args, user=None, input=None, timeout=None):
        """etcdctl -w json; the parsed document."""
        p = self.ctl(i, "-w", "json", *args, user=user, input=input, timeout=timeout)
        return json.loads(p.stdout)

    def put(self, i, key, value, *, user=None, lease=None):
        """Put through member i; lease is an integer lease ID. Returns the
        response (header.revision is the new store revision)."""
        extra = [f"--lease={lease:x}"] if lease is not None else []
        return self.ctl_json(i, "put", *extra, "--", key, value, user=user)

    def get(self, i, key, *, prefix=False, user=None, serializable=False):
        """[(key, value)] as str (etcd's bytes decoded as UTF-8)."""
        extra = (["--prefix"] if prefix else []) + (["--consistency=s"] if serializable else [])
        doc = self.ctl_json(i, "get", *extra, "--", key, user=user)
        dec = lambda b: base64.b64decode(b).decode("utf-8", "replace")
        return [(dec(kv["key"]), dec(kv.get("value", ""))) for kv in doc.get("kvs", [])]

    def delete(self, i, key, *, prefix=False, user=None):
        """Delete through member i; the number of keys deleted."""
        extra = ["--prefix"] if prefix else []
        return int(self.ctl_json(i, "del", *extra, "--", key, user=user).get("deleted", 0))

    def txn(self, i, compares, success, failure=(), *, user=None):
        """A transaction in etcdctl's txn syntax, e.g.
        txn(1, ['value("/a") = "x"'], ['put /b y'], ['put /c z']).
        Returns the response; "succeeded" tells which branch ran."""
        body = "\n".join(compares) + "\n\n" + "\n".join(success) + "\n\n" + "\n".join(failure) + "\n\n"
        return self.ctl_json(i, "txn", user=user, input=body)

    def lease_grant(self, i, ttl, *, user=None):
        """Grant a lease; its ID as an integer."""
        return int(self.ctl_json(i, "lease", "grant", str(ttl), user=user)["ID"])

    def status(self, i, *, user=None):
        """Member i's endpoint status (the "Status" object of etcdctl's
        JSON: header, leader, raftIndex, raftTerm, raftAppliedIndex, dbSize...)."""
        return self.ctl_json(i, "endpoint", "status", user=user)[0]["Status"]

    def _status_or_none(self, i, timeout):
        p = self.ctl(i, "-w", "json", "endpoint", "status", check=False, timeout=max(1, int(timeout)))
        if p.returncode != 0:
            return None
        try:
            return json.loads(p.stdout)[0]
        except (ValueError, IndexError, KeyError):
            return None

    def hashkv(self, i, rev=0, *, user=None):
        """Member i's HashKV (hash, compact_revision, header). Admin-only
        once auth is on: user defaults to root then (which adds Authenticate
        entries to the log)."""
        if user is None and self.auth_enabled:
            user = ROOT
        return self.ctl_json(i, "endpoint", "hashkv", f"--rev={rev}", user=user)[0]["HashKV"]

    def member_ids(self):
        """{member index: raft member ID (int)} from each running member."""
        return {m.index: self.status(m.index)["header"]["member_id"]
                for m in self.members if m.running}

    def wait_converged(self, timeout=30):
        """Wait until every running member has committed and applied the
        same raft index; returns {member index: status}."""
        deadline = time.monotonic() + timeout
        while True:
            sts = {m.index: self._status_or_none(m.index, timeout=5)
                   for m in self.members if m.running}
            if all(sts.values()):
                s = {i: st["Status"] for i, st in sts.items()}
                idx = {st["raftIndex"] for st in s.values()}
                if len(idx) == 1 and all(st["raftAppliedIndex"] == st["raftIndex"] for st in s.values()):
                    return s
            if time.monotonic() > deadline:
                raise ClusterError(f"members did not converge in {timeout}s: {sts}")
            time.sleep(0.2)

    # --- auth (each helper keeps auth_revision in step with etcd) ---

    def _auth_op(self, i, user, *args):
        if user is None and self.auth_enabled:
            user = ROOT
        self.ctl(i, *args, user=user)
        self.auth_revision += 1

    def user_add(self, i, name, password, *, user=None):
        """Add a user (as root once auth is on) and remember its password."""
        self._auth_op(i, user, "user", "add", f"{name}:{password}", "--interactive=false")
        self.passwords[name] = password
        self._roles_of[name] = set()

    def role_add(self, i, role, *, user=None):
        self._auth_op(i, user, "role", "add", role)

    def grant_permission(self, i, role, perm, key, *, prefix=False, range_end=None, user=None):
        """perm: read, write or readwrite; prefix covers every key under key."""
        extra = ["--prefix=true"] if prefix else []
        tail = [range_end] if range_end is not None else []
        self._auth_op(i, user, "role", "grant-permission", *extra, role, perm, key, *tail)

    def grant_role(self, i, name, role, *, user=None):
        self._auth_op(i, user, "user", "grant-role", name, role)
        self._roles_of.setdefault(name, set()).add(role)

    def enable_auth(self, i, *, root_password=None):
        """Enable auth: adds user root if missing (root_password), and role
        root for it explicitly. etcdctl 3.4 would otherwise do so itself
        after a refused AuthEnable, adding that failed request to the log
        behind our back. AuthEnable itself does not bump authRevision."""
        if ROOT not in self.passwords:
            if root_password is None:
                raise ClusterError("enable_auth: no root user; pass root_password")
            self.user_add(i, ROOT, root_password)
        if "root" not in self._roles_of.get(ROOT, ()):
            self.role_add(i, "root")
            self.grant_role(i, ROOT, "root")
        self.ctl(i, "auth", "enable")
        self.auth_enabled = True

    def disable_auth(self, i):
        self.ctl(i, "auth", "disable", user=ROOT)
        self.auth_enabled = False
        self.auth_revision += 1
