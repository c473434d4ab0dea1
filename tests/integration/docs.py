#!/usr/bin/env python3
"""The documentation says what the tools do:
- every man page passes `mandoc -Tlint -W warning`;
- the long options of each tool's --help are exactly those of its man page's
  OPTIONS section (and dump-db's commands those of COMMANDS);
- every field name the man page's JSON OUTPUT section documents appears in
  the tool's JSON output on the real fixtures.

usage: docs.py MAN_DIR
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

BUILD = Path(os.environ["KVF_BUILD"])
FX = Path(os.environ["KVF_FIXTURES"])
MAN = Path(sys.argv[1])
failures = []


def tool(name):
    return str(BUILD / name / name)


def section(src, name):
    m = re.search(r"^\.Sh " + name + r"\n(.*?)(?=^\.Sh |\Z)", src, re.S | re.M)
    return m.group(1) if m else ""


def man_options(src):
    found = re.findall(r"^\.It Fl (?:\w , )?\\-((?:\w|\\-)+)", section(src, "OPTIONS"), re.M)
    return {f.replace("\\-", "-") for f in found}


def help_options(name):
    out = subprocess.run([tool(name), "--help"], capture_output=True, text=True, timeout=30).stdout
    return set(re.findall(r"^\s+(?:-\w, )?--([\w-]+)", out, re.M)), out


def documented_fields(src):
    names = set()
    for line in section(src, "JSON OUTPUT").splitlines():
        if line.startswith((".Sy ", ".Brq Sy ", ".Pq Sy ")):
            for w in line.split()[1:]:
                if re.fullmatch(r"[a-z][a-z0-9_]*", w):
                    names.add(w)
    return names


def keys_of(v, acc):
    if isinstance(v, dict):
        for k, x in v.items():
            acc.add(k)
            keys_of(x, acc)
    elif isinstance(v, list):
        for x in v:
            keys_of(x, acc)
    return acc


def json_outputs(*runs):
    acc = set()
    for args in runs:
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        for chunk in ([p.stdout] if p.stdout.lstrip().startswith("{\n") else p.stdout.splitlines()):
            if chunk.strip():
                keys_of(json.loads(chunk), acc)
    return acc


for page in sorted(MAN.glob("*.1")):
    p = subprocess.run(["mandoc", "-Tlint", "-W", "warning", str(page)], capture_output=True, text=True)
    if p.returncode != 0:
        failures.append(f"{page.name}: mandoc -Tlint: {p.stdout}{p.stderr}")
    src = page.read_text()
    name = page.stem
    opts_help, help_text = help_options(name)
    opts_man = man_options(src)
    if opts_help != opts_man:
        failures.append(f"{name}: --help and man page options differ: only in --help "
                        f"{sorted(opts_help - opts_man)}, only in the man page {sorted(opts_man - opts_help)}")
    if name == "dump-db":
        cmds_man = set(re.findall(r"^\.It Cm (\w+)", section(src, "COMMANDS"), re.M))
        cmds_help = set(re.findall(r"^  (\w+)\s", help_text.split("Commands:")[1].split("Options:")[0], re.M))
        if cmds_man != cmds_help:
            failures.append(f"dump-db: commands differ: help {sorted(cmds_help)} man {sorted(cmds_man)}")

node1 = FX / "healthy" / "node1"
inc = [str(p) for p in sorted((FX / "incident-authskew").glob("node*"))]
seen = {
    "dump-wal": json_outputs(
        [tool("dump-wal"), "-o", "json", str(FX / "multiseg" / "node1"), "--index", "1:3"],
        [tool("dump-wal"), "-o", "json", str(FX / "wal-damage" / "flipped")],
        [tool("dump-wal"), "-o", "json", "--summary", str(node1)],
        [tool("dump-wal"), "-o", "json", "--verify", str(node1)],
        [tool("dump-wal"), "-o", "json", str(FX / "peer-etcd" / "TestNew.wal")],
        [tool("dump-wal"), "-o", "json", "--summary", str(FX / "evidence" / "copies" / "node1"),
         str(FX / "evidence" / "copies" / "node2")],
        [tool("dump-wal"), "-o", "json", "--summary", str(FX / "etcd-3.5" / "node1")],
        [tool("dump-wal"), "-o", "json", str(FX / "etcd-3.6" / "node1")]),
    "dump-db": json_outputs(*[[tool("dump-db"), "-o", "json", *c, str(node1)] for c in (
        ["status"], ["buckets"], ["hashkv"], ["check"], ["pages"], ["keys"], ["dump", "key"],
        ["dump", "meta"], ["dump", "authUsers"], ["dump", "authRoles"], ["dump", "lease"],
        ["dump", "members"])],
        [tool("dump-db"), "-o", "json", "check", str(FX / "peer-etcd" / "corrupted_backup.db")],
        [tool("dump-db"), "-o", "json", "verify", str(FX / "cause-lost-writes-planted" / "node2")],
        [tool("dump-db"), "-o", "json", "verify", str(FX / "incident-authskew" / "node1")],
        [tool("dump-db"), "-o", "json", "verify", str(FX / "cause-applied-twice" / "node1")],
        [tool("dump-db"), "-o", "json", "verify", str(FX / "etcd-3.6" / "node1")],
        [tool("dump-db"), "-o", "json", "status", str(FX / "evidence" / "snapshot" / "node1.snapshot.db")],
        [tool("dump-db"), "-o", "json", "status", str(FX / "evidence" / "leftovers" / "node3")],
        [tool("dump-db"), "-o", "json", "status", str(FX / "evidence" / "leftovers" / "node2")],
        [tool("dump-db"), "-o", "json", "keys", str(FX / "evidence" / "snapshot" / "node1.snapshot.db")],
        *[[tool("dump-db"), "-o", "json", *c, str(FX / "etcd-3.6" / "node1")] for c in (
            ["status"], ["hashkv"], ["dump", "meta"], ["dump", "cluster"])]),
    "diff-db": json_outputs([tool("diff-db"), "-o", "json", *inc],
                            [tool("diff-db"), "-o", "json", "--kind", "Deployment", "--namespace", "default", *inc]),
}
# fields that only appear on inputs the fixtures do not have
absent_ok = {
    "dump-wal": {"unknown"},
    "dump-db": {"malformed", "alarm", "member_id", "error", "no_metadata",
                "downgrade", "target-version", "enabled"},
    "diff-db": set(),
}
for page in sorted(MAN.glob("*.1")):
    name = page.stem
    missing = documented_fields(page.read_text()) - seen[name] - absent_ok[name]
    if missing:
        failures.append(f"{name}: man page documents JSON fields the output never has: {sorted(missing)}")

for f in failures:
    print("FAIL:", f)
print(f"docs: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
