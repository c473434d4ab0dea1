#!/usr/bin/env bash
# Build the reference readers (refdump) of each etcd version from Go modules.
#
#   tests/refdump/build.sh [MINOR...]      default: 3.5 3.6 3.7
#
# Each tests/refdump/<minor>/ is a tiny main module on that release's etcd
# packages (go.mod written by pin.py, go.sum committed; main.go is the
# shared ../main.go, adapt.go the version's calls). Binaries go to
# $KVF_REFDUMP_CACHE (default /var/cache/kvforensics/refdump, or
# ~/.cache/kvforensics/refdump when that is not writable), one directory per
# release and hash of the sources: <version>-<hash>/refdump; what is there
# already is not built again. Prints "3.6 <path to refdump>" per version, or
# "3.6 SKIPPED: <why>" (exit 1 when any was skipped). Go: $KVF_GO, else `go`
# in PATH, else /usr/local/go/bin/go. Only the truth regeneration
# (tests/refdump/regen-truth.py) needs these; the test suite reads the JSON
# they wrote, committed under testdata/.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KVF_REFDUMP_CACHE:-/var/cache/kvforensics/refdump}
if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
  CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kvforensics/refdump
  mkdir -p "$CACHE" || { echo "cannot create $CACHE" >&2; exit 2; }
fi
GO=${KVF_GO:-$(command -v go || true)}
[ -n "$GO" ] || [ ! -x /usr/local/go/bin/go ] || GO=/usr/local/go/bin/go

[ $# -gt 0 ] || set -- 3.5 3.6 3.7
exec 9>"$CACHE/.lock"
flock -w 3600 9 || { echo "could not lock $CACHE/.lock" >&2; exit 2; }
rc=0
for minor in "$@"; do
  dir=$HERE/$minor
  if [ ! -f "$dir/go.mod" ]; then echo "$minor SKIPPED: no $dir/go.mod"; rc=1; continue; fi
  version=$(sed -n 's/^require go\.etcd\.io\/etcd\/server\/v3 v//p' "$dir/go.mod")
  hash=$(cd "$HERE" && cat main.go common/go.mod common/*.go "$minor"/go.mod "$minor"/go.sum \
    "$minor"/adapt.go | sha256sum | cut -c1-12)
  out=$CACHE/$version-$hash
  if [ ! -x "$out/refdump" ]; then
    if [ -z "$GO" ]; then echo "$minor SKIPPED: no Go toolchain (set KVF_GO)"; rc=1; continue; fi
    tmp=$(mktemp -d "$CACHE/.build-$version.XXXXXX")
    if ! (cd "$dir" && env -u GOFLAGS CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false \
          -mod=readonly -o "$tmp/refdump" .) >"$tmp/build.log" 2>&1; then
      echo "$minor SKIPPED: go build failed: $(tail -n 1 "$tmp/build.log")"
      rm -rf "$tmp"; rc=1; continue
    fi
    rm -rf "$out" && mv "$tmp" "$out"
  fi
  echo "$minor $out/refdump"
done
exit $rc
