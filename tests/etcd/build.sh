#!/usr/bin/env bash
# Build real etcd servers and tools of each release from etcd's Go modules,
# for the live tests. Each tests/etcd/<name>/ (3.5, 3.6, 3.7, 3.5.2) holds
# three tiny main modules, etcd/, etcdctl/ and etcdutl/, each requiring one
# of etcd's modules at that release (go.mod written by pin.py from etcd's own
# go.mod; go.sum committed). No etcd code is in this tree.
#
#   tests/etcd/build.sh [NAME|VERSION...]     default: every tests/etcd/<name>/
#
# (the manifest always lists every version: those not asked for only if
# they are built already)
#
# Binaries go to $KVF_ETCD_CACHE (default /var/cache/kvforensics/etcd, or
# ~/.cache/kvforensics/etcd when that is not writable), one directory per
# release and hash of the wrapper files: <version>-<hash>/{etcd,etcdctl,etcdutl}.
# What is there already is not built again. Prints one line per version on
# stdout, "3.6.16 <dir>" or "3.6.16 SKIPPED: <why>", and writes for the tests
#   $KVF_ETCD_MANIFEST (default $CACHE/versions.json): every version, with
#     Debian's 3.4 (/usr/bin/etcd, no etcdutl) as "3.4";
#   the same path with .env for .json: KVF_ETCD_VERSIONS="3.4=/usr/bin 3.5=<dir> ..."
#     (name=bindir pairs) and KVF_ETCD_SKIPPED="3.5.2 ...".
# With CI=true a missing Go or a failed build exits 1, except for the
# versions listed in OPTIONAL below; elsewhere they are named and skipped.
# One Go build at a time (the cache is locked while building). Go: $KVF_GO,
# else `go` in PATH, else /usr/local/go/bin/go; GOTOOLCHAIN passes through.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OPTIONAL=" 3.5.2 "   # the last release with etcd bug #13766; nice to have

say() { printf '%s\n' "$*" >&2; }

CACHE=${KVF_ETCD_CACHE:-}
if [ -z "$CACHE" ]; then
  CACHE=/var/cache/kvforensics/etcd
  if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
    CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kvforensics/etcd
  fi
fi
mkdir -p "$CACHE" || { say "cannot create $CACHE"; exit 2; }
MANIFEST=${KVF_ETCD_MANIFEST:-$CACHE/versions.json}
mkdir -p "$(dirname "$MANIFEST")"

# Go keeps its caches under $HOME; without one (a bare CI environment), beside ours
if [ -z "${HOME:-}" ]; then export GOCACHE="$CACHE/.go-build" GOMODCACHE="$CACHE/.go-mod"; fi
GO=${KVF_GO-$(command -v go || true)}
[ -n "$GO" ] || [ ! -x /usr/local/go/bin/go ] || GO=/usr/local/go/bin/go

names=()  # by version, the optional ones last
for d in "$HERE"/[0-9]*/; do
  n=$(basename "$d")
  [[ $OPTIONAL == *" $n "* ]] || names+=("$n")
done
mapfile -t names < <(printf '%s\n' "${names[@]}" | sort -V)
for n in $OPTIONAL; do [ -d "$HERE/$n" ] && names+=("$n"); done

# release pinned by a wrapper directory
release_of() { sed -n 's/^require go\.etcd\.io\/etcd\/server\/v3 v//p' "$HERE/$1/etcd/go.mod"; }

wanted=()
if [ $# -eq 0 ]; then
  wanted=("${names[@]}")
else
  for a in "$@"; do
    found=
    for n in "${names[@]}"; do
      if [ "$a" = "$n" ] || [ "$a" = "$(release_of "$n")" ]; then wanted+=("$n"); found=1; fi
    done
    [ -n "$found" ] || { say "no tests/etcd/<name>/ for version $a (have: ${names[*]})"; exit 2; }
  done
fi

exec 9>"$CACHE/.lock"
flock -w 3600 9 || { say "could not lock $CACHE/.lock within an hour"; exit 2; }

rc=0 built=0 envpairs="" skipped="" json=""
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "${s//$'\n'/ }"; }

