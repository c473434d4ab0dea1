#!/usr/bin/env python3
"""Bad input for the three tools: damaged copies of real etcd files.

Every case damages a COPY of a fixture file in a temporary directory (the
fixtures are never touched), runs a tool on it and asserts:
  (a) it ends within 20 s, not by a signal, with no sanitizer report;
  (b) exit 1 (damage found) or 2 (could not run) as man/*.1 EXIT STATUS say;
      exit 0 only on the undamaged baselines (and a read-only copy); byte
      flips skip frame padding, which no CRC covers and etcd never reads;
  (c) the file is named, and for damage inside a file, the byte offset (WAL)
      or page id (db) that this test computed from the damage it made;
and that nothing the tool read changed: sha256, size and mtime of every input
file, the listing of every input directory (so no lock.mdb, no temp files).

Sampling, to stay under two minutes on two cores: WAL truncation at the first
40 frame boundaries and 40 mid-frame points; every page boundary and one
mid-page point per page of the 21-page bbolt db; 32 seeded byte flips.

usage: hostile.py DUMP_WAL DUMP_DB DIFF_DB FIXTURES_DIR   (env KVF_BUILD)
"""
import base64
import gzip
import hashlib
import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

DUMP_WAL, DUMP_DB, DIFF_DB, FX = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
BOLT2LMDB = str(Path(os.environ["KVF_BUILD"]) / "tests" / "bolt2lmdb")
WAL_FX = FX / "healthy/node1/member/wal/0000000000000000-0000000000000000.wal"
DB_FX = FX / "healthy/node1/member/snap/db"
SEG0 = WAL_FX.name
PS = 4096
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

failures = []
ncases = 0


def fail(case, what):
    failures.append(f"{case}: {what}")


# ---- immutability ----

