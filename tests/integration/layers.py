#!/usr/bin/env python3
"""The layers of common/ hold: every include runs downward.

Each folder of common/ is a layer with a README.md whose line
`May include: a, b` (or `nothing`) names the layers below it that its
files may include; a file may always include its own layer. This test
reads those lines (the README is the rule, so the two cannot drift) and
checks every .c and .h under common/:
- each `#include "..."` names its layer ("io/err.h") and the file exists;
- that layer is the file's own or one its README allows: an include of a
  layer above (or of a sibling, such as wal/ and db/) fails;
- the mechanical part of "Must not": outside cli/ and render/, no call
  that prints or exits; outside cli/, no stdout/stderr, exit or abort.

usage: layers.py COMMON_DIR
"""
import re
import sys
from pathlib import Path

COMMON = Path(sys.argv[1]).resolve()
failures = []

layers = {}
for d in sorted(p for p in COMMON.iterdir() if p.is_dir()):
    if not any(d.rglob("*.[ch]")) and not any(d.rglob("*.proto")):
        continue
    readme = d / "README.md"
    m = re.search(r"^May include:\s*(.*)$", readme.read_text(), re.M) if readme.exists() else None
    if not m:
        failures.append(f"{d.name}/: no README.md with a 'May include:' line")
        continue
    allowed = {x.strip() for x in m.group(1).split(",")} - {"nothing", ""}
    layers[d.name] = allowed
for name, allowed in layers.items():
    for a in allowed - set(layers):
        failures.append(f"{name}/README.md: 'May include' names {a!r}, which is no layer")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Comments and string literals out, so that prose and messages never match.
STRIP = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
PRINTS = re.compile(r"\b(printf|fprintf|vfprintf|puts|fputs|fputc|putchar|fwrite|perror|exit|_exit|abort)\s*\(")
STDIO = re.compile(r"\b(stdout|stderr|exit|_exit|abort)\b")

files = 0
for layer, allowed in layers.items():
    for f in sorted((COMMON / layer).rglob("*.[ch]")):
        files += 1
        rel = f.relative_to(COMMON)
        text = f.read_text()
        for inc in INCLUDE.findall(text):
            target = inc.split("/")[0]
            if "/" not in inc or target not in layers:
                failures.append(f"{rel}: #include \"{inc}\" does not name its layer")
                continue
            if target != layer and target not in allowed:
                failures.append(f"{rel}: #include \"{inc}\": {layer}/ may include only "
                                f"{', '.join(sorted(allowed)) or 'nothing'} (see {layer}/README.md)")
            if not inc.endswith(".pb-c.h") and not (COMMON / inc).exists():
                failures.append(f"{rel}: #include \"{inc}\": no such file")
        code = STRIP.sub("", text)
        if layer not in ("cli", "render"):
            for m in PRINTS.finditer(code):
                failures.append(f"{rel}: calls {m.group(1)}(): {layer}/ must not print or exit")
        if layer != "cli":
            for m in STDIO.finditer(code):
                if layer == "render" or not PRINTS.match(code, m.start()):  # else reported above
                    failures.append(f"{rel}: uses {m.group(1)}: only cli/ writes to stdout/stderr or exits")

for f in failures:
    print("FAIL:", f)
print(f"{len(layers)} layers, {files} files checked; {len(failures)} failures")
sys.exit(1 if failures else 0)