add_json() { # name version status(ok|skipped) dir-or-reason source
  local entry
  if [ "$3" = ok ]; then
    local utl=null
    [ -x "$4/etcdutl" ] && utl=$(jstr "$4/etcdutl")
    entry=$(printf '{"version": %s, "bindir": %s, "etcd": %s, "etcdctl": %s, "etcdutl": %s, "source": %s}' \
      "$(jstr "$2")" "$(jstr "$4")" "$(jstr "$4/etcd")" "$(jstr "$4/etcdctl")" "$utl" "$(jstr "$5")")
  else
    entry=$(printf '{"version": %s, "skipped": %s, "optional": %s}' "$(jstr "$2")" "$(jstr "$4")" \
      "$([[ $OPTIONAL == *" $1 "* ]] && echo true || echo false)")
  fi
  json+="${json:+,$'\n'}    $(jstr "$1"): $entry"
}

# Debian's etcd 3.4 (etcd-server/etcd-client), when installed
debian=/usr/bin
if [ -x $debian/etcd ] && [ -x $debian/etcdctl ]; then
  v=$($debian/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
  if [[ $v == 3.4.* ]]; then
    add_json 3.4 "$v" ok $debian debian
    envpairs+="3.4=$debian "
    echo "$v $debian"
  fi
fi

for n in "${names[@]}"; do
  v=$(release_of "$n")
  [[ " ${wanted[*]} " == *" $n "* ]] && want=1 || want=
  hash=$(cd "$HERE/$n" && sha256sum etcd/go.mod etcd/go.sum etcd/main.go etcdctl/go.mod \
    etcdctl/go.sum etcdctl/main.go etcdutl/go.mod etcdutl/go.sum etcdutl/main.go | sha256sum | cut -c1-12)
  out="$CACHE/$v-$hash"
  why=
  if [ -x "$out/etcd" ] && [ -x "$out/etcdctl" ] && [ -x "$out/etcdutl" ]; then
    :
  elif [ -z "$want" ]; then   # not asked for: in the manifest only if built
    add_json "$n" "$v" skipped "not built (build.sh $n builds it)"
    continue
  elif [ -z "$GO" ] || [ ! -x "$GO" ]; then
    why="no Go toolchain (set KVF_GO or put go in PATH)"
  else
    say "building etcd $v ($n) with $("$GO" version | cut -d' ' -f3) into $out"
    t0=$(date +%s)
    tmp=$(mktemp -d "$CACHE/.build-$v.XXXXXX")
    log="$tmp/build.log"
    for b in etcd etcdctl etcdutl; do
      if ! (cd "$HERE/$n/$b" && env -u GOFLAGS CGO_ENABLED=0 \
            "$GO" build -trimpath -buildvcs=false -mod=readonly -o "$tmp/$b" .) >>"$log" 2>&1; then
        why="go build of $b failed: $(grep -v '^\s*$' "$log" | tail -n 1)"
        break
      fi
    done
    if [ -z "$why" ]; then
      got=$("$tmp/etcd" --version 2>&1 | sed -n 's/^etcd Version: //p')
      [ "$got" = "$v" ] || why="built etcd says version '$got', want $v"
    fi
    if [ -z "$why" ]; then
      "$GO" version >"$tmp/go-version"
      rm -rf "$out" && mv "$tmp" "$out"
      built=$((built + 1))
      say "built etcd $v in $(( $(date +%s) - t0 ))s"
    else
      mv "$log" "$CACHE/$v-$hash.failed.log" 2>/dev/null
      rm -rf "$tmp"
      why="$why (log: $CACHE/$v-$hash.failed.log)"
    fi
  fi
  if [ -z "$why" ]; then
    [ -z "$want" ] || echo "$v $out"
    add_json "$n" "$v" ok "$out" "go module"
    envpairs+="$n=$out "
  else
    echo "$v SKIPPED: $why"
    add_json "$n" "$v" skipped "$why"
    skipped+="$n "
    if [ "${CI:-}" = true ] && [[ $OPTIONAL != *" $n "* ]]; then rc=1; fi
  fi
done

printf '{\n  "cache": %s,\n  "versions": {\n%s\n  }\n}\n' "$(jstr "$CACHE")" "$json" >"$MANIFEST.tmp" &&
  mv "$MANIFEST.tmp" "$MANIFEST"
envfile=${MANIFEST%.json}.env
printf 'KVF_ETCD_VERSIONS=%q\nKVF_ETCD_SKIPPED=%q\nKVF_ETCD_MANIFEST=%q\n' \
  "${envpairs% }" "${skipped% }" "$MANIFEST" >"$envfile"

if [ $built -eq 0 ] && [ -z "$skipped" ]; then
  say "nothing to build: every version is in $CACHE already"
elif [ $built -eq 0 ]; then
  say "nothing built"
fi
[ -z "$skipped" ] || say "skipped: ${skipped% }"
exit $rc
