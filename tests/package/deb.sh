#!/bin/bash
# Build the .deb from a copy of the tree with Debian's own tools, install it
# with apt, and run each tool from /usr/bin on a real fixture. Needs root (it
# installs the package) and the fixtures unpacked by the build (FIXTURES).
# usage: deb.sh SOURCE_DIR FIXTURES_DIR
set -euo pipefail
src=$(cd "$1" && pwd) fx=$(cd "$2" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "deb.sh: installs a package, run it as root" >&2; exit 1; }
work=$(mktemp -d /tmp/kvf-deb.XXXXXX)
cleanup() {
  dpkg -s kvforensics >/dev/null 2>&1 && apt-get remove -y -qq kvforensics >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

# a copy, so the package build never touches the working tree
mkdir "$work/kvforensics"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude='./fuzz/corpus-*' -cf - . | tar -C "$work/kvforensics" -xf -
( cd "$work/kvforensics" && dpkg-buildpackage -us -uc -b -j"$(nproc)" ) >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
deb=$(ls "$work"/kvforensics_*.deb)
echo "built $(basename "$deb")"
check "install with apt" apt-get install -y -qq "$deb"

check "/usr/bin/dump-wal --version" /usr/bin/dump-wal --version
check "/usr/bin/dump-wal --verify on healthy/node1" /usr/bin/dump-wal --verify "$fx/healthy/node1"
# what `etcdctl endpoint hashkv` said on the live member before shutdown
want_hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["HashKV"]["hash"])' \
  "$fx/healthy/truth/final/node1.hashkv.json")
check "/usr/bin/dump-db hashkv equals the live member's ($want_hash)" \
  bash -c "/usr/bin/dump-db -o json hashkv '$fx/healthy/node1' | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"hash\"] != $want_hash)'"
out=$(/usr/bin/diff-db "$fx"/incident-authskew/node{1,2,3} || true)
check "/usr/bin/diff-db explains the incident" grep -q "authRevision skew" <<<"$out"
check "man pages installed" test -f /usr/share/man/man1/dump-wal.1.gz -a -f /usr/share/man/man1/dump-db.1.gz -a -f /usr/share/man/man1/diff-db.1.gz
check "bash completions installed" test -f /usr/share/bash-completion/completions/dump-db
check "version matches the project" bash -c "/usr/bin/dump-db --version | grep -q '$(sed -n "s/.*version : '\([^']*\)'.*/\1/p" "$src/meson.build")'"
exit $fail
