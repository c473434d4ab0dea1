#!/usr/bin/env python3
"""Write (or check) the go.mod and go.sum of one version's wrapper modules.

    tests/etcd/pin.py 3.6 3.6.16     # rewrite 3.6/{etcd,etcdctl,etcdutl}/go.{mod,sum}
    tests/etcd/pin.py --check 3.6    # compare with etcd's own go.mod, change nothing

Each wrapper requires its etcd module (server, etcdctl, etcdutl) at the
release and copies that module's own go.mod requirements and `go` line
(its replace directives point into etcd's tree and are left out): the
module graph is then the one etcd's release build used, so minimal version
selection picks the same dependency versions. `--check` lists every module
whose selected version differs from that go.mod's. Needs Go and the Go
module proxy (or a filled module cache); main.go is written by hand.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BINARIES = {"etcd": "server", "etcdctl": "etcdctl", "etcdutl": "etcdutl"}


def go(*args, cwd=None):
    env = dict(os.environ, GOFLAGS="-mod=mod -buildvcs=false")
    p = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"go {' '.join(args)} (in {cwd}): {p.stderr.strip()}")
    return p.stdout


def reference(mod, version):
    """(go line, {path: version}) of go.etcd.io/etcd/<mod>/v3@v<version>'s go.mod."""
    info = json.loads(go("mod", "download", "-json", f"go.etcd.io/etcd/{mod}/v3@v{version}"))
    text = Path(info["GoMod"]).read_text()
    goline = re.search(r"^go (\S+)$", text, re.M).group(1)
    reqs = {}
    for block in re.findall(r"^require \((.*?)^\)", text, re.M | re.S):
        for line in block.splitlines():
            f = line.split("//")[0].split()
            if len(f) == 2:
                reqs[f[0]] = f[1]
    for path, ver in re.findall(r"^require (\S+) (\S+)", text, re.M):
        reqs[path] = ver
    return goline, reqs


def wrapper_version(d):
    """The etcd release a wrapper directory pins (from its etcd/go.mod)."""
    text = (HERE / d / "etcd" / "go.mod").read_text()
    return re.search(r"go\.etcd\.io/etcd/server/v3 v(\S+)", text).group(1)


def check(d, version):
    bad = 0
    for binary, mod in BINARIES.items():
        _, reqs = reference(mod, version)
        cwd = HERE / d / binary
        sel = {m["Path"]: m.get("Version") for m in
               map(json.loads, filter(None, re.split(r"(?m)^(?=\{)",
                                                     go("list", "-m", "-json", "all", cwd=cwd))))}
        for path, ver in sorted(reqs.items()):
            if sel.get(path) not in (ver, None):
                print(f"{d}/{binary}: {path} {sel[path]}, etcd {version}'s {mod}/go.mod has {ver}")
                bad += 1
    print(f"{d} ({version}): {'same versions as etcd' if not bad else f'{bad} differences'}")
    return bad


def pin(d, version):
    for binary, mod in BINARIES.items():
        goline, reqs = reference(mod, version)
        cwd = HERE / d / binary
        if not (cwd / "main.go").exists():
            sys.exit(f"{cwd}/main.go is missing (write it by hand first)")
        lines = [f"// etcd {version}'s {binary}: written by tests/etcd/pin.py from",
                 f"// go.etcd.io/etcd/{mod}/v3@v{version}'s own go.mod (see build.sh).",
                 f"module kvforensics.test/etcd/{d}/{binary}", "", f"go {goline}", "",
                 f"require go.etcd.io/etcd/{mod}/v3 v{version}", "", "require ("]
        lines += [f"\t{p} {v}" for p, v in sorted(reqs.items())] + [")", ""]
        (cwd / "go.mod").write_text("\n".join(lines))
        (cwd / "go.sum").unlink(missing_ok=True)
        go("mod", "tidy", cwd=cwd)
        print(f"{d}/{binary}: pinned to {mod} v{version}")
    return check(d, version)


def main(argv):
    if len(argv) >= 2 and argv[0] == "--check":
        return 1 if sum(check(d, wrapper_version(d)) for d in argv[1:]) else 0
    if len(argv) == 2:
        return 1 if pin(*argv) else 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
