#!/usr/bin/env python3
"""Verdicts no fixed etcd can be made to produce, on PLANTED copies of real members.

The states below are what etcd bugs leave (13766, 18679, 11651 and the
like), but a fixed etcd cannot be driven into them, so they are planted: each
case copies a real member of a committed fixture into a temp dir (member/snap
copied, member/wal linked: nothing here writes a WAL), and changes exactly
one thing in the copy's db with tests/tools/plant (Go, bbolt: `plant list`
reads a bucket, `plant apply` runs the edits this script computes in one
bbolt transaction). Nothing else in the copy changes: the WAL, meta
(consistent_index, term) and every other bucket stay as etcd wrote them.
The fixtures' own members are checked unplanted first (clean), so each
verdict below is the planted defect's and nothing else's.

Where the expected answer comes from: the WAL index, kind and keys of each
entry from truth/nodeN.refwal.json (etcd's own wal package read the files),
the lease ids and txn branches from `dump-wal -o json` (the same entries,
checked against refwal), the revisions from the db itself through bbolt
(`plant list`), never from dump-db's or diff-db's output.

Cases (fixture `healthy`, etcd 3.4.23, unless said otherwise):
  1. delete_range: the tombstone of entry 305's delete (its revision in
     node1's db) removed and every later revision renumbered down by one
     (mod and create revisions with them; tombstones carry none), as 13766
     leaves a skipped entry -> dump-db verify: lost_writes, 1 missing, at
     that entry's WAL index.
  2. txn: the revision of the txn (entry 309) whose compare held on that
     state (success branch: two puts) replaced by the failure branch's put,
     same revision -> what verify's model says (see the case).
  3. leases: the lease entry 283 granted removed from bucket `lease`
     -> leases missing 1; on etcd-3.5 node1, the lease entry 118 revoked put
     back -> not revoked 1 (see the case for the verdict).
  4. partial txn (18679): the txn's revision (entry 309) with only its first
     sub-revision -> partial_txn at entry 309.
  5. diff-db: case 1's node1 with healthy's node2 and node3 (clean):
     lost_writes on node1 at entry 305 with the WALs; revision_shift on node1
     (down by 1, from that revision) with the db files alone.
  6. a value changed in place on node1 (same key, same revision, same
     length, one byte different): diff-db names it unexplained, with what
     it ruled out.
  7. authRevision raised by one on node1 (bucket auth, nothing else): the
     WAL holds no auth change to explain it -> diff-db names the
     divergence (no lag: every member is at the same index and revision)
     and the excess on node1.

usage: planted.py DUMP_WAL DUMP_DB DIFF_DB FIXTURES_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DUMP_WAL, DUMP_DB, DIFF_DB, FX = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
HERE = Path(__file__).resolve().parent
PLANT_SRC = HERE.parent / "tools" / "plant"
failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return ok


known = []


def known_wrong(ok, what):
    """A right answer the tools do not give yet (the report and the commit
    say why): printed as KNOWN, and a failure the day it holds, so that this
    line is turned into a check()."""
    global checks
    checks += 1
    if ok:
        failures.append(f"{what}: holds now; make it a check()")
    else:
        known.append(what)
        print("KNOWN:", what, flush=True)


# ---- the plant tool ----

def skip(why):
    """In CI a check that cannot run fails; elsewhere it is skipped, said."""
    if os.environ.get("CI") == "true":
        print("FAIL (CI=true):", why)
        sys.exit(1)
    print("SKIP:", why)
    sys.exit(77)


def build_plant(tmp):
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        skip("no Go toolchain to build tests/tools/plant")
    exe = tmp / "plant"
    env = dict(os.environ, GOFLAGS="-mod=mod")
    p = subprocess.run([go, "build", "-o", str(exe), "."], cwd=PLANT_SRC, env=env, capture_output=True,
                       text=True, timeout=600)
    if p.returncode:
        skip("tests/tools/plant does not build here (bbolt module not in the cache or proxy): " +
             p.stderr.strip()[-300:])
    return exe


def bucket(db, name):
    """[(key bytes, value bytes)] of bucket name, read by bbolt."""
    p = subprocess.run([str(PLANT), "list", str(db), name], capture_output=True, text=True, check=True)
    return [tuple(bytes.fromhex(x) for x in line.split()) for line in p.stdout.splitlines() if line]


def apply(db, edits):
    lines = []
    for e in edits:
        if e[0] == "put":
            lines.append(f"put {e[1]} {e[2].hex()} {e[3].hex()}")
        else:
            lines.append(f"del {e[1]} {e[2].hex()}")
    p = subprocess.run([str(PLANT), "apply", str(db)], input="\n".join(lines) + "\n", capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"plant apply {db}: {p.stderr.strip()}")


# ---- mvccpb.KeyValue and revision keys, as etcd writes them ----

def uvarint(b, i):
    x = s = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return x, i


def enc_uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


KV_FIELDS = {1: "key", 2: "create", 3: "mod", 4: "version", 5: "value", 6: "lease"}


def kv_parse(b):
    out = {"key": b"", "create": 0, "mod": 0, "version": 0, "value": b"", "lease": 0}
    i = 0
    while i < len(b):
        t, i = uvarint(b, i)
        f, w = t >> 3, t & 7
        if w == 0:
            v, i = uvarint(b, i)
        elif w == 2:
            n, i = uvarint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError(f"wire type {w}")
        out[KV_FIELDS[f]] = v
    return out


def kv_marshal(x):
    """gogo/protobuf's field order and zero omission, as etcd marshals a KeyValue."""
    out = b""
    for f, name in KV_FIELDS.items():
        v = x[name]
        if isinstance(v, bytes):
            if v:
                out += enc_uvarint(f << 3 | 2) + enc_uvarint(len(v)) + v
        elif v:
            out += enc_uvarint(f << 3) + enc_uvarint(v)
    return out


