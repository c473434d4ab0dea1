#!/usr/bin/env bash
# dump-db on a real etcd backend db, as ratios to cat(1) of the same file.
#
#   bench/db.sh [DB]
#
# DB defaults to /tmp/bench/data/member/snap/db (1.4 GB, 1,000,009 revisions
# written by etcd 3.4.23); when it does not exist, the db of
# ../shared/bench/etcd-1m.tar.gz is unpacked into a temporary directory,
# used, and removed. Environment:
#   BUILD      build directory (default: build/ of this checkout)
#   DUMP_DB    the binary (default: $BUILD/dump-db/dump-db)
#   RUNS       runs per mode; the best one counts (default 5)
#
# Every mode reads the same file with the page cache warm, and the modes take
# turns run by run, so a busy neighbour slows them alike. Wall time comes
# from a monotonic clock; peak RSS is the kernel's ru_maxrss (what GNU time
# prints as %M). dump-db maps the db, so the pages of the file it touches
# count in its RSS: a mode that reads the whole file shows about the file's
# size there without allocating it. The anonymous peak (RssAnon, sampled
# every 20 ms) is what the tool allocated. A benchmark, not a test: it
# asserts nothing and meson test does not run it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-5}
BUILD=${BUILD:-$repo/build}
DUMP_DB=${DUMP_DB:-$BUILD/dump-db/dump-db}
DB=${1:-/tmp/bench/data/member/snap/db}

die() { echo "db.sh: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is missing (it reads the clock and the memory): apt-get install python3"
[[ -x $DUMP_DB ]] || die "no dump-db at $DUMP_DB: build it (meson setup build && ninja -C build) or set DUMP_DB"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=bench/common.sh
. "$here/common.sh"
DB=$(bench_input "$DB" member/snap/db db) || exit 2
bytes=$(cat "$DB" | wc -c)   # and the page cache is warm

modes=(cat status hashkv check keys dump pages)
# Targets (issues): seconds, or MB/s of the db for dump (ten times
# etcd-dump-db iterate-bucket --decode, 67 MB/s on the machine that
# measured etcd's tools; bbolt check took 2.75 s there).
declare -A max_s=([status]=1.0 [hashkv]=1.0 [check]=2.75)
declare -A min_mbs=([dump]=670)

mode_cmd() {
	local m=$1 db=$2
	case $m in
	cat) cmd=(cat "$db") ;;
	status) cmd=("$DUMP_DB" status "$db") ;;
	hashkv) cmd=("$DUMP_DB" hashkv "$db") ;;
	check) cmd=("$DUMP_DB" check "$db") ;;
	keys) cmd=("$DUMP_DB" keys -o json "$db") ;;
	dump) cmd=("$DUMP_DB" -o json dump key "$db") ;;
	pages) cmd=("$DUMP_DB" pages "$db") ;;
	esac
}

# measure MODE: one run, stdout to /dev/null; sets $usec, $kib (peak RSS)
# and $anon (peak anonymous memory, KiB).
measure() {
	local -a cmd
	mode_cmd "$1" "$DB"
	python3 "$here/measure.py" "$tmp/m" "${cmd[@]}" || die "${cmd[*]}: failed"
	read -r usec kib anon <"$tmp/m"
}

declare -A best rss anonpk
for ((r = 1; r <= RUNS; r++)); do
	for m in "${modes[@]}"; do
		measure "$m"
		if [[ -z ${best[$m]:-} ]] || (( usec < best[$m] )); then best[$m]=$usec; fi
		if [[ -z ${rss[$m]:-} ]] || (( kib > rss[$m] )); then rss[$m]=$kib; fi
		if [[ -z ${anonpk[$m]:-} ]] || (( anon > anonpk[$m] )); then anonpk[$m]=$anon; fi
	done
	echo "run $r/$RUNS" >&2
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
echo "dump-db:  $DUMP_DB"
"$DUMP_DB" --version | sed 's/^/          /'
echo "input:    $DB: $bytes bytes; page cache warm, best of $RUNS runs"
echo
echo "| mode | command | seconds | MB/s of the db | ratio to cat | target | peak RSS | anonymous peak |"
echo "|---|---|---:|---:|---:|---|---:|---:|"
for m in "${modes[@]}"; do
	mode_cmd "$m" DB
	cmd[0]=${cmd[0]/#$DUMP_DB/dump-db}
	awk -v m="$m" -v cmd="${cmd[*]}" -v us="${best[$m]}" -v cat_us="${best[cat]}" -v bytes="$bytes" \
	    -v max_s="${max_s[$m]:-}" -v min_mbs="${min_mbs[$m]:-}" -v kib="${rss[$m]}" -v anon="${anonpk[$m]}" 'BEGIN {
		t = ""
		if (max_s != "")
			t = sprintf("<= %s s: %s", max_s, us / 1e6 <= max_s ? "met" : "MISSED")
		if (min_mbs != "")
			t = sprintf(">= %s MB/s: %s", min_mbs, bytes / us >= min_mbs ? "met" : "MISSED")
		printf "| %s | `%s` | %.3f | %.0f | %.4f | %s | %.1f MiB | %.1f MiB |\n",
		       m, cmd, us / 1e6, bytes / us, cat_us / us, t, kib / 1024, anon / 1024
	}'
done
