#!/usr/bin/env bash
# Shared by check.sh and regen.sh: capture every integration output of the
# build BUILD_DIR (tests/tools/capture-outputs.sh) into a temporary
# directory and print one "SHA-256  NAME" line per captured file, sorted by
# name. The outputs themselves (about 0.9 GB, most of it multiseg's values)
# are removed at exit: only their digests are kept in the tree.
#
#   tests/golden/digest.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/../tools/capture-outputs.sh" "$build" "$tmp/out" 2>"$tmp/capture.log" ||
	{ cat "$tmp/capture.log" >&2; exit 2; }
cd "$tmp/out"
# LC_ALL=C: one order of names on every machine
find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum --
