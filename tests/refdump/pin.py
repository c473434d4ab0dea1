#!/usr/bin/env python3
"""Write the go.mod and go.sum of one version's reference reader.

    tests/refdump/pin.py 3.6 3.6.16

tests/refdump/<minor>/go.mod requires go.etcd.io/etcd/server/v3 at the
release with that module's own requirements copied (as tests/etcd/pin.py
does for the etcd binaries: minimal version selection then picks the
dependency versions etcd's release used), plus ../common through a replace
directive. main.go is written by hand. Needs Go and the module proxy (or a
filled module cache).
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def etcd_pin():
    """tests/etcd/pin.py: its reference() reads a module's own go.mod."""
    spec = importlib.util.spec_from_file_location("etcd_pin", HERE.parent / "etcd" / "pin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pin(minor, version):
    goline, reqs = etcd_pin().reference("server", version)
    cwd = HERE / minor
    if not (cwd / "main.go").exists():
        sys.exit(f"{cwd}/main.go is missing (write it by hand first)")
    lines = [f"// The reference reader on etcd {version}'s packages: written by",
             f"// tests/refdump/pin.py from go.etcd.io/etcd/server/v3@v{version}'s go.mod.",
             f"module kvforensics.test/refdump/{minor}", "", f"go {goline}", "",
             f"require go.etcd.io/etcd/server/v3 v{version}", "",
             "require kvforensics.test/refdump/common v0.0.0", "",
             "replace kvforensics.test/refdump/common => ../common", "", "require ("]
    lines += [f"\t{p} {v}" for p, v in sorted(reqs.items())] + [")", ""]
    (cwd / "go.mod").write_text("\n".join(lines))
    (cwd / "go.sum").unlink(missing_ok=True)
    env = dict(os.environ, GOFLAGS="-mod=mod -buildvcs=false")
    p = subprocess.run(["go", "mod", "tidy"], cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"go mod tidy in {cwd}: {p.stderr.strip()}")
    print(f"refdump/{minor}: pinned to server v{version}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pin(*sys.argv[1:])
