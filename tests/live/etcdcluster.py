"""A real etcd cluster on 127.0.0.1 for the live tests (stdlib only).

    from etcdcluster import Cluster, require_etcd

    with Cluster(size=3) as c:            # etcd 3.4 (Debian's); version="3.6" for another
        c.user_add(1, "root", "rootpw")
        c.enable_auth(1)
        c.put(2, "/k", "v", user="root")  # etcdctl against member 2's endpoint
        c.wait_converged()
        c.stop_all()                      # followers first, leader last
        wal = c.data_dir(1) / "member" / "wal"
    # leaving the block stops whatever still runs and removes the temp dir

Versions: "3.4" is Debian's etcd-server/etcd-client (PATH, or $KVF_ETCD and
$KVF_ETCDCTL); "3.5", "3.6", "3.7" (and "3.5.2") are built from etcd's Go
modules by tests/etcd/build.sh, found through $KVF_ETCD_VERSIONS
("name=bindir ...", exported by quickstart) or build.sh's versions.json
($KVF_ETCD_MANIFEST, else the default cache). A full version ("3.6.16")
names the same binaries. Members can run different versions
(restart_member(i, version=...) on the same data dir: a rolling upgrade).

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
  status needs no credentials in 3.4, so polling never writes; hashkv is admin-only
  and, with auth on, authenticates as root: etcdctl 3.4 does so twice (its
  client, then the maintenance connection it dials to the endpoint).

What differs in 3.5, 3.6 and 3.7 (their sources and `etcd --help`):
- Flags: --logger zap is the default from 3.5 on (3.4 needs it: capnslog
  is its default); --enable-v2 is gone in 3.6; every --experimental-* flag
  is gone in 3.7 (3.6 has both them and --feature-gates). --snapshot-count
  defaults to 100000 in 3.4/3.5 and 10000 from 3.6. Every flag this module
  passes is checked against the binary's own --help first.
- etcdctl 3.6+ has no v2 API and warns about ETCDCTL_API: it is set only
  for 3.4/3.5's etcdctl.
- `auth status` exists from 3.5 and goes through raft (an auth_status entry
  in the WAL), as Authenticate does.
- With auth on, 3.5.28+ (CVE-2026-33413; so 3.5.35, 3.6.16, 3.7.3, not
  3.5.2) refuses endpoint status without an authenticated user ("user name
  is empty"), and `member list` too. etcdctl --user would add an
  Authenticate entry per poll, so status polling then goes through the gRPC
  gateway with one root token (one Authenticate entry, again only when the
  token expires or a member never applied it). A learner refuses
  Authenticate ("rpc not supported for learner") but takes that token.
- Promoting through a follower forwards the request to the leader without
  the credentials: with auth on etcd 3.4 refuses it ("auth: user name is
  empty" in the leader's log, a timeout for etcdctl); promote() asks the
  leader.
- HashKV: 3.6+ answers hash_revision too; 3.5's HashKVResponse has none.
- Learners: `member add --learner`, then start the new member with
  --initial-cluster-state existing, then `member promote` once it has
  caught up (etcd refuses earlier: "can only promote a learner member which
  is in sync with leader"). A learner answers endpoint status.
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
import urllib.error
import urllib.request
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


class EtcdVersionMissing(EtcdMissing):
    """That etcd version was not built (tests/etcd/build.sh) or is unknown;
    .version names it, .reason says why (build.sh's SKIPPED reason if any)."""

    def __init__(self, version, reason):
        self.version = version
        self.reason = reason
        super().__init__(f"etcd {version}: {reason}")


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


DEFAULT_VERSION = "3.4"


def _manifest_paths():
    if os.environ.get("KVF_ETCD_MANIFEST"):
        return [Path(os.environ["KVF_ETCD_MANIFEST"])]
    caches = [os.environ.get("KVF_ETCD_CACHE"), "/var/cache/kvforensics/etcd",
              os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                           "kvforensics", "etcd")]
    return [Path(c) / "versions.json" for c in caches if c]


