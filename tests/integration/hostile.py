#!/usr/bin/env python3
"""Hostile evidence: every tool, on damaged copies of real files.

Each case damages a copy of a file a real etcd wrote (in a temp dir; never
the fixtures), runs a tool on it, and requires:
- it ends by itself within TIME_LIMIT seconds, never by a signal, and no
  sanitizer report appears (the suite also runs built with ASan/UBSan);
- exit status 1 (damage found) or 2 (could not run), as the man pages say;
- the output names the file and the place of the damage: the byte offset
  or the page id the test computed from the damage it made itself;
- every input file keeps its sha256, size and mtime, and every input
  directory its listing (no lock file, nothing created beside it).

Layouts used to place the damage (facts from etcd's wal and bbolt sources):
- WAL frame: u64 little-endian length word (low 56 bits: record size; the
  top bit set means the low 3 bits of the top byte are padding bytes), the
  record, padding to 8 bytes; a zero length word ends the records.
- bbolt page: id u64, flags u16 (1 branch, 2 leaf, 4 meta, 0x10 freelist),
  count u16, overflow u32, then 16-byte elements; a branch element is
  pos u32, ksize u32, child page id u64.

Sampling, to stay within a couple of minutes on 2 cores: truncation at the
first 24 frame boundaries, the last one, and 16 seeded mid-frame points;
24 seeded byte flips; truncation at every page boundary of the db (21
pages) and 8 seeded mid-page points.

usage: hostile.py DUMP_WAL DUMP_DB DIFF_DB FIXTURES_DIR
"""
import gzip
import hashlib
import os
import pwd
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIME_LIMIT = 20
SANITIZER = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")
PAGE = 4096

failures = []
counts = {"cases": 0}


