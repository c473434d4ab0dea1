#!/usr/bin/env bash
# Every figure of issue 11's table in one run: each mode's seconds and its
# ratio to cat(1) of the same bytes (the WAL segments, the db, or the db
# three times for diff-db), beside etcd's own tools where they are built.
#
#   bench/all.sh [DATA_DIR]
#
# DATA_DIR is an etcd data dir (member/wal, member/snap/db); default
# /tmp/kvf-bench/data, unpacked there from ../shared/bench/etcd-1m.tar.gz
# when missing (and kept: the scale bench uses the same copy). Environment:
#   BUILD       build directory (default: build/ of this checkout)
#   RUNS        runs of each of our modes and of cat; the best counts (default 3)
#   ETCD_RUNS   runs of each of etcd's tools (default 1: they take 20-40 s)
#   ETCD_TOOLS  directory with etcd-dump-logs, etcd-dump-db and bbolt
#               (default /tmp/kvf-etcdtools/bin; see bench/README.md for how
#               they were built). A tool that is missing is left out.
#   ONLY        space-separated mode names to run (default: all)
#   BEFORE      a second build directory (e.g. of the commit before a change):
#               each of our modes also runs with its binaries, in the same
#               turns, and the table gets its seconds and ratio beside ours
#
# Ratio = seconds / seconds of cat of the same bytes in this run (lower is
# better; 1.0 is the speed of reading the input). "vs etcd" = etcd's tool's
# seconds / ours. Modes take turns run by run, so a busy neighbour slows
# them alike. Memory: bench/measure.py (peak RSS counts the mapped db's page
# cache; the anonymous peak is the heap). A benchmark: asserts nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-3}
ETCD_RUNS=${ETCD_RUNS:-1}
BUILD=${BUILD:-$repo/build}
ETCD_TOOLS=${ETCD_TOOLS:-/tmp/kvf-etcdtools/bin}
DATA=${1:-/tmp/kvf-bench/data}
WAL_BIN=$BUILD/dump-wal/dump-wal DB_BIN=$BUILD/dump-db/dump-db DIFF_BIN=$BUILD/diff-db/diff-db

die() { echo "all.sh: $*" >&2; exit 2; }
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"
for b in "$WAL_BIN" "$DB_BIN" "$DIFF_BIN"; do
	[[ -x $b ]] || die "no $b: build it (meson setup build && ninja -C build) or set BUILD"
done
[[ $RUNS =~ ^[1-9][0-9]*$ && $ETCD_RUNS =~ ^[0-9]+$ ]] || die "RUNS and ETCD_RUNS must be numbers"
if [[ -n ${BEFORE:-} ]]; then
	BEFORE=$(cd "$BEFORE" && pwd) BUILD=$(cd "$BUILD" && pwd)
	WAL_BIN=$BUILD/dump-wal/dump-wal DB_BIN=$BUILD/dump-db/dump-db DIFF_BIN=$BUILD/diff-db/diff-db
	for t in dump-wal dump-db diff-db; do
		[[ -x $BEFORE/$t/$t ]] || die "no $BEFORE/$t/$t"
	done
fi

if [[ ! -e $DATA/member/snap/db ]]; then
	tarball=
	for c in "$repo/../shared/bench/etcd-1m.tar.gz" "$repo/../../shared/bench/etcd-1m.tar.gz"; do
		if [[ -f $c ]]; then tarball=$c; break; fi
	done
	[[ -n $tarball ]] || die "$DATA/member/snap/db is missing and there is no ../shared/bench/etcd-1m.tar.gz"
	mkdir -p "$(dirname "$DATA")"
	echo "unpacking $tarball into $(dirname "$DATA") (kept for the next run)" >&2
	tar -xzf "$tarball" -C "$(dirname "$DATA")"
