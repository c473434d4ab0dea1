#!/usr/bin/env python3
"""dump-wal end to end, on the real fixtures: output shapes, filters, damage
reports, .snap files, exit codes. Each check states what etcd's data says."""
import json
import re
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD = Path(os.environ["KVF_BUILD"])
FX = Path(os.environ["KVF_FIXTURES"])
DUMP_WAL = str(BUILD / "dump-wal" / "dump-wal")
SEG0 = "0000000000000000-0000000000000000.wal"

failures = []


def run(*args, rc=None):
    p = subprocess.run([DUMP_WAL, *map(str, args)], capture_output=True, text=True, timeout=120)
    if rc is not None and p.returncode != rc:
        failures.append(f"dump-wal {' '.join(map(str, args))}: exit {p.returncode}, want {rc}\n"
                        f"stderr: {p.stderr.strip()}")
    return p


def check(cond, what):
    if not cond:
        failures.append(what)


def jsonl(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def entries(recs):
    return [r for r in recs if r.get("record") == "entry"]


# --- listing: JSON shape, per record segment and offset ---
recs = jsonl(run("-o", "json", FX / "healthy/node1", "--no-snap", rc=0))
check(all("segment" in r and "offset" in r for r in recs if "record" in r),
      "every JSON record carries segment and offset")
ents = entries(recs)
check(len(ents) == 393, f"healthy/node1 has 393 entries, got {len(ents)}")
put = next(e for e in ents if e["request"]["kind"] == "put")
check(put["request"]["header"]["username"] == "root" and put["request"]["header"]["auth_revision"] == 12,
      f"put header user/auth_revision: {put['request']['header']}")
check(isinstance(put["request"]["id"], str), "request ids are strings (beyond 2^53)")
check(put["keys"] == [put["request"]["put"]["key"]], "keys lists the put key")
check(all(not e["uncommitted"] and not e["overwritten"] for e in ents),
      "a cleanly stopped member has nothing uncommitted or overwritten")
auth = next(e for e in ents if e["request"]["kind"] == "authenticate")
check(auth["request"]["authenticate"].get("simple_token", {}).get("redacted_bytes", 0) > 0,
      "simple tokens are redacted by default")
recs2 = jsonl(run("-o", "json", "--show-secrets", "--kind", "authenticate", FX / "healthy/node1", rc=0))
check(isinstance(entries(recs2)[0]["request"]["authenticate"]["simple_token"], str),
      "--show-secrets shows the token")

# --- text: one line per entry, header user and auth revision shown ---
text = run(FX / "healthy/node1", "--no-snap", rc=0).stdout.splitlines()
line23 = next(l for l in text if l.split()[:1] == ["23"])
check(line23.split()[1] == "2" and "put" in line23 and "/registry/pods/default/web-0" in line23
      and "user=root" in line23 and "auth_rev=12" in line23, f"text line for entry 23: {line23!r}")
check(any("auth_user_add" in l and "user=alice" in l for l in text), "auth requests name the user")
check(any("auth_role_grant_permission" in l and "role=writer" in l and "perm=READWRITE" in l for l in text),
      "permission grants name role and permission")

# --- filters ---
def indexes(*args):
    return [e["index"] for e in entries(jsonl(run("-o", "json", "--no-snap", *args, FX / "healthy/node1", rc=0)))]

check(indexes("--index", "100:105") == list(range(100, 106)), "--index FROM:TO")
check(indexes("--index", "390:") == [390, 391, 392, 393], "--index FROM:")
kinds = {e["request"]["kind"] for e in entries(jsonl(run("-o", "json", "--kind", "auth_*,conf",
                                                          FX / "healthy/node1", rc=0)))}
check(kinds == {"auth_user_add", "auth_role_add", "auth_role_grant_permission", "auth_user_grant_role",
                "auth_enable", "conf_change"}, f"--kind auth_*,conf gave {kinds}")
probe = entries(jsonl(run("-o", "json", "--key-prefix", "/probe/via-node2/", FX / "healthy/node1", rc=0)))
check(len(probe) == 10 and all(e["keys"][0].startswith("/probe/via-node2/") for e in probe),
      f"--key-prefix: 10 writes through node2, got {len(probe)}")
deleted = entries(jsonl(run("-o", "json", "--key-prefix", "/registry/pods/default/web-65",
                            FX / "healthy/node1", rc=0)))
check(any(e["request"]["kind"] == "delete_range" for e in deleted),
      "--key-prefix includes a range delete that covers the prefix")
check(indexes("--user", "nobody") == [], "--user filters on the header username")
check(run("--kind", "pots", FX / "healthy/node1").returncode == 2, "unknown kind is a usage error")
check(run("--index", "9:3", FX / "healthy/node1").returncode == 2, "reversed --index is a usage error")

# --- summary ---
s = json.loads(run("--summary", "-o", "json", FX / "healthy/node1", rc=0).stdout)
ref = json.loads((FX / "healthy/truth/node1.refwal.json").read_text())
check(s["entries"] == ref["entry_count"] and s["first_index"] == 1 and s["last_index"] == 393,
      f"summary entries {s['entries']} {s['first_index']}..{s['last_index']}")
check(s["hardstate"]["commit"] == ref["hardstate"]["commit"], "summary hard state commit")
want_kinds = {("conf_change" if k.startswith("ConfChange") else k): v for k, v in ref["kind_counts"].items()}
# etcd 3.4's refdump says "v2" for every legacy request; we name the three
# etcd writes itself (v2_member_attributes, v2_cluster_version, v2_sync)
got_kinds = {}
for k, v in s["kinds"].items():
    got_kinds["v2" if k.startswith("v2_") else k] = got_kinds.get("v2" if k.startswith("v2_") else k, 0) + v
check(got_kinds == want_kinds, f"summary kinds {s['kinds']} != {want_kinds}")
# a 3-member 3.4 cluster's v2 requests: each member publishing its
# attributes, and the leader setting the cluster version
check(s["kinds"].get("v2_member_attributes") == 3 and s["kinds"].get("v2_cluster_version") == 1,
      f"the v2 requests of a 3-member etcd 3.4: {s['kinds']}")
for r in jsonl(run("-o", "json", "--kind", "v2", FX / "healthy/node1", rc=0)):
    if r.get("record") != "entry":
        continue
    v2, kind = r["request"]["v2"], r["request"]["kind"]
    want = ("v2_member_attributes" if v2.get("Method") == "PUT" and re.search(
                r"/0/members/[0-9a-fA-F]{1,16}/attributes", v2.get("Path", "")) else
            "v2_cluster_version" if (v2.get("Method"), v2.get("Path")) == ("PUT", "/0/version") else
            "v2_sync" if v2.get("Method") == "SYNC" else "v2")
    check(kind == want, f"entry {r['index']}: kind {kind} for {v2.get('Method')} {v2.get('Path')}")
check(s["damage"] == 0 and s["findings"] == {"zero_tail": 1}, f"summary findings {s['findings']}")

# --- damage ---
p = run("-o", "json", FX / "wal-damage/flipped", rc=1)
recs = jsonl(p)
mism = [r for r in recs if r.get("finding") == "crc_mismatch"]
check(len(mism) == 1 and mism[0]["segment"] == SEG0 and mism[0]["offset"] == 29936,
      f"flipped: crc mismatch reported at the frame holding byte 29984: {mism}")
after = [e["index"] for e in entries(recs) if e["offset"] > 29936]
check(len(after) >= 200 and after[-1] == 393, "entries after the damage are still listed")
p = run("--verify", FX / "wal-damage/flipped", rc=1)
check("offset 29936" in p.stdout and "crc_mismatch" in p.stdout, "--verify names segment and offset")
p = run("-o", "json", FX / "wal-damage/truncated", rc=1)
cut = [r for r in jsonl(p) if r.get("finding") == "truncated"]
check(len(cut) == 1 and cut[0]["offset"] == 35848 and cut[0]["damage"],
      f"truncated: cut short where the last whole frame ends (35848): {cut}")

# --- a metadata record that is not etcdserverpb.Metadata is shown raw ---
# (etcd's test kept only the first 72 bytes, not the preallocated zeros: a
# copy cut short on a frame boundary, exit 1)
recs = jsonl(run("-o", "json", FX / "peer-etcd/TestNew.wal", rc=1))
cut = [r for r in recs if r.get("finding") == "truncated"]
check(len(cut) == 1 and cut[0]["offset"] == 72, f"TestNew.wal: cut short after its last record (72): {cut}")
types = [r["record"] for r in recs if "record" in r]
check(types == ["crc", "metadata", "snapshot"], f"TestNew.wal records: {types}")
md = next(r for r in recs if r.get("record") == "metadata")
check(md.get("raw") == "somedata", f"raw metadata: {md}")
check(all(r["crc_check"] == "ok" for r in recs if "record" in r), "TestNew.wal chain is valid")

# --- .snap files ---
recs = jsonl(run("-o", "json", FX / "multiseg/node1", "--kind", "compaction", rc=0))
snaps = [r for r in recs if r.get("record") == "snap_file"]
check(len(snaps) == 14 and all(r["crc_check"] == "ok" and r["name_matches"] for r in snaps),
      f"multiseg: 14 .snap files with valid crc, got {len(snaps)}")
check(snaps[-1]["index"] == 70052 and snaps[-1]["term"] == 2, f"last snapshot {snaps[-1]}")
walsnaps = json.loads(run("--summary", "-o", "json", "--no-snap", FX / "multiseg/node1", rc=0).stdout)["snapshots"]
check({(s["index"], s["term"]) for s in snaps} <= {(w["index"], w["term"]) for w in walsnaps},
      "every .snap file has its snapshot record in the WAL")

with tempfile.TemporaryDirectory() as tmp:
    src = sorted((FX / "multiseg/node1/member/snap").glob("*.snap"))[0]
    bad = Path(tmp) / src.name
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0x5a
    bad.write_bytes(data)
    p = run("--snap", bad, rc=1)
    check("MISMATCH" in p.stdout, f"a damaged .snap file fails its crc: {p.stdout}")

    # --- could not run: exit 2 with the file named ---
    empty = Path(tmp) / "empty"
    empty.mkdir()
    p = run(empty, rc=2)
    check(str(empty) in p.stderr, f"an empty directory is named: {p.stderr}")
    p = run(Path(tmp) / "missing", rc=2)
    check("missing" in p.stderr, "a missing path is named")
    fifo = Path(tmp) / "fifo"
    os.mkfifo(fifo)
    p = run(fifo, rc=2)
    check("fifo" in p.stderr.lower(), f"a FIFO is refused without blocking: {p.stderr}")

p = run("--help", rc=0)
check("usage: dump-wal" in p.stdout, "--help prints usage")
p = run(rc=2)
check("--help" in p.stderr, "no PATH: usage error")

for f in failures:
    print("FAIL:", f)
print(f"dump-wal cli: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