def etcd_versions():
    """({name: bindir}, {name: why skipped}) of the etcd builds the tests can
    use: $KVF_ETCD_VERSIONS ("3.5=/dir 3.6=/dir ...") if set, else the first
    versions.json that tests/etcd/build.sh wrote."""
    pairs = os.environ.get("KVF_ETCD_VERSIONS")
    if pairs is not None:
        found = dict(p.split("=", 1) for p in pairs.split() if "=" in p)
        skipped = {n: "not built (tests/etcd/build.sh skipped it: see its output)"
                   for n in os.environ.get("KVF_ETCD_SKIPPED", "").split()}
        return found, skipped
    for path in _manifest_paths():
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        vs = doc.get("versions", {})
        return ({n: v["bindir"] for n, v in vs.items() if "bindir" in v},
                {n: v["skipped"] for n, v in vs.items() if "skipped" in v})
    return {}, {}


class Binaries:
    """The etcd, etcdctl and etcdutl (None for 3.4) of one etcd version.

    name: what the tests call it ("3.6"); version: what etcd --version says
    ("3.6.16"); release: (3, 6, 16); minor: (3, 6)."""

    def __init__(self, name, etcd, etcdctl, etcdutl=None):
        self.name = name
        self.etcd = etcd
        self.etcdctl = etcdctl
        self.etcdutl = etcdutl
        out = subprocess.run([etcd, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
        v = next((l.split(":", 1)[1].strip() for l in out.splitlines()
                  if l.startswith("etcd Version:")), None)
        if not v:
            raise EtcdMissing(f"{etcd} --version names no version: {out!r}")
        self.version = v
        self.release = tuple(int(x) for x in v.split("-")[0].split(".")[:3])  # (3, 6, 16)
        self.minor = self.release[:2]
        self._flags = None

    def __repr__(self):
        return f"etcd {self.version} ({os.path.dirname(self.etcd)})"

    @property
    def flags(self):
        """Every --flag the server's --help lists."""
        if self._flags is None:
            p = subprocess.run([self.etcd, "--help"], capture_output=True, text=True, timeout=30)
            self._flags = {w.split("=")[0].split("[")[0] for w in (p.stdout + p.stderr).split()
                           if w.startswith("--")}
        return self._flags

    def env(self):
        """The environment for these binaries: no ETCD_*/ETCDCTL_* from
        outside; ETCDCTL_API=3 for etcdctl 3.4/3.5 (3.6+ warns about it)."""
        env = _clean_env()
        if self.minor < (3, 6):
            env["ETCDCTL_API"] = "3"
        return env


_binaries = {}


def etcd_binaries(version=DEFAULT_VERSION):
    """Binaries of `version` ("3.4", "3.6", "3.6.16", "3.5.2"), or
    EtcdVersionMissing. 3.4 is require_etcd()'s (Debian's, in PATH)."""
    version = str(version)
    if version in _binaries:
        return _binaries[version]
    if version == DEFAULT_VERSION:
        etcd, etcdctl = require_etcd()
        b = Binaries(version, etcd, etcdctl)
        if b.minor != (3, 4):
            raise EtcdVersionMissing(version, f"{etcd} is etcd {b.version}, not 3.4")
    else:
        found, skipped = etcd_versions()
        name = version if version in found else None
        if name is None:  # a full version: the build whose etcd says so
            for n, d in found.items():
                if n != DEFAULT_VERSION and Binaries(n, os.path.join(d, "etcd"),
                                                     os.path.join(d, "etcdctl")).version == version:
                    name = n
                    break
        if name is None:
            why = skipped.get(version) or (
                f"not built: run tests/etcd/build.sh {version} (known: "
                f"{', '.join(sorted(found)) or 'none'})")
            raise EtcdVersionMissing(version, why)
        d = found[name]
        utl = os.path.join(d, "etcdutl")
        b = Binaries(name, os.path.join(d, "etcd"), os.path.join(d, "etcdctl"),
                     utl if os.access(utl, os.X_OK) else None)
    _binaries[version] = b
    return b


# Optional server features, by the flag each version spells them with; the
# first spelling the binary's --help has is used ("gate:" = a feature gate).
FEATURES = {
    "initial-corrupt-check": ("gate:InitialCorruptCheck=true", "--experimental-initial-corrupt-check"),
    "compact-hash-check": ("gate:CompactHashCheck=true", "--experimental-compact-hash-check-enabled"),
    "enable-v2": ("--enable-v2",),
}


def _clean_env():
    # etcd reads every ETCD_* variable as a flag and etcdctl every ETCDCTL_*;
    # a stray ETCDCTL_ENDPOINTS would send our commands to someone else's cluster.
    return {k: v for k, v in os.environ.items()
            if not k.startswith("ETCD_") and not k.startswith("ETCDCTL_")}


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


_GATEWAY_INTS = {"cluster_id", "member_id", "revision", "raft_term", "leader", "raftIndex",
                 "raftTerm", "raftAppliedIndex", "dbSize", "dbSizeInUse", "dbSizeQuota"}


def _status_like_etcdctl(st):
    """The gateway's StatusResponse JSON in etcdctl -w json's shape: 64-bit
    numbers as numbers (the gateway sends strings), snake_case header keys
    (the newer gateway sends lowerCamelCase), absent zero values filled."""
    def fix(d):
        out = {}
        for k, v in d.items():
            k = {"clusterId": "cluster_id", "memberId": "member_id",
                 "raftTerm": "raft_term"}.get(k, k) if d is st.get("header") else k
            if isinstance(v, dict):
                v = fix(v)
            elif k in _GATEWAY_INTS and isinstance(v, str):
                v = int(v)
            out[k] = v
        return out
    st = fix(st)
    for k in ("leader", "raftIndex", "raftTerm", "raftAppliedIndex", "dbSize", "dbSizeInUse"):
        st.setdefault(k, 0)
    st.setdefault("header", {}).setdefault("revision", 0)
    st.setdefault("isLearner", False)
    return st


class Member:
    """One etcd process: name nodeI, its ports, data dir, log file and the
    binaries it runs (bins: Binaries; changed by restart_member(version=))."""

    def __init__(self, index, client_port, peer_port, data_dir, log_path, bins):
        self.index = index
        self.name = f"node{index}"
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.bins = bins
        self.proc = None
        self.learner = False  # added with add_learner and not promoted yet
        self.id = None        # raft member ID, once known (member_ids, add_learner)

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
    version: the etcd every member runs ("3.4", "3.5", "3.6", "3.7",
    "3.5.2" or a full version; EtcdVersionMissing if not built).
    snapshot_count: --snapshot-count (None: the version's default).
    snapshot_catchup_entries: the raft entries a leader keeps for slow
    followers after a snapshot (None: the version's default, 5000); a
    small value makes a new member receive the leader's db (a .snap.db).
    features: names from FEATURES, spelled as the version spells them.
    extra_args: more etcd flags, as they are.
    """

    def __init__(self, size=3, *, version=DEFAULT_VERSION, base_dir=None, keep=None,
                 heartbeat_ms=200, election_ms=2000, start_timeout=60, ctl_timeout=10,
                 snapshot_count=None, snapshot_catchup_entries=None, features=(), extra_args=()):
        self.bins = etcd_binaries(version)
        self.size = size
        self.snapshot_count = snapshot_count
        self.snapshot_catchup_entries = snapshot_catchup_entries
        self.features = list(features)
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown features {unknown} (known: {sorted(FEATURES)})")
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
        self._status_token_mode = False
        self._token = None
        self.run_dir = None
        self.use_etcdctl(self.bins.name)
        _install_handlers()
        _live_clusters.add(self)

    @property
    def version(self):
        """The full version of the cluster's binaries ("3.6.16")."""
        return self.bins.version

    def use_etcdctl(self, version):
        """Send the etcdctl calls from now on with `version`'s etcdctl (during
        a rolling upgrade, say); etcdutl() follows it."""
        b = etcd_binaries(version)
        self.ctl_bins = b
        self.etcd, self.etcdctl = b.etcd, b.etcdctl
        self._env = b.env()

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
        run = self.run_dir = self.dir / f"run{attempt}"
        (run / "logs").mkdir(parents=True)
        self.members = [Member(i, ports[2 * i - 2], ports[2 * i - 1], run / f"node{i}",
                               run / "logs" / f"node{i}.log", self.bins)
                        for i in range(1, self.size + 1)]

    def _initial_cluster(self):
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def _version_args(self, bins):
        """The flags that depend on the version, each checked against its --help."""
        args = ["--logger", "zap", "--log-outputs", "stderr"]
        if self.snapshot_count is not None:
            args += ["--snapshot-count", str(self.snapshot_count)]
        gates = []
        for f in self.features:
            for spelling in FEATURES[f]:
                if spelling.startswith("gate:") and "--feature-gates" in bins.flags:
                    gates.append(spelling[5:])
                    break
                if spelling in bins.flags:
                    args.append(spelling)
                    break
            else:
                raise ClusterError(f"{bins} has no flag for {f} (tried {FEATURES[f]})")
        if gates:
            args.append("--feature-gates=" + ",".join(gates))
        missing = [a for a in args + self.extra_args
                   if a.startswith("--") and a.split("=")[0] not in bins.flags]
        if missing:
            raise ClusterError(f"{bins} does not know {missing} (see its --help)")
        if self.snapshot_catchup_entries is not None:
            # 3.6+ list --snapshot-catchup-entries; 3.5 registers the
            # experimental spelling (etcdmain/config.go) without listing it
            # in --help, and 3.4 has neither
            if "--snapshot-catchup-entries" in bins.flags:
                flag = "--snapshot-catchup-entries"
            elif bins.minor == (3, 5):
                flag = "--experimental-snapshot-catchup-entries"
            else:
                raise ClusterError(f"{bins} has no snapshot catch-up entries flag")
            args += [flag, str(self.snapshot_catchup_entries)]
        return args

    def _spawn(self, m, state, initial_cluster=None):
        b = m.bins
        args = [b.etcd, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", initial_cluster or self._initial_cluster(),
                "--initial-cluster-state", state, "--initial-cluster-token", self.token,
                "--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_ms),
                *self._version_args(b), *self.extra_args]
        with open(m.log_path, "ab") as log:
            log.write(f"### {time.strftime('%H:%M:%S')} start: {' '.join(args)}\n".encode())
            log.flush()
            m.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      env=_clean_env(), preexec_fn=_die_with_parent)

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

    def kill_member(self, i):
        """SIGKILL member i by its PID (a crash: no cleanup, no final fsync
        beyond what etcd already did). Returns the exit code (-9)."""
        m = self.member(i)
        p = m.proc
        if p is None:
            return None
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        m.proc = None
        return p.returncode

    def restart_member(self, i, timeout=None, version=None):
        """Start stopped member i again on its data dir and ports
        (--initial-cluster-state existing) and wait until it serves.
        version: run another etcd version's binary on the same data dir
        (a rolling upgrade or downgrade step)."""
        m = self.member(i)
        if m.running:
            raise ClusterError(f"{m.name} is running (pid {m.pid})")
        if version is not None:
            m.bins = etcd_binaries(version)
        self._spawn(m, "existing")
        return self.wait_ready([i], timeout=timeout or self.start_timeout)

    def add_learner(self, via=1, *, version=None, user=None, timeout=None):
        """Add a new member as a raft learner (`member add --learner`
        through member `via`), start it (--initial-cluster-state existing)
        and wait until it answers. Returns its index; promote() it later."""
        if user is None and self.auth_enabled:
            user = ROOT
        taken = {p for m in self.members for p in (m.client_port, m.peer_port)}
        cport, pport = _free_ports(2, taken)
        i = len(self.members) + 1
        m = Member(i, cport, pport, self.run_dir / f"node{i}", self.run_dir / "logs" / f"node{i}.log",
                   etcd_binaries(version) if version is not None else self.bins)
        # etcd refuses (before proposing anything) while `via` has not been
        # connected to every voter for 5 s (etcdserver's HealthInterval)
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = self.ctl_json(via, "member", "add", m.name, "--learner",
                                     f"--peer-urls={m.peer_url}", user=user)
                break
            except CtlError as e:
                if "unhealthy cluster" not in e.stderr or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        m.id = int(resp["member"]["ID"])
        m.learner = True
        self.members.append(m)
        self.size = len(self.members)
        # the cluster as etcd lists it: a member added before but never started
        # has no name yet, and etcd wants the new one's name=url in the list
        names = []
        for x in resp["members"]:
            urls = x.get("peerURLs") or []
            name = x.get("name") or (m.name if int(x["ID"]) == m.id else None)
            names += [f"{name}={u}" for u in urls if name]
        self._spawn(m, "existing", initial_cluster=",".join(names))
        self.wait_ready([i], timeout=timeout or self.start_timeout)
        return i

    def promote(self, i, via=None, *, user=None, timeout=60):
        """Promote learner i to a voting member (`member promote`), retrying
        while etcd says the learner has not caught up with the leader.
        via: the member asked (default: the leader; a follower forwards the
        request to the leader over the peer port, and etcd 3.4 loses the
        credentials doing so: with auth on the leader refuses it, "auth:
        user name is empty", and etcdctl times out)."""
        if user is None and self.auth_enabled:
            user = ROOT
        m = self.member(i)
        deadline = time.monotonic() + timeout
        while True:
            if via is None:
                via = self.leader()
            try:
                self.ctl(via, "member", "promote", f"{m.id:x}", user=user)
                break
            except CtlError as e:
                if "in sync with leader" not in e.stderr + e.stdout or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        m.learner = False

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
        JSON: header, leader, raftIndex, raftTerm, raftAppliedIndex, dbSize...).
        Without user, as _status_or_none gets it (no raft entry per call)."""
        if user is not None:
            return self.ctl_json(i, "endpoint", "status", user=user)[0]["Status"]
        st = self._status_or_none(i, timeout=self.ctl_timeout, raise_=True)
        return st["Status"]

    def _status_or_none(self, i, timeout, raise_=False):
        # etcd 3.5.28+ (CVE-2026-33413; 3.6, 3.7) refuses Status without an
        # authenticated user once auth is on, and etcdctl would authenticate
        # (a raft entry) on every poll. Then ask the gRPC gateway with one
        # token instead: one Authenticate entry per token, not per poll.
        if not self._status_token_mode:
            p = self.ctl(i, "-w", "json", "endpoint", "status", check=False,
                         timeout=max(1, int(timeout)))
            if p.returncode == 0:
                try:
                    return json.loads(p.stdout)[0]
                except (ValueError, IndexError, KeyError):
                    if raise_:
                        raise ClusterError(f"node{i}: endpoint status said {p.stdout!r}")
                    return None
            if not (self.auth_enabled and "user name is empty" in p.stderr):
                if raise_:
                    raise CtlError(["endpoint", "status"], p.returncode, p.stdout, p.stderr)
                return None
            self._status_token_mode = True
        try:
            return {"Endpoint": self.member(i).endpoint, "Status": self._gateway_status(i, timeout)}
        except (OSError, ValueError, ClusterError):
            if raise_:
                raise
            return None

    def _gateway(self, i, path, body, *, token=None, timeout=10):
        """POST body (JSON) to member i's gRPC gateway; the decoded answer."""
        hdr = {"Content-Type": "application/json"}
        if token:
            hdr["Authorization"] = token
        req = urllib.request.Request(self.member(i).client_url + path,
                                     data=json.dumps(body).encode(), headers=hdr)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise ClusterError(f"node{i} {path}: HTTP {e.code}: {e.read()[:300]!r}") from e

    def _gateway_status(self, i, timeout):
        for attempt in (1, 2):
            if self._token is None or attempt == 2:
                via = next(m.index for m in self.members if m.running and not m.learner)
                self._token = self._gateway(via, "/v3/auth/authenticate",
                                            {"name": ROOT, "password": self.passwords[ROOT]},
                                            timeout=max(1, timeout))["token"]
            try:
                st = self._gateway(i, "/v3/maintenance/status", {}, token=self._token,
                                   timeout=max(1, timeout))
                break
            except ClusterError as e:
                # simple tokens expire (--auth-token-ttl) and exist only on
                # the members that applied their Authenticate entry
                if attempt == 2 or "invalid auth token" not in str(e):
                    raise
        return _status_like_etcdctl(st)

    def hashkv(self, i, rev=0, *, user=None):
        """Member i's HashKV (hash, compact_revision, header). Admin-only
        once auth is on: user defaults to root then (which adds Authenticate
        entries to the log)."""
        if user is None and self.auth_enabled:
            user = ROOT
        return self.ctl_json(i, "endpoint", "hashkv", f"--rev={rev}", user=user)[0]["HashKV"]

    def member_ids(self):
        """{member index: raft member ID (int)} from each running member."""
        ids = {m.index: self.status(m.index)["header"]["member_id"]
               for m in self.members if m.running}
        for i, mid in ids.items():
            self.member(i).id = mid
        return ids

    def member_list(self, i, *, user=None):
        """`member list` through member i: etcd's members (ID, name, peerURLs,
        clientURLs, isLearner when true), as its JSON gives them. As root
        once auth is on (3.5.28+ refuse it without a user); not on a learner."""
        if user is None and self.auth_enabled:
            user = ROOT
        return self.ctl_json(i, "member", "list", user=user)["members"]

    def auth_status(self, i, *, user=None):
        """`auth status` (3.5+): {"enabled": bool, "authRevision": int}.
        It goes through raft: an auth_status entry in every WAL."""
        if self.ctl_bins.minor < (3, 5):
            raise ClusterError(f"etcdctl {self.ctl_bins.version} has no auth status")
        if user is None and self.auth_enabled:
            user = ROOT
        doc = self.ctl_json(i, "auth", "status", user=user)
        return {"enabled": bool(doc.get("enabled")), "authRevision": int(doc.get("authRevision", 0))}

    def snapshot_save(self, i, path, *, user=None, timeout=60):
        """`etcdctl snapshot save` of member i's db into path (the bbolt file
        plus etcd's trailing sha256). Admin-only: root once auth is on."""
        if user is None and self.auth_enabled:
            user = ROOT
        self.ctl(i, "snapshot", "save", str(path), user=user, timeout=timeout)
        return Path(path)

    def etcdutl(self, *args, check=True, timeout=120):
        """Run etcdutl (3.5+; of use_etcdctl's version) with args; offline,
        on files: give it copies, never a running member's data dir."""
        if not self.ctl_bins.etcdutl:
            raise ClusterError(f"etcd {self.ctl_bins.version} has no etcdutl")
        p = subprocess.run([self.ctl_bins.etcdutl, *map(str, args)], capture_output=True,
                           text=True, env=self._env, timeout=timeout)
        if check and p.returncode != 0:
            raise CtlError(["etcdutl", *args], p.returncode, p.stdout, p.stderr)
        return p

    def snapshot_status(self, path):
        """`etcdutl snapshot status -w json` of a snapshot file or db copy:
        {hash, revision, totalKey, totalSize, version (3.6+)}."""
        return json.loads(self.etcdutl("snapshot", "status", str(path), "-w", "json").stdout)

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