def fingerprint(paths):
    """sha256, size, mtime of every file, and the listing of every dir."""
    out = {}
    for p in paths:
        p = Path(p)
        if p.is_symlink() or not p.exists():
            out[str(p)] = ("absent or link",)
        elif p.is_dir():
            out[str(p)] = tuple(sorted(os.listdir(p)))
            for q in sorted(p.rglob("*")):
                if q.is_file() and not q.is_symlink():
                    st = q.stat()
                    out[str(q)] = (hashlib.sha256(q.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
        elif p.is_file():
            st = p.stat()
            if st.st_size > 64 << 20:   # the sparse file: its size and mtime say enough
                out[str(p)] = (st.st_size, st.st_mtime_ns)
            else:
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
        else:
            st = p.lstat()
            out[str(p)] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return out


def case(name, argv, inputs, want_rc=(1, 2), must_say=(), as_user=None):
    """Run one tool on damaged input and check everything a case promises."""
    counts["cases"] += 1
    before = fingerprint(inputs)
    if as_user:
        pw = pwd.getpwnam(as_user)
        argv = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *argv]
    t0 = time.monotonic()
    try:
        p = subprocess.run([str(a) for a in argv], capture_output=True, timeout=TIME_LIMIT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: no answer within {TIME_LIMIT}s")
        return None
    took = time.monotonic() - t0
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    problems = []
    if p.returncode < 0:
        problems.append(f"killed by signal {-p.returncode}")
    if any(s in out for s in SANITIZER):
        problems.append("sanitizer report")
    if p.returncode not in want_rc:
        problems.append(f"exit {p.returncode}, want {want_rc}")
    for s in must_say:
        if str(s) not in out:
            problems.append(f"does not say {str(s)!r}")
    if fingerprint(inputs) != before:
        problems.append("the input changed")
    if problems:
        failures.append(f"{name}: {'; '.join(problems)}\n    {' '.join(map(str, argv))}\n    "
                        + "\n    ".join(out.strip().splitlines()[-6:]))
    return out, took


# --- WAL ---------------------------------------------------------------

def frames(data, padding=None):
    """Start offsets of the frames, and where the records end; the padding
    byte ranges go to `padding` when given."""
    starts, off = [], 0
    while off + 8 <= len(data):
        word = struct.unpack_from("<Q", data, off)[0]
        if word == 0:
            break
        size = word & ((1 << 56) - 1)
        pad = (word >> 56) & 7 if word >> 63 else 0
        starts.append(off)
        if padding is not None and pad:
            padding.append((off + 8 + size, off + 8 + size + pad))
        off += 8 + size + pad
    return starts, off


def wal_cases(dump_wal, fx, tmp, rnd):
    src = next((fx / "healthy" / "node1" / "member" / "wal").glob("*.wal"))
    data = src.read_bytes()
    padding = []
    starts, end = frames(data, padding)
    # the records and 64 KiB of the preallocated zeros: the same file as far
    # as any reader can tell, without writing 64 MB for every case
    data = data[:end + 65536]
    d = tmp / "wal"
    d.mkdir()
    seg = d / src.name

    def write(b):
        seg.write_bytes(b)

    # truncation on frame boundaries: the last whole frame ends there
    boundaries = starts[1:25] + [end]
    for cut in boundaries:
        write(data[:cut])
        case(f"wal cut at frame boundary {cut}", [dump_wal, "--verify", seg], [d],
             want_rc=(1,), must_say=[seg.name, f"offset {cut}", "truncated"])
    # truncation inside a frame: reported where the last whole frame ends
    for _ in range(16):
        i = rnd.randrange(1, len(starts))
        cut = rnd.randrange(starts[i - 1] + 1, starts[i])
        write(data[:cut])
        case(f"wal cut mid-frame at {cut}", [dump_wal, "--verify", seg], [d],
             want_rc=(1,), must_say=[seg.name, f"offset {starts[i - 1]}", "truncated"])
    # seeded byte flips inside the records: found at or before that frame.
    # Padding bytes are outside every record and its CRC, and etcd never
    # reads them: a flip there is harmless, so those positions are not drawn.
    for _ in range(24):
        pos = rnd.randrange(0, end)
        while any(a <= pos < b for a, b in padding):
            pos = rnd.randrange(0, end)
        b = bytearray(data)
        b[pos] ^= 1 << rnd.randrange(8)
        write(bytes(b))
        frame = max(s for s in starts if s <= pos)
        out = case(f"wal byte flip at {pos}", [dump_wal, "--verify", seg], [d], want_rc=(1,),
                   must_say=[seg.name])
        if out:
            offs = [int(w.split()[1].rstrip(":")) for w in out[0].splitlines()
                    if w.startswith("!! ") for w in [w[w.index("offset"):]] if "offset" in w]
            if not offs or min(offs) > frame:
                failures.append(f"wal byte flip at {pos}: first damage reported at {offs[:1]}, "
                                f"want at or before the frame at {frame}")
    # a zero-filled range in the middle of the records
    b = bytearray(data)
    z0, z1 = starts[100], starts[140]
    b[z0:z1] = bytes(z1 - z0)
    write(bytes(b))
    case("wal zeros in the middle", [dump_wal, "--verify", seg], [d], want_rc=(1,),
         must_say=[seg.name, f"offset {z0}"])
    # a length word claiming 2^56-1 bytes
    b = bytearray(data)
    struct.pack_into("<Q", b, starts[50], (1 << 56) - 1)
    write(bytes(b))
    case("wal length word of 2^56-1", [dump_wal, "--verify", seg], [d], want_rc=(1,),
         must_say=[seg.name, f"offset {starts[50]}"])
    # an empty segment
    write(b"")
    case("wal empty segment", [dump_wal, "--verify", seg], [d], want_rc=(1,), must_say=[seg.name])
    # a truncated gzip segment
    write(b"")
    seg.unlink()
    gz = d / (src.name + ".gz")
    packed = gzip.compress(data[:end + 4096])
    gz.write_bytes(packed[:len(packed) // 2])
    case("wal truncated .gz", [dump_wal, "--verify", gz], [d], want_rc=(1, 2), must_say=[gz.name])
    gz.unlink()
    # a directory without WAL segments
    case("wal dir without segments", [dump_wal, d], [d], want_rc=(2,), must_say=[d])
    # segments with a gap in their sequence
    seq = sorted((fx / "multiseg" / "node1" / "member" / "wal").glob("*.wal"))
    if len(seq) >= 3:
        g = tmp / "walgap"
        g.mkdir()
        for s in (seq[0], seq[2]):
            os.symlink(s, g / s.name)
        case("wal segment missing from the sequence", [dump_wal, "--verify", g], [g] + seq[:3:2],
             want_rc=(1,), must_say=["segment_gap"])


# --- bbolt -------------------------------------------------------------

def reachable(data):
    """Branch and leaf pages reachable from the newer meta (bbolt: meta
    root bucket @16+16, txid @16+48; a leaf element with flag 1 is a bucket
    whose value starts with its root page id, 0 for an inline bucket).
    Pages the last transactions freed are in the file but not in the tree;
    damage there changes nothing, so the cases damage reachable ones."""
    meta = max((0, 1), key=lambda m: struct.unpack_from("<Q", data, m * PAGE + 16 + 48)[0])
    todo = [struct.unpack_from("<Q", data, meta * PAGE + 16 + 16)[0]]
    leaves, branches = [], []
    while todo:
        pid = todo.pop()
        base = pid * PAGE
        _, flags, count, _ = struct.unpack_from("<QHHI", data, base)
        if flags == 1:
            branches.append(pid)
            todo += [struct.unpack_from("<Q", data, base + 16 + 16 * i + 8)[0] for i in range(count)]
        elif flags == 2:
            leaves.append(pid)
            for i in range(count):
                el = base + 16 + 16 * i
                eflags, pos, ksize, vsize = struct.unpack_from("<IIII", data, el)
                if eflags & 1:
                    root = struct.unpack_from("<Q", data, el + pos + ksize)[0]
                    if root:
                        todo.append(root)
    return sorted(leaves), sorted(branches)


def bolt_cases(dump_db, fx, tmp, rnd):
    src = fx / "healthy" / "node1" / "member" / "snap" / "db"
    data = src.read_bytes()
    d = tmp / "bolt"
    d.mkdir()
    db = d / "db"
    leaves, branches = reachable(data)
    assert branches and leaves, "the fixture db has branch and leaf pages"

    def damaged(name, b, must_say, cmds=("check", "status")):
        db.write_bytes(bytes(b))
        for cmd in cmds:
            case(f"db {name} ({cmd})", [dump_db, cmd, db], [d], want_rc=(1,),
                 must_say=[db.name, *must_say] if cmd == "check" else [db.name])

    n = len(data) // PAGE
    for k in range(2, n):   # every page boundary past the metas
        damaged(f"cut at page {k}", data[:k * PAGE], [f"page {k}"], cmds=("check",))
    for _ in range(8):
        cut = rnd.randrange(2 * PAGE + 1, len(data))
        if cut % PAGE == 0:
            cut += 1
        damaged(f"cut mid-page at {cut}", data[:cut], [f"page {cut // PAGE}"], cmds=("check",))
    for kind, victim in (("leaf", leaves[-1]), ("branch", branches[0])):
        b = bytearray(data)
        b[victim * PAGE:(victim + 1) * PAGE] = bytes(PAGE)
        damaged(f"zeroed {kind} page {victim}", b, [f"page {victim}"])
    br = branches[0]
    child_at = br * PAGE + 16 + 8   # first element's child page id
    for what, target, say in (("past EOF", n + 1000, n + 1000), ("at meta page 1", 1, br),
                              ("at itself (cycle)", br, br)):
        b = bytearray(data)
        struct.pack_into("<Q", b, child_at, target)
        damaged(f"branch {br} child {what}", b, [f"page {say}"])
    b = bytearray(data)
    struct.pack_into("<H", b, leaves[0] * PAGE + 10, 0xFFFF)
    damaged(f"leaf {leaves[0]} count 0xFFFF", b, [f"page {leaves[0]}"])
    b = bytearray(data)
    struct.pack_into("<I", b, leaves[0] * PAGE + 12, 0xFFFFFFFF)
    damaged(f"leaf {leaves[0]} overflow past EOF", b, [f"page {leaves[0]}"])
    # meta checksums: one bad falls back to the other (and says so); both bad
    metas = sorted((struct.unpack_from("<Q", data, m * PAGE + 16 + 48)[0], m) for m in (0, 1))
    newer = metas[-1][1]
    b = bytearray(data)
    b[newer * PAGE + 16 + 56] ^= 0xFF   # the checksum field
    db.write_bytes(bytes(b))
    out = case("db newer meta checksum bad", [dump_db, "check", db], [d], want_rc=(1,),
               must_say=[db.name, f"page {newer}"])
    case("db newer meta checksum bad: status still answers from the other",
         [dump_db, "status", db], [d], want_rc=(0, 1), must_say=["meta " + str(1 - newer) + " in use"])
    b[(1 - newer) * PAGE + 16 + 56] ^= 0xFF
    db.write_bytes(bytes(b))
    case("db both meta checksums bad", [dump_db, "status", db], [d], want_rc=(2,),
         must_say=[db.name, "no valid meta page"])
    db.write_bytes(b"")
    case("db empty file", [dump_db, "status", db], [d], want_rc=(2,), must_say=[db.name])
    db.write_bytes(rnd.randbytes(4096))
    case("db 4 KiB of random bytes", [dump_db, "status", db], [d], want_rc=(2,), must_say=[db.name])
    # diff-db with one replica damaged among good ones
    b = bytearray(data)
    b[leaves[-1] * PAGE:(leaves[-1] + 1) * PAGE] = bytes(PAGE)
    db.write_bytes(bytes(b))
    good = [fx / "healthy" / f"node{i}" / "member" / "snap" / "db" for i in (2, 3)]
    case("diff-db with a damaged replica", [os.environ["DIFF_DB"], f"bad={db}", *(f"n{i}={g}" for i, g in enumerate(good))],
         [d, *good], want_rc=(1, 2), must_say=[db.name])


# --- LMDB --------------------------------------------------------------

def lmdb_cases(dump_db, fx, tmp):
    bolt2lmdb = Path(os.environ["KVF_BUILD"]) / "tests" / "bolt2lmdb"
    env = tmp / "lmdb"
    subprocess.run([bolt2lmdb, fx / "healthy" / "node1" / "member" / "snap" / "db", env],
                   check=True, capture_output=True, timeout=60)
    (env / "lock.mdb").unlink()
    data = (env / "data.mdb").read_bytes()
    n = len(data) // PAGE
    (env / "data.mdb").write_bytes(data[:(n // 2) * PAGE])
    case("lmdb truncated data.mdb", [dump_db, "check", env], [env], want_rc=(1,), must_say=["data.mdb"])
    # the main database's root (MDB_meta: dbs[1] @88, its root @88+40;
    # txnid @144; the meta with the larger txnid is the one in use)
    meta = max((0, 1), key=lambda m: struct.unpack_from("<Q", data, m * PAGE + 144)[0])
    root = struct.unpack_from("<Q", data, meta * PAGE + 128)[0]
    b = bytearray(data)
    b[root * PAGE:(root + 1) * PAGE] = bytes(PAGE)
    (env / "data.mdb").write_bytes(bytes(b))
    case(f"lmdb zeroed root page {root}", [dump_db, "check", env], [env], want_rc=(1, 2),
         must_say=["data.mdb", f"page {root}"])
    b = bytearray(data)
    b[16:20] = b"\0\0\0\0"   # meta 0's magic
    b[PAGE + 16:PAGE + 20] = b"\0\0\0\0"
    (env / "data.mdb").write_bytes(bytes(b))
    case("lmdb both metas damaged", [dump_db, "status", env], [env], want_rc=(2,), must_say=["data.mdb"])


# --- the operating system's share --------------------------------------

def os_cases(tools, fx, tmp):
    dump_wal, dump_db, diff_db = tools
    missing = tmp / "no-such-dir"
    for t in tools:
        args = [t, missing] if t != dump_db else [t, "status", missing]
        if t == diff_db:
            args = [t, missing, fx / "healthy" / "node1"]
        case(f"{Path(t).name} on a missing path", args, [tmp], want_rc=(2,), must_say=[missing])
    fifo = tmp / "fifo.wal"
    os.mkfifo(fifo)
    case("dump-wal on a FIFO", [dump_wal, fifo], [tmp], want_rc=(2,), must_say=[fifo.name])
    case("dump-db on a FIFO", [dump_db, "status", fifo], [tmp], want_rc=(2,), must_say=[fifo.name])
    loop = tmp / "loop"
    os.symlink(loop, loop)
    case("dump-db on a symlink loop", [dump_db, "status", loop], [tmp], want_rc=(2,), must_say=[loop.name])
    case("dump-wal on a symlink loop", [dump_wal, loop], [tmp], want_rc=(2,), must_say=[loop.name])
    nodb = tmp / "datadir-without-db"
    (nodb / "member" / "snap").mkdir(parents=True)
    case("dump-db on a data dir without member/snap/db", [dump_db, "status", nodb], [nodb],
         want_rc=(2,), must_say=["member/snap/db"])
    sparse = tmp / "sparse" / "db"
    sparse.parent.mkdir()
    with open(sparse, "wb") as f:
        f.truncate(5 << 30)
    out = case("dump-db on a 5 GiB sparse file", [dump_db, "status", sparse], [sparse.parent],
               want_rc=(2,), must_say=[sparse.name])
    sparse.unlink()
    # permission denied: as root, drop to nobody so the mode bites
    private = tmp / "private"
    private.mkdir()
    seg = private / "0000000000000000-0000000000000000.wal"
    shutil.copyfile(next((fx / "healthy" / "node1" / "member" / "wal").glob("*.wal")), seg)
    os.chmod(seg, 0o600)
    os.chmod(private, 0o711)
    user = "nobody" if os.geteuid() == 0 else None
    if user is None:
        os.chmod(seg, 0)
    case("dump-wal permission denied", [dump_wal, "--verify", seg], [private], want_rc=(2,),
         must_say=[seg.name, "ermission denied"], as_user=user)
    os.chmod(seg, 0o600)
    # a read-only data dir is read like any other, and stays as it was
    ro = tmp / "readonly"
    shutil.copytree(fx / "healthy" / "node1", ro)
    for p in sorted(ro.rglob("*"), reverse=True):
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    os.chmod(ro, 0o555)
    for argv in ([dump_wal, "--verify", ro], [dump_db, "check", ro], [dump_db, "hashkv", ro]):
        case(f"{Path(argv[0]).name} {argv[1]} on a read-only data dir", argv, [ro], want_rc=(0,),
             as_user="nobody" if os.geteuid() == 0 else None)
    for p in [ro, *ro.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)


def main():
    dump_wal, dump_db, diff_db, fx = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    os.environ["DIFF_DB"] = diff_db
    rnd = random.Random(20261125)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kvf-hostile-") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)   # nobody must reach the cases that run as nobody
        wal_cases(dump_wal, fx, tmp, rnd)
        bolt_cases(dump_db, fx, tmp, rnd)
        lmdb_cases(dump_db, fx, tmp)
        os_cases((dump_wal, dump_db, diff_db), fx, tmp)
    print(f"{counts['cases']} cases in {time.monotonic() - t0:.1f}s, {len(failures)} failed")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
