#!/usr/bin/env bash
# Record the digests of every integration output (see check.sh) after a
# change that means to change outputs; commit tests/golden/outputs.sha256
# with that change.
#
#   tests/golden/regen.sh [BUILD_DIR]      (default: build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/digest.sh" "${1:-$here/../../build}" >"$here/outputs.sha256.new"
mv "$here/outputs.sha256.new" "$here/outputs.sha256"
echo "regen: $(wc -l <"$here/outputs.sha256") digests in $here/outputs.sha256"
