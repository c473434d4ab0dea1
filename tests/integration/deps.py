#!/usr/bin/env python3
"""quickstart installs what debian/control says the build needs.

A fresh machine once failed `./quickstart test` in the package stage
(dpkg-checkbuilddeps: Unmet build dependencies: bash-completion) because
quickstart kept its own package list and debian/control gained a
Build-Depends it did not have. quickstart now reads Build-Depends from
debian/control; this test keeps it so:
- every relation of debian/control's Build-Depends (parsed here on its own,
  as deb822) is among those `./quickstart packages` prints, verbatim;
- dpkg-checkbuilddeps, which dpkg-buildpackage runs, is satisfied on this
  machine, i.e. what quickstart installed is what the package build needs.

usage: deps.py SOURCE_ROOT
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve()
failures = []


def control_build_depends(text):
    """Build-Depends of the source stanza (deb822: continuation lines start
    with whitespace), one relation per item, whitespace normalised."""
    m = re.search(r"^Build-Depends:(.*?)(?=^\S|\Z)", text, re.M | re.S)
    if not m:
        return []
    items = (" ".join(i.split()) for i in m.group(1).split(","))
    return [i for i in items if i]


wanted = control_build_depends((ROOT / "debian" / "control").read_text())
if not wanted:
    failures.append("debian/control has no Build-Depends")

out = subprocess.run([str(ROOT / "quickstart"), "packages"], capture_output=True,
                     text=True, timeout=60, cwd=ROOT)
if out.returncode != 0:
    failures.append(f"./quickstart packages: exit {out.returncode}: {out.stderr.strip()}")
listed = {" ".join(line.split()) for line in out.stdout.splitlines() if line.strip()}
for rel in wanted:
    if rel not in listed:
        failures.append(f"Build-Depends relation {rel!r} is not installed by quickstart")

chk = subprocess.run(["dpkg-checkbuilddeps", str(ROOT / "debian" / "control")],
                     capture_output=True, text=True, timeout=60, cwd=ROOT)
if chk.returncode != 0:
    failures.append(f"dpkg-checkbuilddeps: exit {chk.returncode}: {chk.stderr.strip()}")

for f in failures:
    print("FAIL:", f)
print(f"{len(wanted)} Build-Depends relations checked; {len(failures)} failures")
sys.exit(1 if failures else 0)
