#!/usr/bin/env bash
# diff-db on three replicas, as three names for one real etcd db.
#
#   bench/diff.sh [DB]
#
# DB defaults to /tmp/bench/data/member/snap/db (1.4 GB, 1,000,009 revisions
# written by etcd 3.4.23); when it does not exist, the db of
# ../shared/bench/etcd-1m.tar.gz is unpacked into a temporary directory.
# The members are symlinks a, b, c to DB in a temporary directory: diff-db
# opens and maps each one as it would three copies, and the answer (the
# replicas agree) is known. Environment:
#   BUILD      build directory (default: build/ of this checkout)
#   DIFF_DB    the binary (default: $BUILD/diff-db/diff-db)
#   RUNS       runs; the best one counts (default 5)
#
# Wall time from a monotonic clock, peak RSS as ru_maxrss (GNU time's %M),
# the anonymous peak (RssAnon) sampled every 20 ms. The db is mapped three
# times, so each mapping's touched pages count in RSS once more: RSS is about
# three times the file, while the page cache holds it once. The anonymous
# peak is what diff-db allocated (the target: heap < 1 GB). A benchmark, not
# a test: it asserts nothing and meson test does not run it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-5}
BUILD=${BUILD:-$repo/build}
DIFF_DB=${DIFF_DB:-$BUILD/diff-db/diff-db}
DB=${1:-/tmp/bench/data/member/snap/db}

die() { echo "diff.sh: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is missing (it reads the clock and the memory): apt-get install python3"
[[ -x $DIFF_DB ]] || die "no diff-db at $DIFF_DB: build it (meson setup build && ninja -C build) or set DIFF_DB"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=bench/common.sh
. "$here/common.sh"
DB=$(bench_input "$DB" member/snap/db db) || exit 2
DB=$(realpath "$DB")
bytes=$(cat "$DB" | wc -c)   # and the page cache is warm
mkdir "$tmp/members"
# diff-db refuses one file given twice (identity check), so b and c are
# copies (three times the db's size on disk under $TMPDIR, for the run)
ln -s "$DB" "$tmp/members/a"
for n in b c; do cp --reflink=auto "$DB" "$tmp/members/$n"; done

best='' rss='' anon_best=''
for ((r = 1; r <= RUNS; r++)); do
	python3 "$here/measure.py" "$tmp/m" cat "$DB" || die "cat failed"
	read -r usec kib anon <"$tmp/m"
	if [[ -z ${cat_best:-} ]] || (( usec < cat_best )); then cat_best=$usec; fi
	# exit 0: the replicas agree, as three names for one file must
	(cd "$tmp/members" && python3 "$here/measure.py" "$tmp/m" "$DIFF_DB" a b c) || die "diff-db a b c: failed"
	read -r usec kib anon <"$tmp/m"
	if [[ -z $best ]] || (( usec < best )); then best=$usec; fi
	if [[ -z $rss ]] || (( kib > rss )); then rss=$kib; fi
	if [[ -z $anon_best ]] || (( anon > anon_best )); then anon_best=$anon; fi
	echo "run $r/$RUNS" >&2
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
echo "diff-db:  $DIFF_DB"
"$DIFF_DB" --version | sed 's/^/          /'
echo "input:    a, b, c -> $DB: 3 x $bytes bytes; page cache warm, best of $RUNS runs"
echo
echo "| command | seconds | ratio to cat of one copy | target | peak RSS | anonymous peak |"
echo "|---|---:|---:|---|---:|---:|"
awk -v c="$cat_best" -v us="$best" -v kib="$rss" -v anon="$anon_best" 'BEGIN {
	printf "| `cat DB` | %.3f | 1.000 | | | |\n", c / 1e6
	printf "| `diff-db a b c` | %.3f | %.4f | < 5 s and heap < 1 GB: %s | %.1f MiB | %.1f MiB |\n",
	       us / 1e6, c / us, us < 5e6 && anon < 1024 * 1024 ? "met" : "MISSED", kib / 1024, anon / 1024
}'
