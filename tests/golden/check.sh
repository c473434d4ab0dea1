#!/usr/bin/env bash
# The golden test: every output of every tool in every mode on every
# fixture (stdout, stderr, exit status: tests/tools/capture-outputs.sh) must
# be byte for byte what tests/golden/outputs.sha256 records. A speed or
# refactoring change must leave them all identical; a change that means to
# change an output runs tests/golden/regen.sh and commits the new digests
# with it, so the diff of outputs.sha256 shows which outputs it changed.
#
#   tests/golden/check.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/digest.sh" "$1" >"$tmp/now.sha256"
n=$(wc -l <"$here/outputs.sha256")
(( n > 1000 )) || { echo "golden: only $n digests in outputs.sha256" >&2; exit 1; }
if ! diff -u "$here/outputs.sha256" "$tmp/now.sha256" >"$tmp/diff"; then
	echo "golden: outputs differ from tests/golden/outputs.sha256 (- recorded, + now):" >&2
	grep '^[-+][0-9a-f]' "$tmp/diff" | head -n 60 >&2
	echo "golden: if these changes are intended, run tests/golden/regen.sh BUILD_DIR and commit outputs.sha256" >&2
	exit 1
fi
echo "golden: $n outputs identical"