def revkey(main, sub, tomb=False):
    return main.to_bytes(8, "big") + b"_" + sub.to_bytes(8, "big") + (b"t" if tomb else b"")


def revisions(db):
    """[(main, sub, tomb, kv dict)] of bucket key, in order."""
    out = []
    for k, v in bucket(db, "key"):
        out.append((int.from_bytes(k[:8], "big"), int.from_bytes(k[9:17], "big"), len(k) == 18, kv_parse(v)))
    return out


# ---- inputs ----

def refwal(fixture, node):
    return {e["index"]: e for e in json.loads((FX / fixture / "truth" / f"{node}.refwal.json").read_text())["entries"]}


def wal_entry(member, index):
    p = subprocess.run([DUMP_WAL, "-o", "json", "--no-snap", "--index", f"{index}:{index}", str(member)],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r.get("record") == "entry" and r["index"] == index:
            return r
    raise SystemExit(f"{member}: no WAL entry {index}")


def copy_member(src, dst):
    """member/snap copied (the db is what gets planted), member/wal linked."""
    (dst / "member").mkdir(parents=True)
    shutil.copytree(src / "member" / "snap", dst / "member" / "snap")
    os.symlink((src / "member" / "wal").resolve(), dst / "member" / "wal")
    return dst


def db_of(member):
    return member / "member" / "snap" / "db"


def verify(member):
    p = subprocess.run([DUMP_DB, "-o", "json", "verify", str(member)], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"dump-db verify {member}: exit {p.returncode}: {p.stderr.strip()}")
    return p.returncode, json.loads(p.stdout)


def diff(*paths):
    p = subprocess.run([DIFF_DB, "-o", "json"] + [str(x) for x in paths], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"diff-db {paths}: exit {p.returncode}: {p.stderr.strip()}")
    return p.returncode, json.loads(p.stdout)


def divergent(doc):
    return [v for v in doc.get("verdicts", []) if v.get("divergence")]


def kinds(doc):
    return sorted({v["kind"] for v in divergent(doc)})


def clean(what, member):
    rc, doc = verify(member)
    c = doc["checked"]
    check(rc == 0 and not kinds(doc) and c["aligned"] and c["missing"] == 0 and c["partial_txns"] == 0 and
          c["leases"]["missing"] == 0 and c["leases"]["not_revoked"] == 0,
          f"{what}: unplanted {member.name} is not clean: exit {rc}, {kinds(doc)}, {c}")
    return doc


def drop_revision(db, rev):
    """Remove main revision rev and renumber every later one down by one: a
    KeyValue's mod_revision with its key, its create_revision when above rev
    (a tombstone carries neither)."""
    edits = []
    later = []
    for main, sub, tomb, x in revisions(db):
        if main < rev:
            continue
        edits.append(("del", "key", revkey(main, sub, tomb)))
        if main > rev:
            later.append((main, sub, tomb, x))
    for main, sub, tomb, x in later:
        y = dict(x)
        if y["mod"]:
            y["mod"] -= 1
        if y["create"] > rev:
            y["create"] -= 1
        edits.append(("put", "key", revkey(main - 1, sub, tomb), kv_marshal(y)))
    apply(db, edits)
    return len(later)


def main_of(db, pred):
    """The main revisions of bucket key with a sub-revision pred holds for."""
    return sorted({m for m, s, t, x in revisions(db) if pred(s, t, x)})


# ---- the cases ----

def case_delete_range(tmp):
    """1: a delete_range's tombstone removed, later revisions renumbered down."""
    ref = refwal("healthy", "node1")
    dels = [e for e in ref.values() if e["kind"] == "delete_range" and e["keys"] == ["/registry/pods/default/web-7"]]
    check(len(dels) == 1, f"healthy node1: refwal has {len(dels)} delete_range of web-7")
    idx = dels[0]["index"]
    m = copy_member(FX / "healthy" / "node1", tmp / "c1" / "node1")
    revs = main_of(db_of(m), lambda s, t, x: t and x["key"] == b"/registry/pods/default/web-7")
    check(len(revs) == 1, f"healthy node1: tombstones of web-7 at {revs}")
    rev = revs[0]
    n = drop_revision(db_of(m), rev)
    print(f"case 1: entry {idx} (delete_range web-7) was revision {rev}: removed, {n} later pairs renumbered")
    rc, doc = verify(m)
    c = doc["checked"]
    lw = [v for v in divergent(doc) if v["kind"] == "lost_writes"]
    check(kinds(doc) == ["lost_writes"] and rc == 1, f"case 1: verify names {kinds(doc)}, exit {rc}")
    check(c["missing"] == 1, f"case 1: {c['missing']} missing, 1 planted")
    check(lw and lw[0].get("first_divergent_index") == idx,
          f"case 1: lost_writes at {lw and lw[0].get('first_divergent_index')}, the delete is entry {idx}")
    return m, idx, rev


def txn_309(tmp, sub):
    """The txn of entry 309, its revision in a fresh copy of node1 (sub: the
    copy's dir name), and which branch its compare took on that state."""
    ref = refwal("healthy", "node1")
    e = ref[309]
    check(e["kind"] == "txn", f"healthy node1: entry 309 is {e['kind']}")
    w = wal_entry(FX / "healthy" / "node1", 309)
    t = w["request"]["txn"]
    check(w["request"]["kind"] == "txn" and len(t["compare"]) == 1 and t["compare"][0]["target"] == "VALUE",
          f"healthy node1 entry 309: {t}")
    m = copy_member(FX / "healthy" / "node1", tmp / sub / "node1")
    db = db_of(m)
    succ = [op["request_put"] for op in t["success"]]
    fail = [op["request_put"] for op in t["failure"]]
    # the compare (value of dep-1 equal) on the state before: the newest
    # revision of dep-1 below the txn's
    cmp_key = t["compare"][0]["key"].encode()
    revs = revisions(db)
    at = main_of(db, lambda s, tb, x: x["key"] == succ[1]["key"].encode())
    check(len(at) == 1, f"healthy node1: {succ[1]['key']} at {at}")
    rev = at[0]
    before = [x for mm, s, tb, x in revs if mm < rev and x["key"] == cmp_key]
    took_success = bool(before) and before[-1]["value"] == t["compare"][0]["value"].encode()
    group = [(s, tb, x) for mm, s, tb, x in revs if mm == rev]
    return m, db, rev, group, succ, fail, took_success


def case_txn_branch(tmp):
    """2: the txn's revision holds the other branch's writes."""
    m, db, rev, group, succ, fail, took = txn_309(tmp, "c2")
    check(took and [x["key"].decode() for s, tb, x in group] == [p["key"] for p in succ],
          f"case 2: the txn's revision {rev} holds {group}, success branch {succ}")
    edits = [("del", "key", revkey(rev, s, tb)) for s, tb, x in group]
    other = fail[0]
    edits.append(("put", "key", revkey(rev, 0), kv_marshal({"key": other["key"].encode(), "create": rev, "mod": rev,
                                                              "version": 1, "value": other["value"].encode(),
                                                              "lease": 0})))
    apply(db, edits)
    rc, doc = verify(m)
    c = doc["checked"]
    # verify's model: the entry's effect (computed on the db's own state, so
    # the success branch) is not at the revision counted for it, and the
    # next entry's writes follow at the next revision: that revision holds
    # other writes than entry 309's (altered), nothing lost, and no known
    # bug writes it (unexplained). Every later write is still in place.
    ux = [v for v in divergent(doc) if v["kind"] == "unexplained"]
    check(rc == 1 and kinds(doc) == ["unexplained"], f"case 2: verify names {kinds(doc)}, exit {rc}")
    check(ux and ux[0].get("first_divergent_index") == 309 and doc["altered"] and doc["altered"][0]["index"] == 309
          and doc["altered"][0]["revision"] == rev, f"case 2: altered {doc.get('altered')}, the txn is entry 309 "
          f"at revision {rev}")
    check(c["altered"] == 1 and c["missing"] == 0 and c["unexplained_revisions"] == 0 and c["partial_txns"] == 0,
          f"case 2: one revision planted: {c}")
    print(f"case 2: txn 309 at revision {rev}: success branch replaced by {other['key']}: verify {kinds(doc)}, "
          f"{c['missing']} missing, {c['unexplained_revisions']} revisions unexplained")
    return doc


def case_partial(tmp):
    """4: the txn's revision with only its first sub-revision."""
    m, db, rev, group, succ, fail, took = txn_309(tmp, "c4")
    check(took and len(group) == 2, f"case 4: the txn's revision {rev} holds {group}")
    apply(db, [("del", "key", revkey(rev, s, tb)) for s, tb, x in group[1:]])
    rc, doc = verify(m)
    c = doc["checked"]
    pt = [v for v in divergent(doc) if v["kind"] == "partial_txn"]
    check(rc == 1 and kinds(doc) == ["partial_txn"], f"case 4: verify names {kinds(doc)}, exit {rc}")
    check(c["partial_txns"] == 1 and c["missing"] == 0, f"case 4: {c['partial_txns']} partial, {c['missing']} missing")
    check(pt and pt[0].get("first_divergent_index") == 309,
          f"case 4: partial_txn at {pt and pt[0].get('first_divergent_index')}, the txn is entry 309")
    print(f"case 4: txn 309 at revision {rev}: sub-revisions 1.. removed: verify {kinds(doc)}")
    return doc


def case_leases(tmp):
    """3: a granted lease gone from bucket lease; a revoked one put back."""
    w = wal_entry(FX / "healthy" / "node1", 283)
    check(refwal("healthy", "node1")[283]["kind"] == "lease_grant" and w["request"]["kind"] == "lease_grant",
          f"healthy node1: entry 283 {w['request']['kind']}")
    lid = int(w["request"]["lease_grant"]["ID"])
    m = copy_member(FX / "healthy" / "node1", tmp / "c3" / "node1")
    apply(db_of(m), [("del", "lease", lid.to_bytes(8, "big"))])
    rc, doc = verify(m)
    ls = doc["checked"]["leases"]
    check(ls["missing"] == 1 and ls["not_revoked"] == 0, f"case 3: lease {lid:x} removed: leases {ls}")
    # a grant below consistent_index with no lease: a lost write
    lw = [v for v in divergent(doc) if v["kind"] == "lost_writes"]
    check(rc == 1 and kinds(doc) == ["lost_writes"] and lw[0].get("first_divergent_index") == 283,
          f"case 3: a lease grant lost below consistent_index: verify names {kinds(doc)}, exit {rc}")
    print(f"case 3: lease {lid:x} (entry 283) removed: leases {ls}, verdicts {kinds(doc)}, exit {rc}")
    w = wal_entry(FX / "etcd-3.5" / "node1", 118)
    check(refwal("etcd-3.5", "node1")[118]["kind"] == "lease_revoke" and w["request"]["kind"] == "lease_revoke",
          f"etcd-3.5 node1: entry 118 {w['request']['kind']}")
    lid = int(w["request"]["lease_revoke"]["ID"])
    m = copy_member(FX / "etcd-3.5" / "node1", tmp / "c3" / "e35-node1")
    # leasepb.Lease{ID: 1, TTL: 2}: what lessor.Grant persisted for it
    ttl = 4
    apply(db_of(m), [("put", "lease", lid.to_bytes(8, "big"), enc_uvarint(8) + enc_uvarint(lid) + enc_uvarint(16) + enc_uvarint(ttl))])
    rc, doc = verify(m)
    ls = doc["checked"]["leases"]
    check(ls["not_revoked"] == 1 and ls["missing"] == 0, f"case 3: lease {lid:x} put back: leases {ls}")
    lw = [v for v in divergent(doc) if v["kind"] == "lost_writes"]
    check(rc == 1 and kinds(doc) == ["lost_writes"] and lw[0].get("first_divergent_index") == 118,
          f"case 3: a revoke below consistent_index whose lease stays: verify names {kinds(doc)}, exit {rc}")
    print(f"case 3: lease {lid:x} (revoked by entry 118) put back: leases {ls}, verdicts {kinds(doc)}, exit {rc}")


def peers(tmp, sub):
    return [copy_member(FX / "healthy" / n, tmp / sub / n) for n in ("node2", "node3")]


def case_diff_shift(tmp, c1):
    """5: case 1's member beside two clean peers."""
    m, idx, rev = c1
    p2, p3 = peers(tmp, "c1")
    rc, doc = diff(m, p2, p3)
    dv = [(v["kind"], v.get("member"), v.get("first_divergent_index")) for v in divergent(doc)]
    # with the WALs: node1's own check finds the entry it lost, which
    # explains its shift; the clean peers are named for nothing
    check(rc == 1 and dv == [("lost_writes", "node1", idx)],
          f"case 5: diff-db with WALs names {dv}, planted: lost_writes on node1 at entry {idx}")
    # the db files alone: nothing to trace, a constant offset from the
    # revision removed
    rc, doc = diff("node1=" + str(db_of(m)), "node2=" + str(db_of(p2)), "node3=" + str(db_of(p3)))
    dv = divergent(doc)
    check(rc == 1 and [(v["kind"], v.get("member")) for v in dv] == [("revision_shift", "node1")],
          f"case 5: diff-db on the db files names {[(v['kind'], v.get('member')) for v in dv]}, planted: "
          f"revision_shift on node1")
    check(dv and f"shift down by 1 against node2's from revision {rev}:" in dv[0]["headline"],
          f"case 5: revision_shift says {dv and dv[0]['headline']}, planted: down by 1 from {rev}")
    print(f"case 5: diff-db: lost_writes on node1 at entry {idx} (WALs), revision_shift down 1 from {rev} (dbs)")


def case_value(tmp):
    """6: one byte of a value changed in place on node1."""
    m = copy_member(FX / "healthy" / "node1", tmp / "c6" / "node1")
    db = db_of(m)
    key = b"/probe/via-node1/05"
    hits = [(mm, s, tb, x) for mm, s, tb, x in revisions(db) if x["key"] == key]
    check(len(hits) == 1, f"case 6: {key} at {hits}")
    mm, s, tb, x = hits[0]
    puts = [e["index"] for e in refwal("healthy", "node1").values() if e.get("keys") == [key.decode()]]
    check(len(puts) == 1, f"case 6: refwal's writes of {key}: {puts}")
    y = dict(x)
    v = bytearray(y["value"])
    v[-1] ^= 1
    y["value"] = bytes(v)
    apply(db, [("put", "key", revkey(mm, s, tb), kv_marshal(y))])
    p2, p3 = peers(tmp, "c6")
    rc, doc = diff(m, p2, p3)
    dv = [(v["kind"], v.get("member")) for v in divergent(doc)]
    print(f"case 6: {key} (entry {puts[0]}, revision {mm}) one byte changed: diff-db names {dv}, "
          f"ruled out {len(doc.get('ruled_out', []))}")
    # no revision lost, none repeated: nothing in the model explains it;
    # node1's own WAL check finds entry 323's revision holding another value
    check(rc == 1 and dv == [("unexplained", "node1")],
          f"case 6: diff-db names {dv}; planted: a value changed in place, which no known cause explains")
    ux = [v for v in divergent(doc) if v["kind"] == "unexplained"]
    check(ux and ux[0].get("first_divergent_index") == puts[0],
          f"case 6: unexplained from WAL index {ux and ux[0].get('first_divergent_index')}, the put is entry {puts[0]}")
    check(len(doc.get("ruled_out", [])) > 0, f"case 6: unexplained with nothing ruled out")


def case_auth(tmp):
    """7: authRevision + 1 on node1, no auth change in the WAL for it."""
    m = copy_member(FX / "healthy" / "node1", tmp / "c7" / "node1")
    db = db_of(m)
    ar = int.from_bytes(dict(bucket(db, "auth"))[b"authRevision"], "big")
    ref = refwal("healthy", "node1")
    # etcd's auth store starts at authRevision 1 and every request that
    # calls commitRevision adds one (auth/store.go: user and role edits,
    # AuthDisable; not AuthEnable, Authenticate, AuthStatus)
    bumps = ("auth_disable", "auth_user_add", "auth_user_delete", "auth_user_change_password", "auth_user_grant_role",
             "auth_user_revoke_role", "auth_role_add", "auth_role_delete", "auth_role_grant_permission",
             "auth_role_revoke_permission")
    muts = [e for e in ref.values() if e["kind"] in bumps]
    check(ar == 1 + len(muts), f"healthy node1: authRevision {ar}, the WAL's {len(muts)} auth changes")
    apply(db, [("put", "auth", b"authRevision", (ar + 1).to_bytes(8, "big"))])
    p2, p3 = peers(tmp, "c7")
    rc, doc = diff(m, p2, p3)
    dv = divergent(doc)
    named = {e.get("member") for v in dv for e in v.get("evidence", []) if f"authRevision {ar + 1} exceeds" in e["text"]}
    print(f"case 7: node1 authRevision {ar} -> {ar + 1}: diff-db names {[(v['kind'], v.get('member')) for v in dv]}, "
          f"exit {rc}, the excess on {sorted(x for x in named if x)}")
    check(rc == 1 and dv, f"case 7: diff-db exit {rc}, {[(v['kind'], v.get('member')) for v in doc['verdicts']]}: "
          f"an authRevision no auth change explains is no lag")
    check(named == {"node1"}, f"case 7: the excess authRevision named on {named}, planted on node1")
    check(not any(v["kind"] == "lag" for v in doc["verdicts"]), f"case 7: lag named at the same index and revision")


def run_case(name, fn, *a):
    try:
        return fn(*a)
    except Exception as e:   # one case's trouble must not hide the others'
        check(False, f"{name}: {type(e).__name__}: {e}")
        return None


tmpd = Path(tempfile.mkdtemp(prefix="kvf-planted-"))
try:
    PLANT = build_plant(tmpd)
    for node in ("node1", "node2", "node3"):
        clean("healthy", FX / "healthy" / node)
    clean("etcd-3.5", FX / "etcd-3.5" / "node1")
    c1 = run_case("case 1", case_delete_range, tmpd)
    run_case("case 2", case_txn_branch, tmpd)
    run_case("case 3", case_leases, tmpd)
    run_case("case 4", case_partial, tmpd)
    if c1:
        run_case("case 5", case_diff_shift, tmpd, c1)
    run_case("case 6", case_value, tmpd)
    run_case("case 7", case_auth, tmpd)
finally:
    if not os.environ.get("KVF_KEEP"):
        shutil.rmtree(tmpd, ignore_errors=True)
    else:
        print("kept", tmpd)

for f in failures:
    print("FAIL:", f)
print(f"{checks} checks; {len(failures)} failures; {len(known)} known wrong answers (KNOWN above)")
sys.exit(1 if failures else 0)