def fingerprint(paths):
    """sha256, size, mtime of every file under paths; listing of every dir."""
    out = {}

    def file_fp(p):
        st = p.lstat()
        if not stat.S_ISREG(st.st_mode):
            return ("type", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
        h = hashlib.sha256()
        if st.st_size > (256 << 20):
            # the 5 GiB sparse file: hashing it all would take the whole budget;
            # its allocated blocks, first and last MiB stand for its bytes
            with open(p, "rb") as f:
                h.update(f.read(1 << 20))
                f.seek(st.st_size - (1 << 20))
                h.update(f.read(1 << 20))
            return (h.hexdigest(), st.st_size, st.st_mtime_ns, st.st_blocks)
        with open(p, "rb") as f:
            h.update(f.read())
        return (h.hexdigest(), st.st_size, st.st_mtime_ns)

    for p in map(Path, paths):
        if p.is_symlink() or not p.exists():
            out[str(p)] = ("absent-or-link", os.path.lexists(p))
        elif p.is_dir():
            for d, dirs, files in os.walk(p):
                out[d] = ("dir", sorted(dirs + files), os.stat(d).st_mtime_ns)
                for f in files:
                    fp = Path(d) / f
                    if fp.is_file() and not stat.S_ISFIFO(fp.lstat().st_mode):
                        out[str(fp)] = file_fp(fp)
        elif stat.S_ISFIFO(p.lstat().st_mode):
            out[str(p)] = ("fifo", p.lstat().st_mtime_ns)
        else:
            out[str(p)] = file_fp(p)
            out[str(p.parent)] = ("dir", sorted(os.listdir(p.parent)))
    return out


# ---- running a tool ----

def run(case, cmd, inputs, want, prefix=()):
    """Run cmd; check (a), (b) and immutability of inputs. want: allowed exit codes."""
    global ncases
    ncases += 1
    before = fingerprint(inputs)
    t0 = time.monotonic()
    try:
        p = subprocess.run([*prefix, *map(str, cmd)], capture_output=True, text=True,
                           errors="replace", timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        fail(case, f"did not end within 20 s: {cmd}")
        return None
    dt = time.monotonic() - t0
    if p.returncode < 0:
        fail(case, f"killed by signal {-p.returncode}: {cmd}\n{p.stderr[-2000:]}")
    if "AddressSanitizer" in p.stderr or "runtime error:" in p.stderr or "LeakSanitizer" in p.stderr:
        fail(case, f"sanitizer report: {p.stderr[-3000:]}")
    if p.returncode not in want:
        fail(case, f"exit {p.returncode}, want {sorted(want)}: {' '.join(map(str, cmd))}\n"
                   f"stderr: {p.stderr.strip()[-1500:]}\nstdout: {p.stdout.strip()[:800]}")
    after = fingerprint(inputs)
    if before != after:
        diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        fail(case, f"input changed: {diff}")
    p.elapsed = dt
    return p


def names(case, p, path):
    """(c): the file is named in stderr or stdout."""
    if p is not None and str(path) not in p.stderr and str(path) not in p.stdout \
            and Path(path).name not in p.stderr + p.stdout:
        fail(case, f"{path} not named: stderr {p.stderr.strip()[:500]!r}")


# ---- WAL ----

def wal_frames(data):
    """(offset, end, record_len) of every frame up to the zero length word."""
    frames, off = [], 0
    while off + 8 <= len(data):
        word = struct.unpack_from("<Q", data, off)[0]
        if word == 0:
            break
        n = word & ((1 << 56) - 1)
        pad = (word >> 56) & 0x7 if word >> 63 else 0
        end = off + 8 + n + pad
        frames.append((off, end, n))
        off = end
    return frames


def wal_run(case, d, want, segment=SEG0):
    p = run(case, [DUMP_WAL, "--verify", "-o", "json", "--no-snap", d], [d], want)
    if p is None:
        return None, []
    try:
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        fail(case, f"--verify -o json is not one JSON document: {p.stdout[:300]!r}")
        return p, []
    findings = doc.get("findings", [])
    if isinstance(findings, dict):  # summary-style counts; the list is damage_list
        findings = doc.get("damage_list", [])
    return p, findings


def wal_dir(tmp, name, data, seg=SEG0):
    d = tmp / name
    d.mkdir()
    (d / seg).write_bytes(data)
    return d


def wal_cases(tmp):
    full = WAL_FX.read_bytes()
    frames = wal_frames(full)
    rec_end = frames[-1][1]
    # the fixture's records plus 8 KiB of its zero preallocation: same records,
    # a shorter tail, so each case copies 50 KB and not 64 MB
    base = full[:rec_end + 8192]
    assert base[rec_end:] == bytes(8192)
    print(f"WAL: {len(frames)} frames, records end at {rec_end}")

    d = wal_dir(tmp, "wal-base", base)
    p, fs = wal_run("wal base", d, {0})
    if any(f.get("damage") for f in fs):
        fail("wal base", f"the shortened copy is not clean: {fs}")
    shutil.rmtree(d)

    def damage(fs):
        return [f for f in fs if f.get("damage")]

    # truncation at frame boundaries: the rest is a complete, crc-chained WAL,
    # but etcd preallocates the segment it writes and zero-fills it past the
    # records, so a last segment that ends right after a record is a copy cut
    # short: damage (truncated) at exactly the cut, and none before it.
    for i, (off, end, n) in enumerate(frames[:40]):
        case = f"wal truncated at frame boundary {off}"
        d = wal_dir(tmp, f"wal-tb{i}", base[:off])
        p, fs = wal_run(case, d, {1})
        if p:
            want = "empty_segment" if off == 0 else "truncated"
            if not [f for f in damage(fs) if f["finding"] == want and f["offset"] == off]:
                fail(case, f"no {want} at {off}: {fs}")
            bad = [f for f in damage(fs) if f["offset"] < off]
            if bad:
                fail(case, f"damage reported before the cut: {bad}")
        shutil.rmtree(d)
    # truncation mid-frame: the file ends inside a frame. A crash leaves the
    # preallocated zeros after a torn frame, never a short file, so this is a
    # copy cut short: truncated (damage, exit 1) where the last whole frame ends.
    rnd = random.Random(1)
    for i, (off, end, n) in enumerate(frames[:40]):
        cut = rnd.randrange(off + 1, end)
        case = f"wal truncated mid-frame at {cut} (frame {off})"
        d = wal_dir(tmp, f"wal-tm{i}", base[:cut])
        p, fs = wal_run(case, d, {1})
        if p:
            if not [f for f in damage(fs) if f["finding"] == "truncated" and f["offset"] == off]:
                fail(case, f"no truncated finding at {off}: {fs}")
            for f in fs:
                if f.get("segment") != SEG0:
                    fail(case, f"finding does not name {SEG0}: {f}")
        shutil.rmtree(d)

    # a state record's type byte turned into "metadata": the record's crc
    # covers only its data, so the chain still holds; only the comparison
    # with the first metadata record (etcd: ErrMetadataConflict) sees it.
    # walpb.Record: field 1 (type) is the first byte pair, 0x08 then the type.
    state_at = next(off for off, end, n in frames if base[off + 8:off + 10] == b"\x08\x03")
    data = bytearray(base)
    data[state_at + 9] = 1
    case = f"wal state record at {state_at} typed as metadata"
    d = wal_dir(tmp, "wal-mdconflict", bytes(data))
    p, fs = wal_run(case, d, {1})
    if p and not [f for f in damage(fs) if f["finding"] == "metadata_conflict"]:
        fail(case, f"no metadata_conflict: {fs}")
    shutil.rmtree(d)

    # the preallocated tail as a 5 GiB hole: read as zeros without reading
    # them (SEEK_DATA), well inside the time limit
    d = wal_dir(tmp, "wal-sparse", base)
    with open(d / SEG0, "r+b") as f:
        f.truncate(5 << 30)
    p, fs = wal_run("wal segment with a 5 GiB sparse tail", d, {0})
    if p and p.elapsed > 10:
        fail("wal segment with a 5 GiB sparse tail", f"took {p.elapsed:.1f}s: the hole was read")
    shutil.rmtree(d)

    # zero-filled range in the middle: etcd would read it as the end of the log
    mid = frames[len(frames) // 2]
    zlen = 4096
    data = bytearray(base)
    data[mid[0]:mid[0] + zlen] = bytes(zlen)
    case = f"wal zeroed {zlen} bytes at {mid[0]}"
    d = wal_dir(tmp, "wal-zero", bytes(data))
    p, fs = wal_run(case, d, {1})
    if p and not [f for f in damage(fs) if mid[0] <= f["offset"] <= mid[0] + zlen]:
        fail(case, f"no damage reported at {mid[0]}..{mid[0] + zlen}: {fs}")
    shutil.rmtree(d)

    # 32 seeded byte flips in length words and record bytes (not in padding:
    # etcd never reads padding and the crc does not cover it, so a flip there is
    # harmless and not detectable)
    rnd = random.Random(20261125)
    covered = [(off, off + 8 + n) for off, end, n in frames]
    for i in range(32):
        fo, fe = covered[rnd.randrange(len(covered))]
        pos = rnd.randrange(fo, fe)
        data = bytearray(base)
        data[pos] ^= 1 << rnd.randrange(8)
        case = f"wal byte flip at {pos} (frame {fo})"
        d = wal_dir(tmp, f"wal-flip{i}", bytes(data))
        p, fs = wal_run(case, d, {1})
        if p:
            dm = damage(fs)
            if not dm:
                fail(case, f"no damage reported: {fs}")
            elif dm[0]["offset"] > fo:
                fail(case, f"first damage at {dm[0]['offset']}, after the flipped frame {fo}: {dm[0]}")
            elif dm[0]["segment"] != SEG0:
                fail(case, f"segment not named: {dm[0]}")
        shutil.rmtree(d)

    # a length word claiming 2^56-1 bytes
    data = bytearray(base)
    struct.pack_into("<Q", data, mid[0], (1 << 56) - 1)
    case = f"wal length 2^56-1 at {mid[0]}"
    d = wal_dir(tmp, "wal-huge", bytes(data))
    p, fs = wal_run(case, d, {1})
    if p and not [f for f in damage(fs) if f["offset"] == mid[0]]:
        fail(case, f"no damage at {mid[0]}: {fs}")
    shutil.rmtree(d)

    # a 0-byte segment: nothing to read
    case = "wal 0-byte segment"
    d = wal_dir(tmp, "wal-empty", b"")
    p, fs = wal_run(case, d, {1, 2})
    if p:
        names(case, p, SEG0)
    shutil.rmtree(d)

    # a directory with no WAL in it
    case = "wal dir without segments"
    d = tmp / "wal-none"
    d.mkdir()
    (d / "README").write_text("no wal here\n")
    p = run(case, [DUMP_WAL, d], [d], {2})
    if p:
        names(case, p, d)
    shutil.rmtree(d)

    # gzip'd segment, the .gz cut (a partial upload) at several points: the
    # records before the cut are read, and the finding is damage at the
    # uncompressed offset where the last whole frame ends (zlib inflates a
    # cut stream deterministically: the test computes that offset itself)
    gz = gzip.compress(base)
    for frac in (2, 3, 5, 7):
        cut = len(gz) * (frac - 1) // frac
        inflated = zlib.decompressobj(31).decompress(gz[:cut])
        whole = [f for f in frames if f[1] <= len(inflated)]
        last_end = whole[-1][1] if whole else 0
        case = f"wal .gz truncated at {cut} of {len(gz)} ({len(inflated)} bytes inflated)"
        d = tmp / f"wal-gz{frac}"
        d.mkdir()
        (d / (SEG0 + ".gz")).write_bytes(gz[:cut])
        p, fs = wal_run(case, d, {1}, segment=SEG0 + ".gz")
        if p:
            names(case, p, SEG0 + ".gz")
            want_at = last_end if len(inflated) < rec_end else len(inflated)
            tr = [f for f in damage(fs) if f["finding"] == "truncated"]
            if len(tr) != 1 or tr[0]["offset"] != want_at:
                fail(case, f"want one truncated finding at {want_at}: {fs}")
            if [f for f in damage(fs) if f["finding"] != "truncated"]:
                fail(case, f"damage other than the cut: {fs}")
            lst = run(case + " (listing)", [DUMP_WAL, "-o", "json", "--records", "--no-snap", d], [d], {1})
            if lst:
                n = sum(1 for l in lst.stdout.splitlines() if l.startswith('{"record"'))
                if n != len(whole):
                    fail(case, f"{n} records listed, {len(whole)} whole frames before the cut")
        shutil.rmtree(d)


# ---- bbolt ----

def bolt_meta(data, i):
    m = data[i * PS + 16:i * PS + 16 + 64]
    magic, version, psz, flags, root, seq, freelist, pgid, txid, cksum = struct.unpack("<IIIIQQQQQQ", m)
    return {"root": root, "pgid": pgid, "txid": txid, "magic": magic}


def bolt_pages(data):
    """Reachable pages: {pgid: 'branch'|'leaf'} from the newer meta, walking
    buckets (nested roots) and branch children."""
    meta = max((bolt_meta(data, 0), bolt_meta(data, 1)), key=lambda m: m["txid"])
    kinds, todo = {}, [meta["root"]]
    while todo:
        pg = todo.pop()
        if pg in kinds:
            continue
        off = pg * PS
        _, flags, count, _ = struct.unpack_from("<QHHI", data, off)
        if flags & 0x01:
            kinds[pg] = "branch"
            for i in range(count):
                todo.append(struct.unpack_from("<IIQ", data, off + 16 + 16 * i)[2])
        elif flags & 0x02:
            kinds[pg] = "leaf"
            for i in range(count):
                eo = off + 16 + 16 * i
                fl, pos, ks, vs = struct.unpack_from("<IIII", data, eo)
                if fl & 1:
                    root = struct.unpack_from("<Q", data, eo + pos + ks)[0]
                    if root:
                        todo.append(root)
    return meta, kinds


def db_check(case, db, want, page_ids=None, inputs=None, prefix=()):
    """dump-db check -o json; page_ids: one of them must be named."""
    p = run(case, [DUMP_DB, "-o", "json", "check", db], inputs or [db], want, prefix)
    if p is None:
        return None, []
    names(case, p, db)
    fs = []
    if p.returncode in (0, 1):
        try:
            fs = json.loads(p.stdout)["findings"]
        except (json.JSONDecodeError, KeyError):
            fail(case, f"check -o json output: {p.stdout[:300]!r}")
    if page_ids is not None and p.returncode != 0:
        named = {f.get("page") for f in fs}
        named |= {f["offset"] // PS for f in fs if f.get("offset") is not None}
        if p.returncode == 2:
            # could not run: kvf_err "file: offset N: page P: message"
            named |= {int(w) for w in p.stderr.replace(":", " ").split() if w.isdigit()}
            named |= {int(w) // PS for w in p.stderr.replace(":", " ").split() if w.isdigit()}
        if not named & set(page_ids):
            fail(case, f"none of pages {sorted(page_ids)[:10]} named: {fs or p.stderr.strip()}")
    return p, fs


def bolt_cases(tmp):
    base = DB_FX.read_bytes()
    npages = len(base) // PS
    meta, kinds = bolt_pages(base)
    branches = sorted(pg for pg, k in kinds.items() if k == "branch")
    leaves = sorted(pg for pg, k in kinds.items() if k == "leaf")
    print(f"bbolt: {npages} pages, high water {meta['pgid']}, branch {branches}, leaf {leaves}")
    assert branches and leaves, "the fixture db has branch and leaf pages"

    def db_file(name, data):
        f = tmp / name
        f.write_bytes(data)
        return f

    p, fs = db_check("db base", db_file("db-base", base), {0})

    # truncation at each page boundary, and one point inside each page
    reach = sorted(kinds)
    rnd = random.Random(2)
    for pg in range(npages):
        for cut in (pg * PS, pg * PS + rnd.randrange(1, PS)):
            case = f"db truncated at {cut} (page {pg})"
            f = db_file(f"db-t{cut}", base[:cut])
            lost = [q for q in reach if q >= pg]
            if cut < 2 * PS:
                # the metas are gone or cut: not a bbolt file any more (or a
                # fallback to meta 0 that points at missing pages)
                p, _ = db_check(case, f, {1, 2})
            elif lost:
                p, _ = db_check(case, f, {1, 2}, page_ids=lost + [pg])
            else:
                # only pages nothing reaches are gone (free pages below the
                # high-water mark): no data is lost, but the file is shorter
                # than its meta says, which check must still report
                p, _ = db_check(case, f, {1}, page_ids=range(pg, max(meta["pgid"], pg + 1)))
            f.unlink()

    def patched(name, edits):
        data = bytearray(base)
        for off, b in edits:
            data[off:off + len(b)] = b
        return db_file(name, bytes(data))

    leaf, branch = leaves[-1], branches[0]
    f = patched("db-zleaf", [(leaf * PS, bytes(PS))])
    db_check(f"db zeroed leaf page {leaf}", f, {1}, page_ids=[leaf])
    f = patched("db-zbranch", [(branch * PS, bytes(PS))])
    db_check(f"db zeroed branch page {branch}", f, {1}, page_ids=[branch])

    el = branch * PS + 16 + 8  # first branch element's pgid
    for what, target, ok in (("past EOF", npages + 1000, [branch, npages + 1000]),
                             ("at meta 0", 0, [branch, 0]),
                             ("at meta 1", 1, [branch, 1]),
                             ("at itself (cycle)", branch, [branch])):
        f = patched(f"db-br{target}", [(el, struct.pack("<Q", target))])
        db_check(f"db branch {branch} child {what}", f, {1}, page_ids=ok)

    f = patched("db-count", [(leaf * PS + 10, struct.pack("<H", 0xFFFF))])
    db_check(f"db leaf {leaf} count 0xFFFF", f, {1}, page_ids=[leaf])
    f = patched("db-ovf", [(leaf * PS + 12, struct.pack("<I", npages))])
    db_check(f"db leaf {leaf} overflow {npages} past EOF", f, {1}, page_ids=[leaf])

    # one meta's checksum damaged: the newer one, so the reader must fall back
    newer = 0 if bolt_meta(base, 0)["txid"] > bolt_meta(base, 1)["txid"] else 1
    ck = newer * PS + 16 + 56
    f = patched("db-meta1", [(ck, bytes(b ^ 0xFF for b in base[ck:ck + 8]))])
    case = f"db meta {newer} checksum damaged"
    p, fs = db_check(case, f, {1}, page_ids=[newer])
    if p and p.returncode == 1 and not json.loads(p.stdout).get("meta_fallback"):
        fail(case, "check does not say it fell back to the other meta")
    # and still answers: status works from the older meta, and says so
    p = run(case + " (status)", [DUMP_DB, "-o", "json", "status", f], [f], {1})
    if p and p.returncode == 1:
        st = json.loads(p.stdout)
        if not st.get("meta_fallback") or st.get("meta_in_use") == newer:
            fail(case, f"status did not fall back: {st.get('meta_in_use')}, {st.get('meta_fallback')}")
        if "revision" not in st:
            fail(case, "status did not answer")
        names(case, p, f)
    old = 1 - newer
    ck2 = old * PS + 16 + 56
    f = patched("db-meta2", [(ck, bytes(b ^ 0xFF for b in base[ck:ck + 8])),
                             (ck2, bytes(b ^ 0xFF for b in base[ck2:ck2 + 8]))])
    db_check("db both meta checksums damaged", f, {2}, page_ids=[0, 1])

    db_check("db empty file", db_file("db-empty", b""), {2})
    db_check("db 4 KiB random", db_file("db-random", random.Random(3).randbytes(4096)), {2})


# ---- etcdctl snapshot files ----

SNAP_FX = FX / "evidence/snapshot/node1.snapshot.db"


def snapshot_cases(tmp):
    """A snapshot file (db + 32-byte SHA-256) truncated and with its digest or
    its db flipped: never a crash; what no longer matches is damage."""
    base = SNAP_FX.read_bytes()
    db_size = len(base) - 32
    npages = db_size // PS

    def f(name, data):
        p = tmp / name
        p.write_bytes(data)
        return p

    p, fs = db_check("snapshot base", f("snap-base", base), {0})
    # the digest cut away: what is left is an intact db (etcdutl would say
    # "snapshot missing hash"): that alone is no damage
    p, fs = db_check("snapshot without its digest", f("snap-nodigest", base[:db_size]), {0})
    # cut inside the digest, inside the last page, at page boundaries
    for cut in (db_size + 16, db_size - 100, (npages - 1) * PS, (npages // 2) * PS, 2 * PS + 32, 100):
        case = f"snapshot file truncated at {cut}"
        p, fs = db_check(case, f(f"snap-t{cut}", base[:cut]), {1, 2})
        if p and p.returncode == 1 and cut % 512 == 32 and not [x for x in fs if x["message"].startswith("sha256")]:
            fail(case, f"length % 512 == 32 again, but no sha256 finding: {fs}")
    # the digest flipped, one byte at either end and in the middle
    for at in (0, 15, 31):
        data = bytearray(base)
        data[db_size + at] ^= 0x40
        case = f"snapshot digest byte {at} flipped"
        p, fs = db_check(case, f(f"snap-d{at}", bytes(data)), {1})
        if p and not [x for x in fs if x["message"].startswith("sha256") and x["offset"] == db_size]:
            fail(case, f"no sha256 finding at {db_size}: {fs}")
        q = run(case + " (status)", [DUMP_DB, "-o", "json", "status", tmp / f"snap-d{at}"], [tmp / f"snap-d{at}"], {1})
        if q and q.returncode == 1 and json.loads(q.stdout).get("snapshot_file", {}).get("sha256_ok") is not False:
            fail(case, "status does not say the digest mismatches")
    # a byte of a db page flipped: the digest says so even where the page
    # structure does not
    meta, kinds = bolt_pages(base[:db_size])
    leaf = sorted(pg for pg, k in kinds.items() if k == "leaf")[-1]
    data = bytearray(base)
    data[leaf * PS + PS - 1] ^= 0x01
    case = f"snapshot file, last byte of leaf page {leaf} flipped"
    p, fs = db_check(case, f("snap-leafflip", bytes(data)), {1})
    if p and not [x for x in fs if x["message"].startswith("sha256")]:
        fail(case, f"no sha256 finding: {fs}")
    # given to dump-wal: refused, said what it is
    case = "snapshot file given to dump-wal"
    p = run(case, [DUMP_WAL, SNAP_FX], [SNAP_FX], {2})
    if p and "not an etcd WAL segment" not in p.stderr:
        fail(case, f"does not say it is not a WAL: {p.stderr.strip()}")


# ---- Kubernetes values with bad lengths ----

def varint_at(b, i):
    x = s = 0
    while True:
        c = b[i]
        x |= (c & 0x7F) << s
        s += 7
        i += 1
        if not c & 0x80:
            return x, i


def k8s_cases(tmp):
    """Protobuf Kubernetes values whose envelope lengths lie, in a copy of a
    real db (the value bytes changed in place: the page structure is intact,
    and bbolt has no checksum to see it) and in a copy of a real WAL (the
    record's crc sees it). The tools must not read past the value, must not
    claim an object they cannot decode, and must still show the rest."""
    src = FX / "evidence/copies/node3/member/snap/db"
    base = src.read_bytes()
    pairs = [json.loads(l) for l in subprocess.run(
        [DUMP_DB, "-o", "json", "dump", "key", src], capture_output=True, text=True, timeout=60).stdout.splitlines()]
    pods = [r for r in pairs if r.get("k8s", {}).get("encoding") == "protobuf" and r.get("value_offset")]
    assert pods, "protobuf values in the fixture"
    r = pods[len(pods) // 2]
    value = base64.b64decode(r["value"]["base64"]) if isinstance(r["value"], dict) else r["value"].encode("latin-1")
    # value_offset is the stored mvccpb.KeyValue's; the object is its value field
    voff = base.find(value, r["value_offset"])
    assert voff > 0 and base[voff:voff + len(value)] == value
    # the envelope: k8s\0, then typeMeta (field 1) and raw (field 2)
    tm_len, tm_at = varint_at(value, 5)
    raw_tag = 5 + (tm_at - 5) + tm_len
    raw_len, raw_at = varint_at(value, raw_tag + 1)
    edits = {
        "typeMeta length past the value": (5, bytes([0xff, 0xff, 0x03])[:tm_at - 5] if tm_at - 5 <= 3 else None),
        "raw length past the value": (raw_tag + 1, bytes([0xff] * (raw_at - raw_tag - 2) + [0x7f])),
        "raw length short by one": (raw_tag + 1, None),
        "envelope tag turned into a group": (4, b"\x0b"),
    }
    for ei, (what, (at, patch)) in enumerate(edits.items()):
        data = bytearray(base)
        v = bytearray(value)
        if what == "raw length short by one":
            # one byte less, padded with the varint's own continuation: same size
            n = raw_len - 1
            enc = bytearray()
            while True:
                b = n & 0x7F
                n >>= 7
                enc.append(b | (0x80 if n else 0))
                if not n:
                    break
            if len(enc) != raw_at - raw_tag - 1:
                continue
            patch = bytes(enc)
        if patch is None:
            continue
        v[at:at + len(patch)] = patch
        data[voff:voff + len(v)] = v
        d = tmp / f"k8s-{ei}"
        d.mkdir()
        (d / "db").write_bytes(bytes(data))
        case = f"k8s value of {r['key']}: {what}"
        p = run(case, [DUMP_DB, "-o", "json", "dump", "key", d / "db"], [d], {0})
        if p and p.returncode == 0:
            recs = [json.loads(l) for l in p.stdout.splitlines()]
            mine = [x for x in recs if x.get("value_offset") == r["value_offset"]]
            if len(recs) != len(pairs) or len(mine) != 1:
                fail(case, f"{len(recs)} revisions listed, want {len(pairs)}")
            elif mine[0].get("k8s", {}).get("name") == r["k8s"].get("name") and what != "raw length short by one":
                fail(case, f"still decodes the object as before: {mine[0].get('k8s')}")
        t = run(case + " (text keys)", [DUMP_DB, "keys", "--kind", "Pod", d / "db"], [d], {0})

    # the same value in a WAL segment: the crc mismatch is damage, the entry
    # is still listed, its value decoded as far as it goes
    seg = next((FX / "evidence/copies/node3/member/wal").glob("0*.wal"))
    wdata = seg.read_bytes()
    at = wdata.find(value)
    assert at > 0, "the value is in the WAL"
    frames = wal_frames(wdata)
    frame = next(fr for fr in frames if fr[0] <= at < fr[1])
    data = bytearray(wdata[:frames[-1][1] + 8192])
    data[at + raw_tag + 1:at + raw_tag + 1 + (raw_at - raw_tag - 1)] = \
        bytes([0xff] * (raw_at - raw_tag - 2) + [0x7f])
    d = wal_dir(tmp, "k8s-wal", bytes(data), seg.name)
    case = f"k8s value in WAL frame {frame[0]}: raw length past the value"
    p = run(case, [DUMP_WAL, "-o", "json", "--no-snap", d], [d], {1})
    if p and p.returncode == 1:
        recs = [json.loads(l) for l in p.stdout.splitlines()]
        bad = [x for x in recs if x.get("finding") == "crc_mismatch" and x["offset"] == frame[0]]
        ent = [x for x in recs if x.get("offset") == frame[0] and x.get("record") == "entry"]
        if not bad or not ent or ent[0].get("crc_check") != "mismatch":
            fail(case, f"no crc mismatch at {frame[0]}, or the entry is not listed: {bad} {ent[:1]}")
    run(case + " (text)", [DUMP_WAL, "--no-snap", "--kind", "Pod", d], [d], {1})
    shutil.rmtree(d)


def not_wal_cases(tmp):
    """What is not a WAL segment, given to dump-wal: exit 2, said so."""
    for what, path in (("bbolt db", DB_FX), ("empty-named text", None)):
        if path is None:
            path = tmp / "0000000000000000-0000000000000000.wal"
            path.write_bytes(b"#!/bin/sh\necho this is not a WAL\n" * 100)
        case = f"dump-wal on a {what}"
        p = run(case, [DUMP_WAL, path], [path], {2})
        if p:
            names(case, p, path)
            if "not an etcd WAL segment" not in p.stderr:
                fail(case, f"does not say it is not a WAL: {p.stderr.strip()}")


# ---- LMDB twin ----

def lmdb_cases(tmp):
    twin = tmp / "lmdb-base"
    subprocess.run([BOLT2LMDB, DB_FX, twin], check=True, capture_output=True, timeout=60)
    (twin / "lock.mdb").unlink()
    base = (twin / "data.mdb").read_bytes()
    shutil.rmtree(twin)

    def env(name, data):
        d = tmp / name
        d.mkdir()
        (d / "data.mdb").write_bytes(data)
        return d

    # MDB_meta after the 16-byte page header: magic, version, address, mapsize,
    # dbs[2] (48 bytes each: FREE_DBI, MAIN_DBI), last_pg, txnid
    def meta(i):
        o = i * PS + 16
        root = struct.unpack_from("<Q", base, o + 24 + 48 + 40)[0]
        txn = struct.unpack_from("<Q", base, o + 24 + 96 + 8)[0]
        return root, txn
    newer = 0 if meta(0)[1] > meta(1)[1] else 1
    main_root = meta(newer)[0]
    npages = len(base) // PS
    print(f"lmdb: {npages} pages, meta {newer} in use, main root {main_root}")

    d = env("lmdb-ok", base)
    db_check("lmdb base", d, {0}, inputs=[d])
    for cut in (PS * 2, PS * (npages // 2), len(base) - 100):
        d = env(f"lmdb-t{cut}", base[:cut])
        db_check(f"lmdb data.mdb truncated at {cut}", d, {1, 2}, inputs=[d])
    data = bytearray(base)
    data[main_root * PS:(main_root + 1) * PS] = bytes(PS)
    d = env("lmdb-zero", bytes(data))
    db_check(f"lmdb zeroed main root page {main_root}", d, {1, 2}, page_ids=[main_root], inputs=[d])
    data = bytearray(base)
    data[newer * PS + 16:newer * PS + 20] = b"\0\0\0\0"
    d = env("lmdb-meta", bytes(data))
    p, fs = db_check(f"lmdb meta {newer} magic damaged", d, {1, 2}, page_ids=[newer], inputs=[d])
    # meta 0 unreadable: still found to be LMDB by the meta on page 1, and read
    data = bytearray(base)
    data[16:20] = b"\0\0\0\0"
    d = env("lmdb-meta0", bytes(data))
    db_check("lmdb meta 0 magic damaged: detected by meta 1", d, {1}, page_ids=[0], inputs=[d])
    for d in tmp.glob("lmdb-*"):
        if (d / "lock.mdb").exists():
            fail("lmdb", f"{d}/lock.mdb created")


# ---- OS level ----

def os_cases(tmp):
    root = os.geteuid() == 0
    for tool, cmd in (("dump-db", [DUMP_DB, "check"]), ("dump-wal", [DUMP_WAL]),
                      ("diff-db", [DIFF_DB, DB_FX])):
        case = f"{tool} missing path"
        missing = tmp / "no-such-file"
        p = run(case, [*cmd, missing], [tmp], {2})
        if p:
            names(case, p, missing)

    # permission denied: a 0600 file read by someone else (root reads anything)
    os.chmod(tmp, 0o755)
    priv = tmp / "priv"
    priv.mkdir(mode=0o755)
    os.chmod(priv, 0o755)
    f = priv / "db"
    shutil.copyfile(DB_FX, f)
    os.chmod(f, 0o600)
    w = priv / "wal"
    w.mkdir(mode=0o755)
    os.chmod(w, 0o755)
    shutil.copyfile(WAL_FX, w / SEG0)
    os.chmod(w / SEG0, 0o600)
    prefix = AS_NOBODY if root else ()
    if not root:
        # our own 0600 file is readable to us: take the owner's bit away too
        os.chmod(f, 0)
        os.chmod(w / SEG0, 0)
    case = "dump-db permission denied" + (" (setpriv nobody)" if root else "")
    p, _ = db_check(case, f, {2}, inputs=[f], prefix=prefix)
    if p and "ermission" not in p.stderr:
        fail(case, f"does not say permission denied: {p.stderr.strip()}")
    case = "dump-wal permission denied" + (" (setpriv nobody)" if root else "")
    p = run(case, [DUMP_WAL, w], [w], {2}, prefix)
    if p:
        names(case, p, SEG0)
        if "ermission" not in p.stderr:
            fail(case, f"does not say permission denied: {p.stderr.strip()}")

    # a FIFO must not block (nobody writes to it)
    fifo = tmp / "fifo-db"
    os.mkfifo(fifo)
    db_check("dump-db on a FIFO", fifo, {2}, inputs=[fifo])
    fw = tmp / "fifo-wal"
    fw.mkdir()
    os.mkfifo(fw / SEG0)
    p = run("dump-wal on a FIFO segment", [DUMP_WAL, fw], [fw], {1, 2})
    if p:
        names("dump-wal on a FIFO segment", p, SEG0)

    # a symlink loop
    a, b = tmp / "loop-a", tmp / "loop-b"
    a.symlink_to(b)
    b.symlink_to(a)
    db_check("dump-db symlink loop", a, {2}, inputs=[a, b])
    p = run("dump-wal symlink loop", [DUMP_WAL, a], [a, b], {2})
    if p:
        names("dump-wal symlink loop", p, a)

    # a directory where a file is expected
    dd = tmp / "dir-db"
    dd.mkdir()
    db_check("dump-db on a directory without a db", dd, {2}, inputs=[dd])
    wd = tmp / "dir-wal"
    (wd / SEG0).mkdir(parents=True)
    p = run("dump-wal: a directory named like a segment", [DUMP_WAL, wd], [wd], {1, 2})
    if p:
        names("dump-wal: a directory named like a segment", p, SEG0)

    # a 5 GiB sparse file named db: all zeros, no meta
    sd = tmp / "sparse"
    sd.mkdir()
    big = sd / "db"
    with open(big, "wb") as fh:
        fh.truncate(5 << 30)
    p, _ = db_check("dump-db 5 GiB sparse db", big, {2})
    if p and p.elapsed > 5:
        fail("dump-db 5 GiB sparse db", f"took {p.elapsed:.1f} s")
    big.unlink()

    # a read-only directory: the reader must not need to create anything
    ro = tmp / "ro"
    ro.mkdir()
    shutil.copyfile(DB_FX, ro / "db")
    os.chmod(ro / "db", 0o444)
    os.chmod(ro, 0o555)
    case = "dump-db in a 0555 directory" + (" (setpriv nobody)" if root else "")
    db_check(case, ro / "db", {0}, inputs=[ro], prefix=prefix)
    subprocess.run([BOLT2LMDB, DB_FX, tmp / "ro-lmdb"], check=True, capture_output=True, timeout=60)
    (tmp / "ro-lmdb" / "lock.mdb").unlink()
    os.chmod(tmp / "ro-lmdb" / "data.mdb", 0o444)
    os.chmod(tmp / "ro-lmdb", 0o555)
    case = "dump-db LMDB in a 0555 directory" + (" (setpriv nobody)" if root else "")
    db_check(case, tmp / "ro-lmdb", {0}, inputs=[tmp / "ro-lmdb"], prefix=prefix)


# ---- diff-db with one damaged replica ----

def diff_cases(tmp):
    dbs = [FX / f"healthy/node{i}/member/snap/db" for i in (1, 2, 3)]
    d = tmp / "diff"
    d.mkdir()
    copies = []
    for i, db in enumerate(dbs, 1):
        c = d / f"node{i}.db"
        shutil.copyfile(db, c)
        copies.append(c)
    args = [f"node{i}={c}" for i, c in enumerate(copies, 1)]
    p = run("diff-db healthy copies", [DIFF_DB, *args], [d], {0})

    # node3 unreadable: both metas damaged
    data = bytearray(copies[2].read_bytes())
    for m in (0, 1):
        data[m * PS + 16:m * PS + 20] = b"\0\0\0\0"
    copies[2].write_bytes(bytes(data))
    case = "diff-db with node3 unreadable"
    p = run(case, [DIFF_DB, *args], [d], {2})
    if p:
        names(case, p, copies[2])
        if "node1" not in p.stdout or "node2" not in p.stdout:
            fail(case, f"no report on the readable members: {p.stdout[:500]!r}")
    # node3 readable but with a zeroed leaf page: the damage is found and named
    base = dbs[2].read_bytes()
    _, kinds = bolt_pages(base)
    leaf = max(pg for pg, k in kinds.items() if k == "leaf")
    data = bytearray(base)
    data[leaf * PS:(leaf + 1) * PS] = bytes(PS)
    copies[2].write_bytes(bytes(data))
    case = f"diff-db with node3 leaf {leaf} zeroed"
    p = run(case, [DIFF_DB, *args], [d], {1, 2})
    if p:
        names(case, p, copies[2])
        if f"page {leaf}" not in p.stderr + p.stdout and f"offset {leaf * PS}" not in p.stderr + p.stdout:
            fail(case, f"page {leaf} not named: {p.stderr.strip()[:500]}")


def version_cases(tmp):
    """What etcd 3.5+ added, damaged in real files of the etcd 3.6 fixture:
    meta/confState and meta/storageVersion edited in place (the db stays a
    valid bbolt file: a value etcd would refuse, shown as malformed or, for
    storageVersion, ignored as etcd ignores it), and a .snap file's v2 store
    JSON flipped (the CRC says so)."""
    node = FX / "etcd-3.6" / "node1" / "member"
    base = (node / "snap" / "db").read_bytes()
    # where each value lives in the file (the live page, not a freed copy)
    offs = {}
    p = subprocess.run([DUMP_DB, "-o", "json", "dump", "meta", node.parent], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        r = json.loads(line)
        offs[r["key"]] = r["value_offset"]
    for name, old, new, what in (
            ("confState", b'{"voters":[', b'{"voters":{', "malformed"),
            ("confState", b'"auto_leave":false}', b'"auto_leave":f4lse}', "malformed"),
            ("storageVersion", b"3.6.0", b"3.x.0", "storage_version_ignored")):
        at = base.find(old, offs.get(name, len(base)))
        if at < 0 or at > offs[name] + 4096:
            fail(f"version {name}", f"{old!r} not found in the fixture db's meta/{name}")
            continue
        db = tmp / f"v-{name}-{at}.db"
        db.write_bytes(base[:at] + new + base[at + len(old):])
        case = f"etcd 3.6 db, meta/{name} {old!r} -> {new!r}"
        p = run(case, [DUMP_DB, "-o", "json", "status", db], [db], {0, 1})
        if p and p.returncode in (0, 1):
            st = json.loads(p.stdout)
            if what == "malformed" and "confState" not in st.get("malformed", ""):
                fail(case, f"not reported malformed: {st.get('malformed')!r}")
            if what == "storage_version_ignored" and not (
                    st["schema"]["storage_version_ignored"] and st["schema"]["from"] == "term"):
                fail(case, f"etcd ignores a storageVersion that is no version: {st['schema']}")
        for cmd in (["status"], ["dump", "meta"], ["-o", "json", "dump", "meta"]):
            run(case + f" ({' '.join(cmd)})", [DUMP_DB, *cmd, db], [db], {0, 1})
    snaps = sorted((node / "snap").glob("*.snap"))
    data = snaps[-1].read_bytes()
    at = data.find(b'"Root"')
    for off in (at, at + 200, len(data) // 2):
        f = tmp / f"v-{off}.snap"
        b = bytearray(data)
        b[off] ^= 0x20
        f.write_bytes(bytes(b))
        case = f".snap v2 store byte {off} flipped"
        p = run(case, [DUMP_WAL, "-o", "json", "--snap", f], [f], {1, 2})
        names(case, p, f)


def main():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kvf-hostile-") as t:
        tmp = Path(t)
        fx_before = fingerprint([WAL_FX.parent, DB_FX])
        for part in (wal_cases, bolt_cases, snapshot_cases, k8s_cases, not_wal_cases, lmdb_cases, os_cases,
                     diff_cases, version_cases):
            t1 = time.monotonic()
            part(tmp)
            print(f"{part.__name__}: {time.monotonic() - t1:.1f} s")
        if fingerprint([WAL_FX.parent, DB_FX]) != fx_before:
            fail("fixtures", "a fixture changed")
        for root, dirs, files in os.walk(tmp):  # let TemporaryDirectory clean up
            os.chmod(root, 0o755)
    print(f"{ncases} cases in {time.monotonic() - t0:.1f} s, {len(failures)} failures")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
