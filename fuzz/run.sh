#!/bin/sh
# Fuzz every decoder for a while: builds the clang libFuzzer configuration
# (ASan + UBSan) in its own build directory and runs each harness in turn.
#
# usage: fuzz/run.sh [SECONDS_PER_HARNESS] [HARNESS...]
#   SECONDS_PER_HARNESS  default 60
#   HARNESS              wal raft bolt lmdb k8s (default: these, the fast
#                        decode-only harnesses), or wal_render bolt_render
#                        lmdb_render (the renderers, several times slower;
#                        they mutate the corpus of wal, bolt, lmdb)
# environment:
#   FUZZ_BUILD  build directory (default: build-fuzz, beside meson.build)
#   FUZZ_JOBS   ninja -j (default 2)
#
# One harness at a time, one process each. New inputs go to
# FUZZ_BUILD/fuzz-corpus/NAME (the committed seeds in fuzz/corpus/NAME are
# only read). Prints, per harness, execs, exec/s and coverage; on a crash,
# leak, timeout or out-of-memory it keeps the reproducer under
# FUZZ_BUILD/fuzz-artifacts/NAME/, prints the command that reproduces it,
# goes on with the other harnesses, and exits 1 at the end. Needs clang and
# libclang-rt-14-dev (libFuzzer and the sanitizer runtimes); works offline.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
harnesses=${*:-wal raft bolt lmdb k8s}
build=${FUZZ_BUILD:-$src/build-fuzz}
case $secs in ''|*[!0-9]*) echo "run.sh: SECONDS_PER_HARNESS must be a number" >&2; exit 2;; esac

command -v clang >/dev/null || { echo "run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" -Dfuzz=true -Dtests=disabled -Dlive_tests=false \
		-Dbuildtype=debugoptimized >"$build.setup.log" 2>&1 ||
		{ cat "$build.setup.log" >&2; exit 2; }
	rm -f "$build.setup.log"
fi
targets=
for h in $harnesses; do targets="$targets fuzz/fuzz_$h"; done
ninja -C "$build" -j "${FUZZ_JOBS:-2}" $targets >/dev/null ||
	{ ninja -C "$build" -j 1 $targets >&2; exit 2; }

# the largest input worth mutating: a few frames of WAL, one payload, a db
# of some dozens of pages (the seeds are real dbs of 20-90 KiB)
max_len() {
	case $1 in
	wal*) echo 65536;; raft) echo 16384;; bolt*|lmdb*) echo 131072;; k8s) echo 8192;; *) echo 65536;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-11s %8s %12s %10s %8s %8s  %s\n' harness seconds execs exec/s cov ft result
for h in $harnesses; do
	work=$build/fuzz-corpus/$h
	art=$build/fuzz-artifacts/$h
	mkdir -p "$work" "$art"
	log=$build/fuzz-$h.log
	rc=0
	"$build/fuzz/fuzz_$h" "$work" "$src/fuzz/corpus/${h%_render}" \
		-max_total_time="$secs" -max_len="$(max_len "$h")" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$art/" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc)"
		failed=1
	fi
	printf '%-11s %8s %12s %10s %8s %8s  %s\n' "$h" "$secs" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${ft:-?}" "$result"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR:|SUMMARY:|runtime error|fuzz oracle failed' "$log" | head -5 | sed 's/^/    /'
		for f in $(ls -t "$art" 2>/dev/null | head -3); do
			echo "    reproducer: $art/$f"
			echo "      run:    $build/fuzz/fuzz_$h $art/$f"
			echo "      keep:   cp $art/$f $src/fuzz/corpus/${h%_render}/crash-WHAT  (replayed by meson test --suite fuzz-replay)"
		done
		echo "    log: $log"
	fi
done
exit $failed