fi
DATA=$(cd "$DATA" && pwd)
WAL=$DATA/member/wal DB=$DATA/member/snap/db
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/members"
# diff-db refuses one file given twice (identity check), so b and c are
# copies (three times the db's size on disk under $TMPDIR, for the run)
ln -s "$DB" "$tmp/members/a"
for n in b c; do cp --reflink=auto "$DB" "$tmp/members/$n"; done
shopt -s nullglob
segs=("$WAL"/*.wal)
shopt -u nullglob
(( ${#segs[@]} )) || die "no *.wal in $WAL"
wal_bytes=$(cat "${segs[@]}" | wc -c)   # and the page cache is warm
db_bytes=$(cat "$DB" | wc -c)

# name|input (wal, db, db3)|etcd tool to compare with|target|command
# A target is "cat:X" (at most X times cat) or "mode:NAME:X" (at most X
# times mode NAME); every mode compared with an etcd tool must also be at
# least 10x faster than it.
modes=(
"cat-wal|wal|||cat ${segs[*]}"
"wal-text|wal|etcd-dump-logs||$WAL_BIN $WAL"
"wal-values|wal|etcd-dump-logs|mode:wal-text:2|$WAL_BIN --values $WAL"
"wal-json|wal|etcd-dump-logs|mode:wal-text:1.5|$WAL_BIN -o json $WAL"
"wal-verify|wal|||$WAL_BIN --verify $WAL"
"wal-summary|wal|||$WAL_BIN --summary $WAL"
"cat-db|db|||cat $DB"
"dump-text|db|etcd-dump-db||$DB_BIN dump key $DB"
"dump-values|db|etcd-dump-db|mode:dump-text:2|$DB_BIN --values dump key $DB"
"dump-json|db|etcd-dump-db|mode:dump-text:1.5|$DB_BIN -o json dump key $DB"
"keys|db|bbolt-keys|cat:8|$DB_BIN keys $DB"
"hashkv|db||cat:2|$DB_BIN hashkv $DB"
"status|db||cat:2|$DB_BIN status $DB"
"check|db|bbolt-check||$DB_BIN check $DB"
"diff3|db3|||$DIFF_BIN a b c"
)
# etcd's tools (3.5.17's etcd-dump-logs and etcd-dump-db, bbolt 1.3.6's CLI).
# They get a copy of the db: etcd-dump-db opens it read-write and commits a
# transaction (a fixture db it was pointed at went from txid 193 to 194),
# which ours, read-only on evidence, must not be compared on. The copy is
# made only when one of them is to run, and removed at exit.
db_copy=$tmp/etcd-tools.db
etcd_modes=(
"etcd-dump-logs|wal|$ETCD_TOOLS/etcd-dump-logs -start-index 1 $DATA"
"etcd-dump-db|db|$ETCD_TOOLS/etcd-dump-db iterate-bucket $db_copy key --decode"
"bbolt-keys|db|$ETCD_TOOLS/bbolt keys $db_copy key"
"bbolt-check|db|$ETCD_TOOLS/bbolt check $db_copy"
)
wanted() { [[ -z ${ONLY:-} || " $ONLY " == *" $1 "* || $1 == cat-* ]]; }

declare -A best rss anon
measure() { # NAME COMMAND...: best time, peak RSS, peak heap over runs
	local name=$1 us kib an rc=0
	shift
	(cd "$tmp/members" && python3 "$here/measure.py" "$tmp/m" "$@") || rc=$?
	# dump-db check and diff-db exit 1 on findings; 2 is a failure to run
	(( rc < 2 )) || die "$*: exit $rc"
	read -r us kib an <"$tmp/m"
	if [[ -z ${best[$name]:-} ]] || (( us < best[$name] )); then best[$name]=$us; fi
	if [[ -z ${rss[$name]:-} ]] || (( kib > rss[$name] )); then rss[$name]=$kib; fi
	if [[ -z ${anon[$name]:-} ]] || (( an > anon[$name] )); then anon[$name]=$an; fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
	for m in "${modes[@]}"; do
		IFS='|' read -r name _ _ _ cmd <<<"$m"
		wanted "$name" || continue
		# shellcheck disable=SC2086  # the command lines have no blanks in words
		measure "$name" $cmd
		if [[ -n ${BEFORE:-} && $name != cat-* ]]; then
			cmd=${cmd//$BUILD\//$BEFORE/}
			# shellcheck disable=SC2086
			measure "$name@before" $cmd
		fi
	done
	echo "run $r/$RUNS" >&2
done
for ((r = 1; r <= ETCD_RUNS; r++)); do
	for m in "${etcd_modes[@]}"; do
		IFS='|' read -r name _ cmd <<<"$m"
		wanted "$name" || continue
		[[ -x ${cmd%% *} ]] || continue
		[[ -e $db_copy ]] || cp "$DB" "$db_copy"
		# shellcheck disable=SC2086
		measure "$name" $cmd
	done
	echo "etcd's tools: run $r/$ETCD_RUNS" >&2
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r); load average $load_start at the start, $load_end at the end"
echo "build:   $BUILD ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "input:   $DATA: ${#segs[@]} WAL segments, $wal_bytes bytes; db $db_bytes bytes; page cache warm"
echo "runs:    best of $RUNS (ours, cat), of $ETCD_RUNS (etcd's tools)"
echo
if [[ -n ${BEFORE:-} ]]; then
	echo "before:  $BEFORE ($("$BEFORE/dump-db/dump-db" --version 2>/dev/null | head -n 1))"
	echo
	echo "| mode | command | seconds | ratio to cat | before: seconds | before: ratio | target | etcd's tool | vs etcd (>= 10x for etcd-dump-*) | peak RSS | heap peak |"
	echo "|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|"
else
	echo "| mode | command | seconds | ratio to cat | target | etcd's tool | vs etcd (>= 10x for etcd-dump-*) | peak RSS | heap peak |"
	echo "|---|---|---:|---:|---|---|---:|---:|---:|"
fi
short() { # the command line with the long paths cut
	local s=$1
	[[ $s == "cat ${segs[0]}"* ]] && { echo "cat WAL/*.wal"; return; }
	s=${s//$WAL_BIN/dump-wal} s=${s//$DB_BIN/dump-db} s=${s//$DIFF_BIN/diff-db}
	s=${s//$ETCD_TOOLS\//} s=${s//$db_copy/DB} s=${s//$DB/DB} s=${s//$WAL/WAL} s=${s//$DATA/DATA}
	echo "$s"
}
row() { # NAME INPUT ETCD TARGET CMD
	local name=$1 in=$2 etcd=$3 tgt=$4 cmd=$5 cat_us
	[[ -n ${best[$name]:-} ]] || return 0
	case $in in
	wal) cat_us=${best[cat-wal]} ;;
	db) cat_us=${best[cat-db]} ;;
	db3) cat_us=$((3 * best[cat-db])) ;;
	esac
	local ref_us= ref_name= etcd_us=
	[[ -z $etcd ]] || etcd_us=${best[$etcd]:-}
	if [[ $tgt == mode:* ]]; then
		ref_name=${tgt#mode:} ref_name=${ref_name%:*}
		ref_us=${best[$ref_name]:-}
	fi
	awk -v name="$name" -v cmd="$(short "$cmd")" -v us="${best[$name]}" -v cat_us="$cat_us" \
	    -v tgt="$tgt" -v ref_us="$ref_us" -v ref_name="$ref_name" \
	    -v etcd="$etcd" -v etcd_us="$etcd_us" -v kib="${rss[$name]}" -v an="${anon[$name]}" \
	    -v has_before="${BEFORE:+1}" -v before_us="${best[$name@before]:-}" 'BEGIN {
		n = split(tgt, t, ":"); goal = ""
		if (t[1] == "cat")
			goal = sprintf("<= %sx cat: %s", t[2], us / cat_us <= t[2] ? "met" : "MISSED")
		else if (t[1] == "mode" && ref_us != "")
			goal = sprintf("<= %sx %s (%.2fx): %s", t[3], t[2], us / ref_us,
			               us / ref_us <= t[3] ? "met" : "MISSED")
		vs = ""
		# the 10x target is against the etcd dump tools; the bbolt CLI is a
		# reference (it lists raw pairs, or checks pages, and decodes nothing)
		if (etcd != "" && etcd_us != "") {
			vs = sprintf("%.1fx", etcd_us / us)
			if (etcd !~ /^bbolt/)
				vs = vs (etcd_us / us >= 10 ? " met" : " MISSED")
		}
		b = ""
		if (has_before != "")
			b = before_us == "" ? " | | " : sprintf(" %.3f | %.2f |", before_us / 1e6, before_us / cat_us)
		printf "| %s | `%s` | %.3f | %.2f |%s %s | %s | %s | %.0f MiB | %.0f MiB |\n",
		       name, cmd, us / 1e6, us / cat_us, b, goal, etcd_us == "" ? "" : etcd,
		       vs, kib / 1024, an / 1024
	}'
}
for m in "${modes[@]}"; do
	IFS='|' read -r name in etcd tgt cmd <<<"$m"
	row "$name" "$in" "$etcd" "$tgt" "$cmd"
done
for m in "${etcd_modes[@]}"; do
	IFS='|' read -r name in cmd <<<"$m"
	row "$name" "$in" "" "" "$cmd"
done
