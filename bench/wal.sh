#!/usr/bin/env bash
# dump-wal on a real etcd WAL, as ratios to cat(1) of the same files.
#
#   bench/wal.sh [WAL_DIR]
#
# WAL_DIR defaults to /tmp/bench/data/member/wal; when it does not exist,
# the WAL of ../shared/bench/etcd-1m.tar.gz is unpacked into a temporary
# directory, used, and removed. Environment:
#   BUILD      build directory (default: build/ of this checkout)
#   DUMP_WAL   the binary (default: $BUILD/dump-wal/dump-wal)
#   RUNS       runs per mode; the best one counts (default 5)
#
# Every mode reads the same bytes with the page cache warm, and the modes
# take turns run by run, so a busy neighbour slows them alike. Wall time
# comes from a monotonic clock, peak RSS from GNU time (%M). A benchmark,
# not a test: it asserts nothing and meson test does not run it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-5}
BUILD=${BUILD:-$repo/build}
DUMP_WAL=${DUMP_WAL:-$BUILD/dump-wal/dump-wal}
WAL=${1:-/tmp/bench/data/member/wal}

die() { echo "wal.sh: $*" >&2; exit 2; }

[[ -x /usr/bin/time ]] || die "GNU time is missing (it measures peak RSS): apt-get install time"
command -v python3 >/dev/null || die "python3 is missing (it reads the monotonic clock): apt-get install python3"
[[ -x $DUMP_WAL ]] || die "no dump-wal at $DUMP_WAL: build it (meson setup build && ninja -C build) or set DUMP_WAL"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=bench/common.sh
. "$here/common.sh"
WAL=$(bench_input "$WAL" member/wal WAL) || exit 2

shopt -s nullglob
segs=("$WAL"/*.wal)
shopt -u nullglob
(( ${#segs[@]} )) || die "no *.wal segments in $WAL"
bytes=$(cat "${segs[@]}" | wc -c)   # and the page cache is warm

modes=(cat verify summary json text)
declare -A target=([verify]=0.30 [summary]=0.30 [json]=0.036 [text]=0.036)

# The command line of a mode on the given inputs, into the array `cmd`.
mode_cmd() {
	local m=$1
	shift
	case $m in
	cat) cmd=(cat "$@") ;;
	verify) cmd=("$DUMP_WAL" --verify "$@") ;;
	summary) cmd=("$DUMP_WAL" --summary "$@") ;;
	json) cmd=("$DUMP_WAL" -o json "$@") ;;
	text) cmd=("$DUMP_WAL" "$@") ;;
	esac
}

# measure MODE INPUT...: one run with stdout to /dev/null; sets $usec (wall
# time, monotonic) and $kib (peak RSS).
measure() {
	local -a cmd
	mode_cmd "$@"
	python3 - "$tmp/t" "$tmp/m" "${cmd[@]}" <<'EOF' || die "${cmd[*]}: failed"
import subprocess, sys, time
tfile, mfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.monotonic_ns()
rc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", mfile, *cmd],
                    stdout=subprocess.DEVNULL).returncode
t = time.monotonic_ns() - t0
open(tfile, "w").write("%d\n" % (t // 1000))
sys.exit(rc)   # the bench WAL is clean: dump-wal exits 0
EOF
	usec=$(<"$tmp/t")
	kib=$(tail -n 1 "$tmp/m")
}

declare -A best rss rss1
for ((r = 1; r <= RUNS; r++)); do
	for m in "${modes[@]}"; do
		if [[ $m == cat ]]; then measure cat "${segs[@]}"; else measure "$m" "$WAL"; fi
		if [[ -z ${best[$m]:-} ]] || (( usec < best[$m] )); then best[$m]=$usec; fi
		if [[ -z ${rss[$m]:-} ]] || (( kib > rss[$m] )); then rss[$m]=$kib; fi
	done
	echo "run $r/$RUNS" >&2
done
# Memory must not grow with the WAL: the same modes on its first segment.
for m in "${modes[@]}"; do
	measure "$m" "${segs[0]}"
	rss1[$m]=$kib
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
echo "dump-wal: $DUMP_WAL"
"$DUMP_WAL" --version | sed 's/^/          /'
echo "input:    $WAL: ${#segs[@]} segments, $bytes bytes; page cache warm, best of $RUNS runs"
echo
echo "| mode | command | seconds | MB/s | ratio to cat | target | peak RSS, ${#segs[@]} segments | peak RSS, 1 segment |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for m in "${modes[@]}"; do
	mode_cmd "$m" WAL
	cmd[0]=${cmd[0]/#$DUMP_WAL/dump-wal}
	shown=${cmd[*]}
	[[ $m == cat ]] && shown="cat WAL/*.wal"
	awk -v m="$m" -v cmd="$shown" -v us="${best[$m]}" -v cat_us="${best[cat]}" -v bytes="$bytes" \
	    -v tgt="${target[$m]:-}" -v kib="${rss[$m]}" -v kib1="${rss1[$m]}" 'BEGIN {
		ratio = cat_us / us
		t = tgt == "" ? "" : sprintf("%s %s", tgt, ratio >= tgt ? "met" : "MISSED")
		printf "| %s | `%s` | %.3f | %.0f | %.3f | %s | %.1f MiB | %.1f MiB |\n",
		       m, cmd, us / 1e6, bytes / us, ratio, t, kib / 1024, kib1 / 1024
	}'
done
